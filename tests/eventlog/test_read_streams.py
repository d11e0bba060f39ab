"""Reading many streams at once, and a unit of work that preloads what a command reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters.event_mapper import to_stored
from consultations.adapters.event_store import ConcurrencyConflict, NewEvent, SqlEventStore
from consultations.domain.events import AreaRegistered
from consultations.service_layer import unit_of_work
from consultations.service_layer.unit_of_work import UnitOfWork


def new(payload: dict[str, Any]) -> NewEvent:
    return NewEvent("Noted", payload)


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


def test_read_streams_returns_each_stream_in_order_and_leaves_out_new_ones(
    store: SqlEventStore,
) -> None:
    store.append("a-1", 0, [new({"n": 1}), new({"n": 2})])
    store.append("b-1", 0, [new({"n": 3})])
    store.append("a-1", 2, [new({"n": 4})])

    found = store.read_streams(["a-1", "b-1", "c-1", "a-1"])

    assert set(found) == {"a-1", "b-1"}
    assert [(e.stream_version, e.payload["n"]) for e in found["a-1"]] == [(1, 1), (2, 2), (3, 4)]
    assert [e.position for e in found["b-1"]] == [3]
    assert store.read_streams([]) == {}


def test_read_streams_across_many_chunks(store: SqlEventStore) -> None:
    names = [f"s-{number:04}" for number in range(1200)]
    store.append("s-0007", 0, [new({"n": 7})])
    store.append("s-1100", 0, [new({"n": 1100})])

    found = store.read_streams(names)

    assert {key: [e.payload["n"] for e in value] for key, value in found.items()} == {
        "s-0007": [7],
        "s-1100": [1100],
    }


def test_many_streams_on_an_empty_log_need_no_lookup(
    store: SqlEventStore, migrated_engine: Engine
) -> None:
    with statements(migrated_engine) as seen:
        assert store.read_streams(f"s-{number}" for number in range(2000)) == {}

    assert not [sql for sql in seen if "FROM events" in sql]


def test_preloaded_streams_are_not_read_again(
    store: SqlEventStore, migrated_engine: Engine
) -> None:
    area = AreaRegistered("energy", "Energy")
    store.append("area-energy", 0, [NewEvent(*to_stored(area))])
    uow = UnitOfWork(store)

    with statements(migrated_engine) as seen:
        uow.preload(["area-energy", "area-trade", "area-energy"])
        assert uow.events("area-energy") == [area]
        assert uow.events("area-trade") == []
        assert not uow.exists("area-trade")

    assert len([sql for sql in seen if "FROM events" in sql]) == 1


def test_a_stream_that_moved_after_the_preload_makes_the_commit_conflict(
    store: SqlEventStore,
) -> None:
    uow = UnitOfWork(store)
    uow.preload(["area-energy", "area-trade"])
    uow.record("area-energy", [AreaRegistered("energy", "Energy")])
    uow.record("area-trade", [AreaRegistered("trade", "Trade")])
    store.append("area-trade", 0, [NewEvent(*to_stored(AreaRegistered("trade", "Trade")))])

    with pytest.raises(ConcurrencyConflict) as conflict:
        uow.commit({"actor": "tester"})

    assert (conflict.value.stream_id, conflict.value.expected, conflict.value.actual) == (
        "area-trade",
        0,
        1,
    )
    assert store.head()[0] == 1


def test_folded_state_is_kept_until_the_stream_gets_new_events(store: SqlEventStore) -> None:
    uow = UnitOfWork(store)
    folds: list[int] = []

    def count(events: Iterable[Any]) -> int:
        folds.append(1)
        return len(list(events))

    assert uow.folded("area-energy", count) == 0
    assert uow.folded("area-energy", count) == 0
    uow.record("area-energy", [AreaRegistered("energy", "Energy")])
    assert uow.folded("area-energy", count) == 1
    assert uow.folded("area-energy", count) == 1

    assert len(folds) == 2


def test_telling_that_a_stream_exists_decodes_nothing(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append("area-energy", 0, [NewEvent(*to_stored(AreaRegistered("energy", "Energy")))])
    uow = UnitOfWork(store)
    decoded: list[str] = []
    real = unit_of_work.from_stored

    def counting(event_type: str, payload: Any) -> Any:
        decoded.append(event_type)
        return real(event_type, payload)

    monkeypatch.setattr(unit_of_work, "from_stored", counting)
    uow.preload(["area-energy", "area-trade"])

    assert uow.exists("area-energy")
    assert not uow.exists("area-trade")
    assert decoded == []
    assert uow.events("area-energy") == [AreaRegistered("energy", "Energy")]
    assert uow.events("area-energy") == [AreaRegistered("energy", "Energy")]
    assert decoded == ["AreaRegistered"]
    uow.record("area-trade", [AreaRegistered("trade", "Trade")])
    assert uow.exists("area-trade")
