"""The event store contract, run against every backend (SQLite file in WAL mode, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from consultations.adapters.event_store import (
    Append,
    ConcurrencyConflict,
    NewEvent,
    SqlEventStore,
    StoredEvent,
)
from consultations.adapters.hash_chain import GENESIS_HASH
from consultations.adapters.upcasting import UpcasterRegistry


def planned(title: str, **extra: Any) -> NewEvent:
    return NewEvent("MeetingPlanned", {"title": title, **extra}, metadata={"actor": "tester"})


def count_events(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())


def test_append_to_a_new_stream_returns_gap_free_positions(store: SqlEventStore) -> None:
    assert store.append("meeting-a", 0, [planned("one"), planned("two")]) == [1, 2]
    assert store.append("meeting-b", 0, [planned("three")]) == [3]
    assert store.append("meeting-a", 2, [planned("four")]) == [4]

    stream = store.read_stream("meeting-a")
    assert [(e.position, e.stream_version, e.payload["title"]) for e in stream] == [
        (1, 1, "one"),
        (2, 2, "two"),
        (4, 3, "four"),
    ]
    assert store.stream_version("meeting-a") == 3
    assert store.stream_version("meeting-unknown") == 0
    assert store.head()[0] == 4


def test_text_in_turkmen_azerbaijani_and_russian_survives(store: SqlEventStore) -> None:
    title = "Türkmenistanyň we Azərbaycanın XİN-lərinin məsləhətləşmələri — консультации"
    store.append("meeting-utf8", 0, [planned(title, venue="Aşgabat")])
    (event,) = store.read_stream("meeting-utf8")
    assert event.payload == {"title": title, "venue": "Aşgabat"}
    assert store.verify().ok


def test_wrong_expected_version_raises_and_writes_nothing(
    store: SqlEventStore, migrated_engine: Engine
) -> None:
    store.append("meeting-a", 0, [planned("one")])
    with pytest.raises(ConcurrencyConflict) as raised:
        store.append("meeting-a", 0, [planned("clash")])
    assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (
        "meeting-a",
        0,
        1,
    )
    with pytest.raises(ConcurrencyConflict):
        store.append("meeting-new", 3, [planned("ahead of time")])
    assert count_events(migrated_engine) == 1
    assert store.head()[0] == 1


def test_append_many_is_atomic(store: SqlEventStore, migrated_engine: Engine) -> None:
    store.append("track-x", 0, [planned("x")])
    batch = [
        Append("meeting-1", 0, [planned("ok")]),
        Append("track-x", 0, [planned("stale")]),  # conflicts: track-x is at version 1
    ]
    with pytest.raises(ConcurrencyConflict):
        store.append_many(batch)
    assert count_events(migrated_engine) == 1
    assert store.read_stream("meeting-1") == []

    positions = store.append_many(
        [Append("meeting-1", 0, [planned("a")]), Append("meeting-1", 1, [planned("b")])]
    )
    assert positions == [2, 3]
    assert [e.stream_version for e in store.read_stream("meeting-1")] == [1, 2]


def test_repeated_idempotency_key_appends_nothing_and_returns_first_result(
    store: SqlEventStore, migrated_engine: Engine
) -> None:
    first = store.append("meeting-a", 0, [planned("one"), planned("two")], idempotency_key="k-1")
    again = store.append("meeting-a", 0, [planned("one"), planned("two")], idempotency_key="k-1")
    assert first == again == [1, 2]
    assert count_events(migrated_engine) == 2
    assert store.recorded_result("k-1") == [1, 2]
    assert store.recorded_result("k-2") is None
    # A stale expected version does not matter for a repeat: the first result stands.
    assert store.append("meeting-a", 0, [planned("one")], idempotency_key="k-1") == [1, 2]
    assert store.append("meeting-a", 2, [planned("three")], idempotency_key="k-2") == [3]


def test_read_all_streams_in_batches_after_a_position(store: SqlEventStore) -> None:
    for number in range(7):
        store.append(f"meeting-{number % 3}", number // 3, [planned(str(number))])
    assert [e.position for e in store.read_all(batch_size=2)] == list(range(1, 8))
    assert [e.position for e in store.read_all(after=4, batch_size=3)] == [5, 6, 7]
    assert [e.position for e in store.read_all(batch_size=1, stream_id="meeting-1")] == [2, 5]
    assert list(store.read_all(after=7)) == []


def test_read_all_does_not_load_the_log_at_once(store: SqlEventStore) -> None:
    store.append_many([Append(f"meeting-{n}", 0, [planned(str(n))]) for n in range(10)])
    reader = store.read_all(batch_size=3)
    assert next(reader).position == 1
    # Appends made while a reader is part-way through are seen by its later batches.
    store.append("meeting-late", 0, [planned("late")])
    assert [e.position for e in reader] == list(range(2, 12))


def test_recorded_at_is_monotonic_even_if_the_clock_goes_back(migrated_engine: Engine) -> None:
    times = iter([datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)])
    store = SqlEventStore(migrated_engine, clock=lambda: next(times))
    business_time = datetime(2025, 12, 1, 9, 30, tzinfo=UTC)
    store.append("meeting-a", 0, [NewEvent("MeetingHeld", {}, occurred_at=business_time)])
    store.append("meeting-a", 1, [planned("later")])
    first, second = store.read_stream("meeting-a")
    assert first.recorded_at == second.recorded_at == datetime(2026, 5, 1, tzinfo=UTC)
    assert first.occurred_at == business_time
    assert second.occurred_at == second.recorded_at
    assert store.verify().ok


def test_hash_chain_links_every_row(store: SqlEventStore) -> None:
    store.append("meeting-a", 0, [planned("one"), planned("two")])
    store.append("meeting-b", 0, [planned("three")])
    rows = list(store.read_raw())
    with store.engine.connect() as connection:
        prev_hashes = (
            connection.execute(sa.text("SELECT prev_hash FROM events ORDER BY position"))
            .scalars()
            .all()
        )
    assert prev_hashes == [GENESIS_HASH, rows[0].hash, rows[1].hash]
    assert len({row.hash for row in rows}) == 3
    report = store.verify()
    assert (report.ok, report.checked, report.last_position) == (True, 3, 3)
    assert store.head() == (3, rows[-1].hash)


def test_listeners_run_in_the_append_transaction(migrated_engine: Engine) -> None:
    seen: list[list[int]] = []

    def record(connection: Connection, new: Sequence[StoredEvent]) -> None:
        seen.append([event.position for event in new])
        assert connection.in_transaction()

    def fail(connection: Connection, new: Sequence[StoredEvent]) -> None:
        if any(event.payload.get("title") == "poison" for event in new):
            raise RuntimeError("projection failed")

    store = SqlEventStore(migrated_engine, listeners=[record, fail])
    store.append("meeting-a", 0, [planned("one"), planned("two")])
    with pytest.raises(RuntimeError, match="projection failed"):
        store.append("meeting-a", 2, [planned("poison")], idempotency_key="poisoned")
    assert seen == [[1, 2], [3]]
    assert count_events(migrated_engine) == 2
    assert store.head()[0] == 2
    assert store.recorded_result("poisoned") is None


def test_old_event_shapes_are_upcast_on_read(migrated_engine: Engine) -> None:
    # Written by an older release: a single "when" string, schema version 1.
    SqlEventStore(migrated_engine).append(
        "meeting-a", 0, [NewEvent("MeetingPlanned", {"when": "2025-03-01 10:00"}, schema_version=1)]
    )
    registry = UpcasterRegistry()

    @registry.register("MeetingPlanned", from_version=1)
    def split_when(payload: dict[str, Any]) -> dict[str, Any]:
        day, time = payload.pop("when").split(" ")
        return {**payload, "date": day, "time": time}

    @registry.register("MeetingPlanned", from_version=2)
    def add_zone(payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "tz": payload.get("tz", "Asia/Baku")}

    store = SqlEventStore(migrated_engine, upcasters=registry)
    (event,) = store.read_stream("meeting-a")
    assert registry.current_version("MeetingPlanned") == 3
    assert event.schema_version == 3
    assert event.payload == {"date": "2025-03-01", "time": "10:00", "tz": "Asia/Baku"}
    (raw,) = store.read_raw()
    assert (raw.schema_version, raw.payload) == (1, {"when": "2025-03-01 10:00"})
    assert store.verify().ok  # the chain covers the stored shape, not the upcast one


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET payload = '{}' WHERE position = 1",
        "UPDATE events SET stream_version = 9",
        "DELETE FROM events WHERE position = 1",
        "DELETE FROM events",
        "DELETE FROM idempotency_keys",
    ],
)
def test_the_database_itself_rejects_update_and_delete(
    store: SqlEventStore, migrated_engine: Engine, statement: str
) -> None:
    store.append("meeting-a", 0, [planned("one")], idempotency_key="k")
    with (
        pytest.raises(sa.exc.DBAPIError, match="append-only"),
        migrated_engine.begin() as connection,
    ):
        connection.execute(sa.text(statement))
    assert store.read_stream("meeting-a")[0].payload == {"title": "one"}
    assert store.verify().ok


@pytest.mark.postgresql
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_rejects_truncate(store: SqlEventStore, migrated_engine: Engine) -> None:
    store.append("meeting-a", 0, [planned("one")])
    with (
        pytest.raises(sa.exc.DBAPIError, match="append-only"),
        migrated_engine.begin() as connection,
    ):
        connection.execute(sa.text("TRUNCATE events"))
    assert count_events(migrated_engine) == 1


def test_duplicate_stream_version_is_refused_by_the_schema(
    store: SqlEventStore, migrated_engine: Engine
) -> None:
    store.append("meeting-a", 0, [planned("one")])
    (row,) = store.read_raw()
    with pytest.raises(sa.exc.IntegrityError), migrated_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO events (position, stream_id, stream_version, event_type, "
                "schema_version, payload, metadata, occurred_at, recorded_at, prev_hash, hash) "
                "VALUES (2, 'meeting-a', 1, 'X', 1, '{}', '{}', :t, :t, :h, :h)"
            ),
            {"t": row.recorded_at + timedelta(seconds=1), "h": row.hash},
        )
