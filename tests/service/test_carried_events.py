"""Listeners get the domain events the service decided instead of decoding the payloads again.

That is only sound if decoding a stored payload gives back exactly that event (same values,
same types, same time zones), which these tests check on real imports and commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from consultations.adapters.eventlog import RecordedEvent, SqlEventLog
from consultations.adapters.projections import Projector
from consultations.bootstrap import bootstrap
from consultations.service_layer.plan_import import import_plan
from consultations.service_layer.services import CommandService, Provenance
from consultations.settings import Settings
from tests.support.reference_session import EXAMPLE, play_reference_session

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PROVENANCE = Provenance(actor="tester", source="test")


def test_carried_events_are_what_decoding_their_payloads_gives(
    database_url: str, migrated_engine: Engine
) -> None:
    seen: list[RecordedEvent] = []

    def keep(_connection: Connection, stored: Sequence[RecordedEvent]) -> None:
        seen.extend(stored)

    app = bootstrap(Settings(database_url))
    mapper = app.store.mapper
    store = SqlEventLog(migrated_engine, mapper=mapper, listeners=[Projector(mapper=mapper), keep])
    service = CommandService(store, app.read_models, clock=lambda: NOW)
    play_reference_session(service, PROVENANCE)
    app.close()

    assert len(seen) == 84 + 3
    read_back = [event for batch in store.read() for event in batch]
    assert [event.position for event in read_back] == [event.position for event in seen]
    for carried, decoded in zip(seen, read_back, strict=True):
        assert repr(decoded.event) == repr(carried.event)
        assert decoded == carried


def test_an_import_reads_the_log_in_a_few_queries_not_one_per_entry(
    database_url: str, migrated_engine: Engine
) -> None:
    app = bootstrap(Settings(database_url))
    service = CommandService(app.store, app.read_models, clock=lambda: NOW)
    import_plan(service, EXAMPLE.read_bytes(), PROVENANCE)
    reads: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2])
        if statement.lstrip().upper().startswith("SELECT") and "FROM events" in statement:
            reads.append(statement)

    sa.event.listen(app.engine, "before_cursor_execute", record)
    try:
        again = import_plan(service, EXAMPLE.read_bytes(), PROVENANCE)
    finally:
        sa.event.remove(app.engine, "before_cursor_execute", record)
    app.close()

    assert again.total == 0
    assert len(reads) <= 2, reads
