"""The service layer on the in-memory event log: commands, repeats, conflicts, plan imports.

No database: the log is :class:`InMemoryEventLog` (same semantics as the SQL log, checked
by the contract in ``tests/eventlog``) and the meeting directory a small fake.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consultations.adapters.eventlog import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    InMemoryEventLog,
)
from consultations.domain.commands import (
    RegisterArea,
    RegisterParty,
    RescheduleMeeting,
)
from consultations.domain.errors import DomainError, NotFound
from consultations.domain.events import AreaRegistered, PartyRegistered
from consultations.service_layer import services
from consultations.service_layer.feeds import new_feed
from consultations.service_layer.handlers import handle
from consultations.service_layer.history import aggregate_history
from consultations.service_layer.plan_import import PlanProblems, import_plan
from consultations.service_layer.services import CommandService, Outcome, Provenance
from tests.eventlog.test_append_encoding import HEAD_WRITTEN_BEFORE
from tests.support.reference_session import EXAMPLE, play_reference_session

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PROVENANCE = Provenance(actor="tester", source="test", reason="testing")


class FakeDirectory:
    """Previous hosts by track and existing ids, as a test sets them (the read models' answers)."""

    def __init__(self) -> None:
        self.hosts: dict[str, str] = {}
        self.known: dict[str, list[str]] = {}

    def previous_host(self, track_id: str) -> str | None:
        return self.hosts.get(track_id)

    def ids(self, kind: str) -> list[str]:
        return self.known.get(kind, [])


@pytest.fixture
def log() -> InMemoryEventLog:
    return InMemoryEventLog(clock=lambda: NOW)


@pytest.fixture
def service(log: InMemoryEventLog) -> CommandService:
    return CommandService(log, FakeDirectory(), clock=lambda: NOW)


def test_a_command_appends_its_events_with_provenance(
    log: InMemoryEventLog, service: CommandService
) -> None:
    outcome = service.execute(
        RegisterParty(party_id="TM-MFA", name="MFA", tz="Asia/Ashgabat"), PROVENANCE
    )

    assert outcome == Outcome("TM-MFA", [1])
    (recorded,) = log.read_stream("party-TM-MFA")
    assert recorded.event == PartyRegistered("TM-MFA", "MFA", "Asia/Ashgabat", ())
    assert recorded.metadata["actor"] == "tester"
    assert recorded.metadata["command"] == "RegisterParty"
    assert recorded.metadata["reason"] == "testing"
    assert log.verify().ok


def test_a_repeated_idempotency_key_returns_the_first_outcome(
    log: InMemoryEventLog, service: CommandService
) -> None:
    first = service.execute(
        RegisterArea(area_id="energy", name="Energy"), PROVENANCE, idempotency_key="k"
    )
    again = service.execute(
        RegisterArea(area_id="energy", name="Energy"), PROVENANCE, idempotency_key="k"
    )

    assert first == Outcome("energy", [1])
    assert again == Outcome("energy", [1], repeated=True)
    assert log.head()[0] == 1


def test_a_key_repeated_with_a_different_command_is_refused(
    log: InMemoryEventLog, service: CommandService
) -> None:
    service.execute(RegisterArea(area_id="energy", name="Energy"), PROVENANCE, idempotency_key="k")
    head = log.head()

    for other in (
        RegisterArea(area_id="energy", name="Power"),
        RegisterArea(area_id="trade", name="Energy"),
        RegisterParty(party_id="energy", name="Energy", tz="UTC"),
    ):
        with pytest.raises(IdempotencyKeyReused, match="idempotency key 'k' was used for a "):
            service.execute(other, PROVENANCE, idempotency_key="k")
    assert log.head() == head
    # Who asks and why is not part of the command.
    again = service.execute(
        RegisterArea(area_id="energy", name="Energy"),
        Provenance(actor="someone else", reason="retry"),
        idempotency_key="k",
    )
    assert again == Outcome("energy", [1], repeated=True)


def test_a_repeated_feed_creation_is_the_same_command_despite_its_fresh_token(
    log: InMemoryEventLog, service: CommandService
) -> None:
    first = service.execute(new_feed("all", "All", False)[1], PROVENANCE, idempotency_key="f")
    again = service.execute(new_feed("all", "All", False)[1], PROVENANCE, idempotency_key="f")

    assert again == Outcome(first.aggregate_id, first.positions, repeated=True)
    with pytest.raises(IdempotencyKeyReused):
        service.execute(new_feed("all", "Other", False)[1], PROVENANCE, idempotency_key="f")
    assert log.head()[0] == 1


def test_a_rejected_command_leaves_the_log_untouched(
    log: InMemoryEventLog, service: CommandService
) -> None:
    service.execute(RegisterArea(area_id="energy", name="Energy"), PROVENANCE)
    head = log.head()

    with pytest.raises(DomainError):
        service.execute(RegisterArea(area_id="energy", name="Energy again"), PROVENANCE)
    with pytest.raises(NotFound):
        service.execute(
            RescheduleMeeting(meeting_id="nowhere", start=datetime(2026, 3, 2, 10, 0)), PROVENANCE
        )

    assert log.head() == head


def test_a_stream_that_moved_since_it_was_read_makes_the_commit_conflict(
    log: InMemoryEventLog, service: CommandService
) -> None:
    uow = service.new_unit_of_work()
    handle(uow, RegisterArea(area_id="energy", name="Energy"), NOW, service.directory)
    log.append("area-energy", 0, [AreaRegistered("energy", "Energy by someone else")])

    with pytest.raises(ConcurrencyConflict) as conflict:
        uow.commit({"actor": "tester"})

    assert (conflict.value.stream_id, conflict.value.expected, conflict.value.actual) == (
        "area-energy",
        0,
        1,
    )
    assert log.head()[0] == 1


def test_folded_state_is_kept_until_the_stream_gets_new_events(service: CommandService) -> None:
    uow = service.new_unit_of_work()
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


def test_a_plan_imports_once_and_a_dry_run_appends_nothing(
    log: InMemoryEventLog, service: CommandService
) -> None:
    dry = import_plan(service, EXAMPLE.read_bytes(), PROVENANCE, dry_run=True)
    assert dry.dry_run
    assert log.head()[0] == 0

    report = import_plan(service, EXAMPLE.read_bytes(), PROVENANCE)
    assert report.events == dry.events
    assert report.positions == list(range(1, report.total + 1))
    assert import_plan(service, EXAMPLE.read_bytes(), PROVENANCE).total == 0
    assert log.head()[0] == report.total
    assert log.verify().ok


def test_an_unknown_id_in_a_plan_is_compared_with_the_plan_and_the_read_models(
    log: InMemoryEventLog, service: CommandService
) -> None:
    assert isinstance(service.directory, FakeDirectory)
    service.directory.known["party"] = ["TM-MFA", "AZ-MFA"]
    plan = b"""
[tracks.new-track]
title = "New"
kind = "review"
cadence = "year"
start = 2026-01-01
tz = "UTC"

[meetings.typo]
track = "new-trak"
title = "Typo"
start = 2026-11-20T10:00:00

[meetings.host]
title = "Host"
tz = "UTC"
start = 2026-11-21T10:00:00
host = "TM-MF"
"""
    with pytest.raises(PlanProblems) as problems:
        import_plan(service, plan, PROVENANCE)

    assert problems.value.problems == [
        "meetings.typo.track: no track 'new-trak'; did you mean 'new-track'?",
        "meetings.host.host: no party 'TM-MF'; did you mean 'TM-MFA'? "
        "If not, register it with `party add`",
    ]
    assert log.head()[0] == 0


def test_history_folds_the_stream_it_reads(service: CommandService) -> None:
    service.execute(RegisterArea(area_id="energy", name="Energy"), PROVENANCE)

    found = aggregate_history(service.store, "area", "energy")

    assert found.state.name == "Energy"
    assert [event.event_type for event in found.events] == ["AreaRegistered"]
    with pytest.raises(NotFound):
        aggregate_history(service.store, "area", "trade")


def test_the_same_commands_chain_to_the_same_head_as_on_sql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The writes of tests/eventlog/test_append_encoding.py's end-to-end check, here in memory.
    ids = itertools.count()
    monkeypatch.setattr(services.uuid, "uuid4", lambda: uuid.UUID(int=next(ids)))
    ticks = itertools.count()
    log = InMemoryEventLog(clock=lambda: NOW + timedelta(seconds=next(ticks)))
    service = CommandService(log, FakeDirectory(), clock=lambda: NOW)
    play_reference_session(service, PROVENANCE_E2E)

    assert log.head() == HEAD_WRITTEN_BEFORE


PROVENANCE_E2E = Provenance(actor="tester", source="test")
