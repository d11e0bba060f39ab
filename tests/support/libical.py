"""libical 3 (Evolution, GNOME Calendar, KDE) as a test oracle for RFC 5546's iTIP rules.

``libical_check.py`` runs under the system interpreter with Debian's ``python3-gi`` and
``gir1.2-ical-3.0`` (the project's venv cannot load them). Without them the tests that use
the ``libical`` fixture are skipped with the reason, except under CI=true, where they fail
(as for PostgreSQL and ical.js).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

import pytest

CHECKER = Path(__file__).with_name("libical_check.py")
PYTHON_VARIABLE = "CONSULTATIONS_TEST_LIBICAL_PYTHON"  # lets a developer choose another
# Debian's interpreter, where python3-gi is installed.
SYSTEM_PYTHON = Path(os.environ.get(PYTHON_VARIABLE, "/usr/bin/python3"))
INSTALL_HINT = "install Debian's gir1.2-ical-3.0 and python3-gi"

LibicalCheck = Callable[[bytes], list[str]]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"libical (ICalGLib 3.0) is required when CI=true: {reason}", pytrace=False)
    pytest.skip(f"libical (ICalGLib 3.0) is not available: {reason}")


def run_libical(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """libical's verdicts on the files: ``{path: {"restriction_ok": …, "errors": […]}}``."""
    result = subprocess.run(
        [str(SYSTEM_PYTHON), str(CHECKER), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    verdicts: dict[str, dict[str, Any]] = json.loads(result.stdout)
    return verdicts


@pytest.fixture(scope="session")
def libical_available() -> None:
    """Skip (fail under CI=true) unless the system Python can import libical's ICalGLib."""
    if not SYSTEM_PYTHON.exists():
        _unavailable(f"{SYSTEM_PYTHON} does not exist; {INSTALL_HINT}")
    try:
        probe = subprocess.run(
            [str(SYSTEM_PYTHON), str(CHECKER), "--probe"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        _unavailable(f"{SYSTEM_PYTHON} did not run: {error}; {INSTALL_HINT}")
    if probe.returncode != 0:
        _unavailable(f"{probe.stderr.strip() or 'the probe failed'}; {INSTALL_HINT}")


@pytest.fixture
def libical(libical_available: None, tmp_path: Path) -> LibicalCheck:
    """Check calendar bytes with libical: its X-LIC-ERROR messages after restriction_check.

    An empty list means the calendar parsed cleanly and passed RFC 5546's rules for its
    METHOD (each message starts with the UID of the event it concerns).
    """
    numbers = count()

    def check(data: bytes) -> list[str]:
        path = tmp_path / f"libical-{next(numbers)}.ics"
        path.write_bytes(data)
        verdict = run_libical([path])[str(path)]
        errors: list[str] = verdict["errors"]
        if not verdict["restriction_ok"] and not errors:
            errors = ["restriction_check failed without an X-LIC-ERROR"]
        return errors

    return check
