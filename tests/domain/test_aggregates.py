"""Each aggregate described once: streams, ids and the decider every command goes to."""

from datetime import UTC, date, datetime
from typing import get_args

import pytest

from consultations.domain import aggregates
from consultations.domain.aggregates import AGGREGATES, AREA, FEED, MEETING, PARTY, TRACK
from consultations.domain.commands import DomainCommand, PlanMeeting, RegisterParty, RetireTrack
from consultations.domain.events import ALL_EVENTS


def test_stream_ids_round_trip() -> None:
    assert PARTY.stream_id("TM-MFA") == "party-TM-MFA"
    assert AREA.stream_id("energy") == "area-energy"
    assert TRACK.stream_id("pol-consult") == "track-pol-consult"
    assert MEETING.stream_id("m1") == "meeting-m1"
    assert FEED.stream_id("f1") == "feed-f1"
    for aggregate in AGGREGATES:
        stream = aggregate.stream_id("x-1")
        assert aggregate.owns(stream)
        assert aggregate.id_of(stream) == "x-1"
        assert aggregates.of_stream(stream) is aggregate
        assert aggregates.named(aggregate.name) is aggregate


def test_a_stream_belongs_to_one_aggregate_only() -> None:
    assert not MEETING.owns("track-m1")
    with pytest.raises(ValueError, match="not a meeting stream"):
        MEETING.id_of("track-m1")
    with pytest.raises(ValueError, match="no aggregate"):
        aggregates.of_stream("widget-1")


def test_every_command_has_exactly_one_aggregate() -> None:
    owners = [command for aggregate in AGGREGATES for command in aggregate.commands]
    assert sorted(c.__name__ for c in owners) == sorted(c.__name__ for c in get_args(DomainCommand))
    assert len(owners) == len(set(owners))


def test_commands_name_their_target() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    party = RegisterParty(party_id="TM-MFA", name="MFA of Turkmenistan", tz="Asia/Ashgabat")
    retire = RetireTrack(track_id="pc", on=date(2027, 1, 1))
    plan = PlanMeeting(
        meeting_id="m1", title="Consultations", start=datetime(2026, 3, 1, 10), track_id="pc"
    )
    assert aggregates.for_command(party) is PARTY
    assert aggregates.for_command(party).target(party) == "TM-MFA"
    assert aggregates.for_command(retire).target(retire) == "pc"
    assert aggregates.for_command(plan).target(plan) == "m1"
    (event,) = PARTY.decide(None, party, now)
    assert PARTY.fold([event]) is not None
    assert type(event).__name__ in ALL_EVENTS
