"""The distribution carries the migrations: an installed ``consultations db upgrade`` works.

The chain a user's install goes through, outside the checkout: the sdist is built from the
checkout, the wheel from that sdist (so a migrations/ missing from either fails here), the
wheel is installed with its dependencies into a new virtual environment, and its
``consultations`` command upgrades a new SQLite database from an unrelated directory.

The new environment is deliberately not created with ``--system-site-packages`` and the wheel
is not installed with ``--no-deps``: the project's own environment holds an editable install
of the checkout, and only an environment with nothing but the wheel and its dependencies
proves that the installed copy, not the checkout, ran. The build backend named in
pyproject.toml is installed into that environment as well, and the builds run without
isolation, so pip fetches it once instead of once per build. The environment is created
without pip of its own; this environment's pip installs into it (``pip --python``), which
saves the ten-odd seconds ensurepip takes, and ``--no-compile`` the byte-compiling of every
dependency (Python compiles what it imports).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from consultations.adapters.migrations import head_revision

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STEP_TIMEOUT = 600
# Where the new environment's Python imports the package from, and where that finds migrations.
PROBE = (
    "import consultations, consultations.adapters.migrations as m; "
    "print(consultations.__file__); print(m.script_location())"
)


def clean_environment() -> dict[str, str]:
    """This process's environment without what would point Python or the app at the checkout."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
        and not name.startswith("CONSULTATIONS_")
    }


def run(command: list[str | Path], cwd: Path, *, build_step: bool = False) -> str:
    """Run a command and return its output; a failed build step skips only outside CI."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        message = (
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
        if build_step and os.environ.get("CI", "").lower() != "true":
            pytest.skip(f"could not build or install the distribution: {message}")
        pytest.fail(message, pytrace=False)
    return result.stdout


def test_the_installed_wheel_upgrades_a_new_database_from_another_directory(
    tmp_path: Path,
) -> None:
    venv, dist, elsewhere = tmp_path / "venv", tmp_path / "dist", tmp_path / "elsewhere"
    elsewhere.mkdir()
    python, consultations = venv / "bin" / "python", venv / "bin" / "consultations"
    pip: list[str | Path] = [sys.executable, "-m", "pip", "--python", python, "--quiet"]
    build_requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "build-system"
    ]["requires"]

    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, build_step=True)
    run([*pip, "install", "--no-compile", *build_requires], tmp_path, build_step=True)
    run(
        [python, "-m", "hatchling", "build", "--target", "sdist", "-d", dist], ROOT, build_step=True
    )
    (sdist,) = dist.glob("consultations-*.tar.gz")
    build_wheel = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", dist, sdist]
    run(build_wheel, tmp_path, build_step=True)
    (wheel,) = dist.glob("consultations-*.whl")
    run([*pip, "install", "--no-compile", wheel], tmp_path, build_step=True)

    where = run([python, "-c", PROBE], elsewhere).split()
    assert Path(where[0]).is_relative_to(venv), "the checkout ran, not the installed wheel"
    assert where[1] == "consultations:migrations"

    database = f"sqlite:///{tmp_path / 'x.db'}"
    upgraded = run([consultations, "--database-url", database, "db", "upgrade"], elsewhere)
    assert f"database at revision {head_revision()}" in upgraded
    (row,) = json.loads(
        run(
            [consultations, "--database-url", database, "db", "current", "--format", "json"],
            elsewhere,
        )
    )
    assert row["revision"] == row["head"] == head_revision()
    assert row["up_to_date"]
    assert row["events"] == 0
    # A command loaded on demand passes the schema check, read from the wheel's scripts.
    listed = run([consultations, "--database-url", database, "schedule", "--all", "--format", "json"], elsewhere)  # fmt: skip
    assert json.loads(listed) == []
