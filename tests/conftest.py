"""Fixtures shared by the whole suite: one contract, run on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from consultations.adapters.database import create_engine
from consultations.adapters.eventlog import SqlEventLog
from tests.daemon.processes import Processes
from tests.daemon.receivers import SmtpReceiver
from tests.support.libical import libical, libical_available
from tests.support.postgres import PostgresServer, PostgresUnavailable

__all__ = ["libical", "libical_available"]  # fixtures for every test directory

# No hypothesis deadline anywhere: a deadline is a timed assertion, and on a loaded CI machine
# even a pure function can take longer than 200 ms once in a while (DeadlineExceeded, or Flaky
# when the rerun is fast). Tests still set their own example counts; none may set a deadline.
settings.register_profile("suite", deadline=None, print_blob=True)
settings.load_profile("suite")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The throwaway server; under CI=true its absence fails the run instead of skipping."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required when CI=true: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL is not available: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    name: str = request.param
    return name


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database on the backend under test (a WAL file for SQLite)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'consultations.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = server.create_database(name)
    yield url
    server.drop_database(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the empty database."""
    new_engine = create_engine(database_url)
    yield new_engine
    new_engine.dispose()


@pytest.fixture
def migrated_engine(engine: Engine) -> Engine:
    """An engine on a database upgraded to the newest revision."""
    migrations.upgrade(engine)
    return engine


@pytest.fixture
def store(migrated_engine: Engine) -> SqlEventLog:
    """An event log on a migrated, empty database."""
    return SqlEventLog(migrated_engine)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """``python -m consultations …`` processes, logs in files, killed when the test ends."""
    started = Processes(tmp_path / "logs", tmp_path / "work")
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    """An SMTP server on loopback that keeps every message it accepts."""
    with SmtpReceiver() as receiver:
        yield receiver
