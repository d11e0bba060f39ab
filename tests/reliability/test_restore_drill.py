"""`scripts/restore-drill.sh`: back up, restore somewhere scratch, verify, rebuild, compare.

Run as an operator would run it, on a database holding the example plan, on both backends:
it prints OK on a healthy database and fails (with `events verify`'s exit code, naming the
bad position) when the backup holds a log that was tampered with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from tests.projections.support import import_example, wire
from tests.reliability.test_tamper_and_upgrade import cancellation_position, tamper
from tests.support.postgres import PostgresServer

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "restore-drill.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the drill is a bash script")


def drill_environment(request: pytest.FixtureRequest, backend: str) -> dict[str, str]:
    """The project's own CLI and Python; on PostgreSQL, the client tools of the test server."""
    installed = Path(sys.executable).parent / "consultations"
    command = str(installed) if installed.exists() else f"{sys.executable} -m consultations"
    environment = os.environ | {"CONSULTATIONS": command, "PYTHON": sys.executable}
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        environment["PG_BINDIR"] = str(server.bin_dir)
    return environment


def run_drill(
    request: pytest.FixtureRequest, backend: str, database_url: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    target = ["--postgresql", database_url]
    if backend == "sqlite":
        target = ["--sqlite", database_url.removeprefix("sqlite:///")]
    return subprocess.run(
        ["bash", str(SCRIPT), *target],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=drill_environment(request, backend) | {"TMPDIR": str(tmp_path)},
    )


def databases(request: pytest.FixtureRequest) -> set[str]:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres"
    ) as connection:
        return {name for (name,) in connection.execute("SELECT datname FROM pg_database")}


@pytest.fixture
def example_url(database_url: str, engine: Engine) -> str:
    """A database holding the imported example plan, with every connection closed."""
    migrations.upgrade(engine)
    import_example(wire(engine))
    engine.dispose()
    return database_url


@pytest.fixture
def drill(
    request: pytest.FixtureRequest, backend: str, example_url: str, tmp_path: Path
) -> Callable[[], subprocess.CompletedProcess[str]]:
    """Runs the drill on the example database."""
    return lambda: run_drill(request, backend, example_url, tmp_path)


def scratch_left(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("restore-drill.*"))


def test_the_drill_passes_on_a_healthy_database(
    request: pytest.FixtureRequest,
    backend: str,
    example_url: str,
    drill: Callable[[], subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    before = databases(request) if backend == "postgresql" else set()
    original = Path(example_url.removeprefix("sqlite:///")) if backend == "sqlite" else None
    unchanged = original.read_bytes() if original else b""

    drilled = drill()

    assert drilled.returncode == 0, drilled.stderr
    assert drilled.stderr == ""
    assert drilled.stdout.splitlines() == [
        f"OK: {backend}: restored copy verified (101 events, hash chain intact up to position "
        "101), read tables rebuilt, schedule identical",
        "restore drill OK",
    ]
    assert scratch_left(tmp_path) == []  # the scratch folder is removed
    if original is not None:
        assert original.read_bytes() == unchanged  # the backup only read the original
    else:
        assert databases(request) == before  # the scratch database was dropped


def test_the_drill_fails_on_a_backup_of_a_tampered_log(
    capsys: pytest.CaptureFixture[str],
    example_url: str,
    engine: Engine,
    drill: Callable[[], subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    backend = engine.dialect.name
    position = cancellation_position(capsys, example_url)
    tamper(engine, position)

    drilled = drill()

    assert drilled.returncode == 5
    assert "OK" not in drilled.stdout
    assert drilled.stderr.splitlines() == [
        f"  | error: events: position {position}: content does not match its hash",
        f"restore drill FAILED: {backend}: events verify on the restored copy (exit 5)",
    ]
    assert scratch_left(tmp_path) == []  # removed on failure too


def test_the_drill_refuses_a_missing_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    drilled = run_drill(request, "sqlite", f"sqlite:///{tmp_path / 'absent.db'}", tmp_path)
    assert drilled.returncode == 1
    assert drilled.stderr.strip() == (
        f"restore drill FAILED: sqlite: no database file at {tmp_path / 'absent.db'}"
    )
    assert not (tmp_path / "absent.db").exists()
