"""The event-log contract: one set of tests that every log backend must pass.

Subclass :class:`EventLogContract` per backend and implement ``create_log`` (see
``test_log_contract.py``). The tests use only the port, plus a log's ``mapper`` attribute
where they read stored shapes with other upcasters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from consultations.adapters.eventlog import (
    Append,
    ConcurrencyConflict,
    EventLog,
    EventMapper,
    IdempotencyKeyReused,
    RecordedEvent,
    UpcasterRegistry,
)
from consultations.adapters.eventlog.hash_chain import GENESIS_HASH, row_hash
from consultations.domain.events import (
    AreaRegistered,
    DomainEvent,
    MeetingHeld,
    PartyRegistered,
)
from consultations.domain.wall_time import WallTime
from consultations.service_layer.unit_of_work import UnitOfWork
from tests.support.opaque import Opaque, OpaqueMapper, opaque

BatchListener = Callable[[Sequence[RecordedEvent]], None]
META = {"actor": "tester"}
EXPECTED_HEAD_HASH = "3d5b2887327ec3df1729977854a8e89c1ddf7aaeb6fa8fbbc625fa7a63caf60d"
"""What the SQL log wrote for these appends before the log was split into a module family."""


def area(number: int | str, name: str = "Area") -> AreaRegistered:
    return AreaRegistered(f"a{number}", f"{name} {number}")


def flat(log: EventLog, after: int = 0, **options: Any) -> list[RecordedEvent]:
    return [event for batch in log.read(after, **options) for event in batch]


def held(start_utc: datetime) -> MeetingHeld:
    return MeetingHeld(
        "m1", WallTime(datetime(2025, 12, 1, 13, 30), None, start_utc), None, (), (), ()
    )


class EventLogContract:
    """The tests; a subclass supplies the backend."""

    def create_log(
        self,
        *,
        mapper: EventMapper | None = None,
        clock: Callable[[], datetime] | None = None,
        listeners: Sequence[BatchListener] = (),
    ) -> EventLog:
        """A new, empty log on the backend under test."""
        raise NotImplementedError

    # -- appending -------------------------------------------------------------------------

    def test_append_to_a_new_stream_returns_gap_free_positions(self) -> None:
        log = self.create_log()
        assert log.append("area-a", 0, [area(1), area(2)], metadata=META) == [1, 2]
        assert log.append("area-b", 0, [area(3)]) == [3]
        assert log.append("area-a", 2, [area(4)]) == [4]

        stream = log.read_stream("area-a")
        assert [(e.position, e.stream_version, e.event) for e in stream] == [
            (1, 1, area(1)),
            (2, 2, area(2)),
            (4, 3, area(4)),
        ]
        assert [e.metadata for e in stream] == [META, META, {}]
        assert log.read_stream("area-a", after_version=2) == stream[2:]
        assert log.stream_version("area-a") == 3
        assert log.stream_version("area-unknown") == 0
        assert log.head() == (4, stream[-1].hash)

    def test_text_in_turkmen_azerbaijani_and_russian_survives(self) -> None:
        log = self.create_log()
        name = "Türkmenistanyň we Azərbaycanın XİN-lərinin məsləhətləşmələri — консультации"
        event = PartyRegistered("tm-mfa", name, "Asia/Ashgabat", ("Aşgabat", "Bakı"))
        log.append("party-tm-mfa", 0, [event], metadata={"reason": "Məsləhətləşmə"})
        (read,) = log.read_stream("party-tm-mfa")
        assert read.event == event
        assert read.metadata == {"reason": "Məsləhətləşmə"}
        assert log.verify().ok

    def test_wrong_expected_version_raises_and_writes_nothing(self) -> None:
        log = self.create_log()
        log.append("area-a", 0, [area(1)])
        with pytest.raises(ConcurrencyConflict) as raised:
            log.append("area-a", 0, [area("clash")])
        assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (
            "area-a",
            0,
            1,
        )
        with pytest.raises(ConcurrencyConflict):
            log.append("area-new", 3, [area("ahead of time")])
        assert [e.position for e in flat(log)] == [1]
        assert log.head()[0] == 1

    def test_empty_stream_ids_and_negative_versions_are_refused(self) -> None:
        log = self.create_log()
        with pytest.raises(ValueError, match="stream_id"):
            log.append("", 0, [area(1)])
        with pytest.raises(ValueError, match="expected_version"):
            log.append("area-a", -1, [area(1)])
        assert log.append_many([]) == []
        assert log.head()[0] == 0

    def test_append_many_is_atomic(self) -> None:
        log = self.create_log()
        log.append("track-x", 0, [area("x")])
        batch = [
            Append("area-1", 0, [area("ok")]),
            Append("track-x", 0, [area("stale")]),  # conflicts: track-x is at version 1
        ]
        with pytest.raises(ConcurrencyConflict):
            log.append_many(batch)
        assert log.head()[0] == 1
        assert log.read_stream("area-1") == []

        positions = log.append_many(
            [Append("area-1", 0, [area("a")]), Append("area-1", 1, [area("b")])]
        )
        assert positions == [2, 3]
        assert [e.stream_version for e in log.read_stream("area-1")] == [1, 2]

    def test_on_an_empty_log_every_stream_is_at_version_zero(self) -> None:
        log = self.create_log()
        with pytest.raises(ConcurrencyConflict) as raised:
            log.append_many([Append("s-a", 0, [area(1)]), Append("s-b", 1, [area(2)])])
        assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (
            "s-b",
            1,
            0,
        )
        assert log.head()[0] == 0
        assert log.append_many([Append("s-a", 0, [area(1)])]) == [1]

    def test_repeated_idempotency_key_appends_nothing_and_returns_first_result(self) -> None:
        log = self.create_log()
        first = log.append("area-a", 0, [area(1), area(2)], idempotency_key="k-1")
        again = log.append("area-a", 0, [area(1), area(2)], idempotency_key="k-1")
        assert first == again == [1, 2]
        assert log.head()[0] == 2
        assert log.recorded_result("k-1") == [1, 2]
        assert log.recorded_result("k-2") is None
        # A stale expected version does not matter for a repeat: the first result stands.
        assert log.append("area-a", 0, [area(1)], idempotency_key="k-1") == [1, 2]
        assert log.append("area-a", 2, [area(3)], idempotency_key="k-2") == [3]

    def test_a_key_repeated_with_a_different_command_is_refused(self) -> None:
        log = self.create_log()
        assert log.append("area-a", 0, [area(1)], idempotency_key="k", fingerprint="f1") == [1]
        assert log.append("area-a", 1, [area(1)], idempotency_key="k", fingerprint="f1") == [1]
        assert log.recorded_result("k", "f1") == [1]
        with pytest.raises(IdempotencyKeyReused, match="idempotency key 'k' was used for a "):
            log.append("area-b", 0, [area(2)], idempotency_key="k", fingerprint="f2")
        with pytest.raises(IdempotencyKeyReused):
            log.recorded_result("k", "f2")
        assert log.head()[0] == 1
        # Without a fingerprint on either side (keys recorded before they were kept), a key
        # matches any command, as it always did.
        assert log.append("area-b", 0, [area(2)], idempotency_key="old") == [2]
        assert log.recorded_result("old", "any") == [2]
        assert log.recorded_result("k") == [1]

    def test_recorded_at_is_monotonic_even_if_the_clock_goes_back(self) -> None:
        times = iter([datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)])
        log = self.create_log(clock=lambda: next(times))
        business_time = datetime(2025, 12, 1, 9, 30, tzinfo=UTC)
        log.append("meeting-m1", 0, [held(business_time)])
        log.append("area-a", 0, [area(1)])
        first, second = flat(log)
        assert first.recorded_at == second.recorded_at == datetime(2026, 5, 1, tzinfo=UTC)
        assert first.occurred_at == business_time  # a meeting was held when it took place
        assert second.occurred_at == second.recorded_at
        assert log.verify().ok

    # -- the hash chain ----------------------------------------------------------------------

    def test_each_hash_chains_the_stored_row_to_the_one_before(self) -> None:
        at = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
        log = self.create_log(clock=lambda: at)
        log.append("area-a", 0, [area(1), area(2)], metadata=META)
        log.append("meeting-m1", 0, [held(datetime(2025, 12, 1, 9, 30, tzinfo=UTC))])
        events = flat(log)
        assert_chained(events)
        assert len({event.hash for event in events}) == 3
        report = log.verify()
        assert (report.ok, report.checked, report.last_position) == (True, 3, 3)
        assert log.head() == (3, events[-1].hash)

    def test_an_append_may_carry_its_own_metadata(self) -> None:
        origin = {"origin": "AZ-MFA", "origin_position": 7, "origin_hash": "ab" * 32}
        log = self.create_log()
        positions = log.append_many(
            [
                Append("area-a", 0, [area(1)]),
                Append("area-b", 0, [area(2), area(3)], metadata=origin),
                Append("area-a", 1, [area(4)]),
            ],
            metadata=META,
        )
        assert positions == [1, 2, 3, 4]
        assert [dict(e.metadata) for e in flat(log)] == [META, origin, origin, META]
        assert [dict(e.metadata) for e in log.read_stream("area-b")] == [origin, origin]
        assert_chained(flat(log))  # the metadata stored is the metadata hashed
        assert log.verify().ok

    def test_the_same_appends_give_the_same_hashes_on_every_backend(self) -> None:
        at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
        log = self.create_log(clock=lambda: at)
        log.append("area-a", 0, [area(1)], metadata={"actor": "az", "n": [1, 2]})
        log.append("meeting-m1", 0, [held(datetime(2025, 12, 1, 9, 30, tzinfo=UTC))])
        assert log.head() == (2, EXPECTED_HEAD_HASH)

    # -- reading ---------------------------------------------------------------------------

    def test_read_in_batches_after_a_position(self) -> None:
        log = self.create_log()
        for number in range(7):
            log.append(f"area-{number % 3}", number // 3, [area(number)])
        assert [len(batch) for batch in log.read(batch_size=2)] == [2, 2, 2, 1]
        assert [e.position for e in flat(log, batch_size=2)] == list(range(1, 8))
        assert [e.position for e in flat(log, 4, batch_size=3)] == [5, 6, 7]
        assert [e.position for e in flat(log, batch_size=1, stream_id="area-1")] == [2, 5]
        assert [e.position for e in flat(log, 2, up_to=5, batch_size=2)] == [3, 4, 5]
        assert [e.event for e in flat(log, up_to=1)] == [area(0)]
        assert flat(log, 7) == []
        assert flat(log, 3, up_to=3) == []
        with pytest.raises(ValueError, match="batch_size"):
            flat(log, batch_size=0)

    def test_read_does_not_load_the_log_at_once(self) -> None:
        log = self.create_log()
        log.append_many([Append(f"area-{n}", 0, [area(n)]) for n in range(10)])
        reader = log.read(batch_size=3)
        assert [e.position for e in next(reader)] == [1, 2, 3]
        # Appends made while a reader is part-way through are seen by its later batches.
        log.append("area-late", 0, [area("late")])
        assert [e.position for batch in reader for e in batch] == list(range(4, 12))

    def test_read_streams_returns_each_stream_in_order_and_leaves_out_new_ones(self) -> None:
        log = self.create_log()
        log.append("a-1", 0, [area(1), area(2)])
        log.append("b-1", 0, [area(3)])
        log.append("a-1", 2, [area(4)])

        found = log.read_streams(["a-1", "b-1", "c-1", "a-1"])

        assert set(found) == {"a-1", "b-1"}
        assert [(e.stream_version, e.event) for e in found["a-1"]] == [
            (1, area(1)),
            (2, area(2)),
            (3, area(4)),
        ]
        assert [e.position for e in found["b-1"]] == [3]
        assert log.read_streams([]) == {}
        assert log.read_streams(["b-1"]) == {"b-1": found["b-1"]}

    def test_read_streams_across_many_chunks(self) -> None:
        log = self.create_log()
        names = [f"s-{number:04}" for number in range(1200)]
        log.append("s-0007", 0, [area(7)])
        log.append("s-1100", 0, [area(1100)])

        found = log.read_streams(names)

        assert {key: [e.event for e in value] for key, value in found.items()} == {
            "s-0007": [area(7)],
            "s-1100": [area(1100)],
        }
        assert log.read_streams(f"t-{number}" for number in range(2000)) == {}

    def test_every_event_reads_back_decoded_as_appended(self) -> None:
        log = self.create_log()
        events: list[DomainEvent] = [
            PartyRegistered("tm-mfa", "MFA", "Asia/Ashgabat", ("Protocol",)),
            held(datetime(2025, 12, 1, 9, 30, tzinfo=UTC)),
        ]
        log.append_many(
            [Append("party-tm-mfa", 0, events[:1]), Append("meeting-m1", 0, events[1:])]
        )
        assert [e.event for e in flat(log)] == events
        assert [e.event_type for e in flat(log)] == ["PartyRegistered", "MeetingHeld"]

    def test_old_event_shapes_are_upcast_on_read(self) -> None:
        log = self.create_log(mapper=OpaqueMapper())
        # Written by an older release: the area's name was its "title", schema version 1.
        log.append("area-energy", 0, [opaque("AreaRegistered", {"area_id": "e", "title": "E"})])
        registry = UpcasterRegistry()

        @registry.register("AreaRegistered", from_version=1)
        def rename_title(payload: dict[str, Any]) -> dict[str, Any]:
            return {"area_id": payload["area_id"], "label": payload["title"]}

        @registry.register("AreaRegistered", from_version=2)
        def rename_label(payload: dict[str, Any]) -> dict[str, Any]:
            return {"area_id": payload["area_id"], "name": payload["label"]}

        log.mapper = EventMapper(registry)  # type: ignore[attr-defined]  # a newer release
        assert registry.current_version("AreaRegistered") == 3
        (event,) = log.read_stream("area-energy")
        assert event.event == AreaRegistered("e", "E")
        assert log.verify().ok  # the chain covers the stored shape, not the upcast one
        log.mapper = OpaqueMapper()  # type: ignore[attr-defined]
        (raw,) = log.read_stream("area-energy")
        assert raw.event == Opaque("AreaRegistered", {"area_id": "e", "title": "E"}, 1)

    # -- listeners ---------------------------------------------------------------------------

    def test_listeners_get_the_appended_events_and_a_failure_writes_nothing(self) -> None:
        seen: list[RecordedEvent] = []

        def fail(batch: Sequence[RecordedEvent]) -> None:
            if any(e.event == area("poison") for e in batch):
                raise RuntimeError("projection failed")

        log = self.create_log(listeners=[seen.extend, fail])
        appended = [area(1), area(2)]
        log.append("area-a", 0, appended, metadata=META)
        with pytest.raises(RuntimeError, match="projection failed"):
            log.append("area-a", 2, [area("poison")], idempotency_key="poisoned")

        assert [e.position for e in seen] == [1, 2, 3]
        assert all(e.event is a for e, a in zip(seen, appended, strict=False))  # not decoded
        assert seen[:2] == log.read_stream("area-a")  # the same envelopes as read back
        assert log.head()[0] == 2
        assert log.recorded_result("poisoned") is None
        assert log.verify().ok

    # -- with a unit of work -----------------------------------------------------------------

    def test_a_stream_that_moved_after_the_preload_makes_the_commit_conflict(self) -> None:
        log = self.create_log()
        uow = UnitOfWork(log)
        uow.preload(["area-energy", "area-trade"])
        uow.record("area-energy", [AreaRegistered("energy", "Energy")])
        uow.record("area-trade", [AreaRegistered("trade", "Trade")])
        log.append("area-trade", 0, [AreaRegistered("trade", "Trade")])

        with pytest.raises(ConcurrencyConflict) as conflict:
            uow.commit({"actor": "tester"})

        assert (conflict.value.stream_id, conflict.value.expected, conflict.value.actual) == (
            "area-trade",
            0,
            1,
        )
        assert log.head()[0] == 1

    def test_a_stream_that_moved_after_it_was_read_conflicts_at_the_version_read(self) -> None:
        log = self.create_log()
        log.append("area-trade", 0, [area(1)])
        uow = UnitOfWork(log)
        assert uow.events("area-trade") == [area(1)]
        uow.record("area-trade", [area(2)])
        log.append("area-trade", 1, [area("elsewhere")])

        with pytest.raises(ConcurrencyConflict) as conflict:
            uow.commit({"actor": "tester"})

        assert (conflict.value.stream_id, conflict.value.expected, conflict.value.actual) == (
            "area-trade",
            1,
            2,
        )
        assert [e.event for e in log.read_stream("area-trade")] == [area(1), area("elsewhere")]
        assert log.verify().ok

    def test_earlier_events_that_do_not_reach_the_expected_version_prove_nothing(self) -> None:
        log = self.create_log()
        log.append("area-a", 0, [area(1)])
        (first,) = log.read_stream("area-a")
        for forged in ([first, first], [], [replace(first, stream_id="area-b")] * 2):
            with pytest.raises(ConcurrencyConflict) as conflict:
                log.append_many([Append("area-a", 2, [area(2)], earlier=forged)])
            assert (conflict.value.expected, conflict.value.actual) == (2, 1)
        assert [e.position for e in flat(log)] == [1]
        assert log.verify().ok


def assert_chained(events: list[RecordedEvent]) -> None:
    """Each envelope's hash is the hash of its stored row chained to the one before."""
    mapper = EventMapper(UpcasterRegistry())
    previous = GENESIS_HASH
    for event in events:
        event_type, payload, schema_version = mapper.to_stored(event.event)
        row = {
            "position": event.position,
            "stream_id": event.stream_id,
            "stream_version": event.stream_version,
            "event_type": event_type,
            "schema_version": schema_version,
            "payload": payload,
            "metadata": event.metadata,
            "occurred_at": event.occurred_at,
            "recorded_at": event.recorded_at,
        }
        assert event.hash == row_hash(row, previous)
        previous = event.hash
