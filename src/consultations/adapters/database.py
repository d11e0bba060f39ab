"""Engines for the two supported backends, with the transaction semantics the log relies on.

SQLite: WAL journal, a busy timeout, and SQLAlchemy (not the sqlite3 module) emitting BEGIN,
so that writers can ask for ``BEGIN IMMEDIATE`` and serialise before they read the log head.
PostgreSQL: psycopg 3; writers serialise on the log-head row (``SELECT … FOR UPDATE``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool

_WRITE_OPTION = "consultations_write"
SQLITE_BUSY_TIMEOUT_MS = 60_000


class DatabaseUrlError(ValueError):
    """The database URL cannot be used."""


def normalise_url(url: str) -> sa.URL:
    """Parse a database URL and pick the project's driver for it (psycopg 3 for PostgreSQL)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"cannot parse {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend in {"postgres", "postgresql"}:
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    raise DatabaseUrlError(f"unsupported backend {backend!r}; use sqlite:/// or postgresql://")


def missing_database_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist yet; None for anything else.

    Opening a SQLite file creates it (and ``create_engine`` its folder): a command that
    must not create the database asks here first.
    """
    parsed = normalise_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in {"", ":memory:"}:
        return None
    path = Path(database)
    return None if path.exists() else path


def create_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite files (and their folder) are created on demand."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, **kwargs)
    database = parsed.database or ""
    in_memory = database in {"", ":memory:"}
    if in_memory:
        kwargs.setdefault("poolclass", StaticPool)
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        parsed,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        **kwargs,
    )
    _configure_sqlite(engine, wal=not in_memory)
    return engine


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module: it would not emit one before a SELECT.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Open a transaction meant to write: on SQLite it takes the write lock at BEGIN."""
    with engine.connect() as connection:
        # Set on this connection only (in place): cheaper than an option engine per call.
        connection.execution_options(**{_WRITE_OPTION: True})
        with connection.begin():
            yield connection


def database_unavailable(error: BaseException) -> bool:
    """True when ``error`` means the database cannot be reached now, rather than a bad query.

    Connection refused or reset, server shutting down or starting up, SQLite busy past its
    timeout, every pooled connection taken: ``OperationalError``, ``InterfaceError``, a pool
    timeout, or any DB-API error that invalidated its connection. Anything else is a bug.
    """
    return isinstance(error, OperationalError | InterfaceError | PoolTimeout) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def first_line(error: BaseException) -> str:
    """The driver's message, first line only (what a log line or an error line can show)."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


IN_CLAUSE_CHUNK = 500


def chunks(values: Iterable[str], size: int = IN_CLAUSE_CHUNK) -> Iterator[list[str]]:
    """Distinct ids, sorted, in lists small enough for an IN clause."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
