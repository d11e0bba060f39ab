"""What only the SQL log does: database-enforced append-only rows, reads on a connection,
the statements it issues, and copying a prefix of the log (run on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from consultations.adapters.database import create_engine
from consultations.adapters.eventlog import SqlEventLog
from consultations.adapters.eventlog.hash_chain import GENESIS_HASH
from consultations.domain.events import AreaRegistered
from consultations.service_layer.unit_of_work import UnitOfWork


def area(number: int | str) -> AreaRegistered:
    return AreaRegistered(f"a{number}", f"Area {number}")


def count_events(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_each_row_stores_the_hash_of_the_one_before(store: SqlEventLog) -> None:
    store.append("area-a", 0, [area(1), area(2)])
    store.append("area-b", 0, [area(3)])
    hashes = [event.hash for batch in store.read() for event in batch]
    with store.engine.connect() as connection:
        prev_hashes = (
            connection.execute(sa.text("SELECT prev_hash FROM events ORDER BY position"))
            .scalars()
            .all()
        )
    assert prev_hashes == [GENESIS_HASH, *hashes[:2]]


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
    store: SqlEventLog, migrated_engine: Engine, statement: str
) -> None:
    store.append("area-a", 0, [area(1)], idempotency_key="k")
    with (
        pytest.raises(sa.exc.DBAPIError, match="append-only"),
        migrated_engine.begin() as connection,
    ):
        connection.execute(sa.text(statement))
    assert store.read_stream("area-a")[0].event == area(1)
    assert store.verify().ok


@pytest.mark.postgresql
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_rejects_truncate(store: SqlEventLog, migrated_engine: Engine) -> None:
    store.append("area-a", 0, [area(1)])
    with (
        pytest.raises(sa.exc.DBAPIError, match="append-only"),
        migrated_engine.begin() as connection,
    ):
        connection.execute(sa.text("TRUNCATE events"))
    assert count_events(migrated_engine) == 1


def test_duplicate_stream_version_is_refused_by_the_schema(
    store: SqlEventLog, migrated_engine: Engine
) -> None:
    store.append("area-a", 0, [area(1)])
    (row,) = store.read_stream("area-a")
    with pytest.raises(sa.exc.IntegrityError), migrated_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO events (position, stream_id, stream_version, event_type, "
                "schema_version, payload, metadata, occurred_at, recorded_at, prev_hash, hash) "
                "VALUES (2, 'area-a', 1, 'X', 1, '{}', '{}', :t, :t, :h, :h)"
            ),
            {"t": row.recorded_at + timedelta(seconds=1), "h": row.hash},
        )


def test_many_streams_on_an_empty_log_need_no_lookup(
    store: SqlEventLog, migrated_engine: Engine
) -> None:
    with statements(migrated_engine) as seen:
        assert store.read_streams(f"s-{number}" for number in range(2000)) == {}

    assert not [sql for sql in seen if "FROM events" in sql]


def test_preloaded_streams_are_not_read_again(store: SqlEventLog, migrated_engine: Engine) -> None:
    energy = AreaRegistered("energy", "Energy")
    store.append("area-energy", 0, [energy])
    uow = UnitOfWork(store)

    with statements(migrated_engine) as seen:
        uow.preload(["area-energy", "area-trade", "area-energy"])
        assert uow.events("area-energy") == [energy]
        assert uow.events("area-trade") == []
        assert not uow.exists("area-trade")

    assert len([sql for sql in seen if "FROM events" in sql]) == 1


def test_appending_what_was_read_looks_neither_the_stream_nor_its_version_up(
    store: SqlEventLog, migrated_engine: Engine
) -> None:
    """The writer read the stream: the unique (stream, version) index does the checking."""
    store.append("area-a", 0, [area(1)])
    uow = UnitOfWork(store)
    uow.preload(["area-a", "area-new"])
    uow.record("area-a", [area(2)])
    uow.record("area-new", [area(3)])

    with statements(migrated_engine) as seen:
        assert uow.commit({"actor": "tester"}) == [2, 3]

    assert [sql for sql in seen if "FROM events" in sql] == []
    assert [e.stream_version for e in store.read_stream("area-a")] == [1, 2]
    assert store.verify().ok


def test_reads_on_a_given_connection_see_its_transaction(
    store: SqlEventLog, migrated_engine: Engine
) -> None:
    store.append("area-a", 0, [area(1), area(2)])
    store.append("area-b", 0, [area(3)])
    with migrated_engine.connect() as connection:
        found = store.read_streams(["area-a", "area-b"], up_to=2, connection=connection)
        assert {key: [e.event for e in value] for key, value in found.items()} == {
            "area-a": [area(1), area(2)]
        }
        assert store.head(connection) == store.head()
        batches = list(store.read(up_to=3, batch_size=2, connection=connection))
    assert [[e.position for e in batch] for batch in batches] == [[1, 2], [3]]


def test_copy_prefix_copies_the_rows_recorded_by_then_as_stored(store: SqlEventLog) -> None:
    times = iter(datetime(2026, 1, day, tzinfo=UTC) for day in (1, 2, 3))
    log = SqlEventLog(store.engine, clock=lambda: next(times))
    for number in range(3):
        log.append(f"area-{number}", 0, [area(number)], metadata={"n": number})
    target = create_engine("sqlite://")
    try:
        migrations.upgrade(target)
        assert log.copy_prefix(target, datetime(2026, 1, 2, tzinfo=UTC)) == 2
        copy = SqlEventLog(target)
        originals = [event for batch in log.read(up_to=2) for event in batch]
        assert [event for batch in copy.read() for event in batch] == originals
        assert copy.head() == (2, originals[-1].hash)
        assert copy.verify().ok
    finally:
        target.dispose()
