"""The event-log contract (``contract.py``) on every backend: memory, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import pytest
from sqlalchemy.engine import Connection, Engine

from consultations.adapters.eventlog import (
    EventLog,
    EventMapper,
    InMemoryEventLog,
    RecordedEvent,
    SqlEventLog,
)
from tests.eventlog.contract import BatchListener, EventLogContract


class TestInMemoryEventLog(EventLogContract):
    def create_log(
        self,
        *,
        mapper: EventMapper | None = None,
        clock: Callable[[], datetime] | None = None,
        listeners: Sequence[BatchListener] = (),
    ) -> EventLog:
        if clock is None:
            return InMemoryEventLog(mapper=mapper, listeners=listeners)
        return InMemoryEventLog(mapper=mapper, clock=clock, listeners=listeners)


class TestSqlEventLog(EventLogContract):
    """On SQLite (a WAL file) and on PostgreSQL: ``migrated_engine`` is parametrised by backend."""

    @pytest.fixture(autouse=True)
    def _database(self, migrated_engine: Engine) -> None:
        self.engine = migrated_engine

    def create_log(
        self,
        *,
        mapper: EventMapper | None = None,
        clock: Callable[[], datetime] | None = None,
        listeners: Sequence[BatchListener] = (),
    ) -> EventLog:
        def in_transaction(listener: BatchListener) -> Callable[..., None]:
            def call(connection: Connection, batch: Sequence[RecordedEvent]) -> None:
                assert connection.in_transaction()
                listener(batch)

            return call

        wrapped = [in_transaction(listener) for listener in listeners]
        if clock is None:
            return SqlEventLog(self.engine, mapper=mapper, listeners=wrapped)
        return SqlEventLog(self.engine, mapper=mapper, clock=clock, listeners=wrapped)
