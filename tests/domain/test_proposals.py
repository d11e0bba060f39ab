"""`track propose`'s rules: every slot suits every party; impossible requests say why.

Drawn on the real `holidays` data. Nothing is drawn from the clock: ``now`` is drawn.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consultations.adapters.public_holidays import HolidaysPackage
from consultations.domain import tracks
from consultations.domain.commands import AddTrack
from consultations.domain.compliance import Session
from consultations.domain.proposals import propose
from consultations.domain.tracks import Track
from consultations.domain.vocabulary import MeetingStatus
from consultations.domain.wall_time import local_date, to_local
from consultations.domain.working_calendar import (
    Busy,
    Closure,
    PartyCalendar,
    WorkingCalendar,
)

CALENDAR = WorkingCalendar(HolidaysPackage())
RULES = CALENDAR.rules
PARTIES = (
    PartyCalendar("TM-MFA", "Asia/Ashgabat", "TM"),
    PartyCalendar("AZ-MFA", "Asia/Baku", "AZ"),
    PartyCalendar("DE-AA", "Europe/Berlin", "DE"),  # summer time, unlike the other two
    PartyCalendar("UN-OFFICE", "Asia/Tbilisi"),  # no country: no holidays or weekends
)
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def track(
    cadence: str, parties: tuple[str, ...], *, tz: str = "Asia/Baku", duration: str = "PT3H",
    start: date = date(2025, 1, 1), required: int = 1, rotation: tuple[str, ...] = (),
) -> Track:  # fmt: skip
    command = AddTrack(
        track_id="t", title="Track", kind="workshop", cadence=cadence, start=start, tz=tz,
        parties=parties, required=required, default_duration=duration, host_rotation=rotation,
    )  # fmt: skip
    state = tracks.fold(tracks.decide(None, command, NOW))
    assert state is not None
    return state


@st.composite
def closures(draw: st.DrawFn) -> tuple[Closure, ...]:
    found = []
    for _ in range(draw(st.integers(0, 3))):
        first = date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 1100)))
        found.append(Closure(first, first + timedelta(days=draw(st.integers(0, 40))), "closed"))
    return tuple(found)


@st.composite
def requests(draw: st.DrawFn) -> dict:  # type: ignore[type-arg]
    chosen = draw(st.lists(st.sampled_from(PARTIES), min_size=1, max_size=4, unique=True))
    parties = tuple(PartyCalendar(p.party_id, p.tz, p.country, draw(closures())) for p in chosen)
    now = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 900_000)))
    cadence = draw(st.sampled_from(["half-year", "quarter", "month", "year", "max-gap:P3M"]))
    hours = draw(st.integers(1, 10))
    ids = tuple(p.party_id for p in parties)
    state = track(
        cadence, ids, tz=draw(st.sampled_from([p.tz for p in parties])),
        duration=f"PT{hours}H", required=draw(st.integers(1, 2)),
        rotation=tuple(draw(st.permutations(ids))),
    )  # fmt: skip
    sessions, busy = [], []
    for number in range(draw(st.integers(0, 8))):
        start = now + timedelta(hours=draw(st.integers(-4000, 8000)))
        end = start + timedelta(hours=draw(st.integers(1, 30)))
        if draw(st.booleans()):
            sessions.append(Session(f"s{number}", MeetingStatus.PLANNED, start))
        who = frozenset(draw(st.lists(st.sampled_from(ids), min_size=1, unique=True)))
        busy.append(Busy(f"b{number}", start, end, who, f"meeting {number}"))
    return {
        "track": state, "sessions": sessions, "parties": parties, "busy": busy, "now": now,
        "count": draw(st.integers(1, 4)),
    }  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests())
def test_every_proposed_slot_suits_every_party(request: dict) -> None:  # type: ignore[type-arg]
    state, parties, busy, now = (request[k] for k in ("track", "parties", "busy", "now"))
    found = propose(
        state, request["sessions"], parties, busy, CALENDAR, now=now, count=request["count"],
        previous_host=None,
    )  # fmt: skip

    if not found.proposals:
        assert found.why_none  # nothing proposed: it says why
        return
    assert found.why_none is None
    assert found.window is not None
    assert len(found.proposals) <= request["count"]
    for proposal in found.proposals:
        start, end = proposal.slot.start.utc, proposal.slot.end.utc
        assert start >= now
        assert end - start == state.default_duration.to_timedelta()
        assert found.window.start <= local_date(start, state.tz) <= found.window.end
        for party in parties:  # a working day, inside its office hours, whatever its country
            first, last = to_local(start, party.tz).local, to_local(end, party.tz).local
            assert first.date() == last.date()
            assert RULES.opens <= first.time()
            assert last.time() <= RULES.closes
            assert CALENDAR.day_off(party, first.date()) is None
        assert not [b for b in busy if b.start_utc < end and start < b.end_utc]
        assert proposal.host in state.host_rotation
        assert any(reason.startswith("in window ") for reason in proposal.reasons)


def test_a_session_longer_than_the_shared_office_hours_gets_no_slot_and_a_reason() -> None:
    found = propose(
        track("half-year", ("TM-MFA", "AZ-MFA"), duration="PT9H"),
        [], PARTIES[:2], [], CALENDAR, now=NOW,
    )  # fmt: skip
    assert found.proposals == ()
    assert found.window is not None
    assert found.window.label == "2026-H2"
    assert found.why_none == (
        "window 2026-H2: no day from 2026-12-07 to 2026-12-31 suits every party "
        "(5 weekend days, 2 public holidays, 18 days whose shared office hours are "
        "shorter than the meeting)"
    )


def test_a_party_closed_for_the_whole_window_gets_no_slot_and_a_reason() -> None:
    closed = PartyCalendar(
        "AZ-MFA", "Asia/Baku", "AZ", (Closure(date(2027, 1, 1), date(2027, 3, 31), "move"),)
    )
    found = propose(
        track("quarter", ("TM-MFA", "AZ-MFA")), [], [PARTIES[0], closed], [], CALENDAR,
        now=NOW, window="2027-Q1",
    )  # fmt: skip
    assert found.proposals == ()
    assert found.why_none is not None
    assert found.why_none.startswith("window 2027-Q1: no day from 2027-01-01 to 2027-03-31")
    assert "days closed" in found.why_none


def test_a_window_that_has_its_sessions_needs_none() -> None:
    planned = Session("ws", MeetingStatus.PLANNED, datetime(2027, 4, 13, 6, tzinfo=UTC))
    found = propose(
        track("half-year", ("TM-MFA", "AZ-MFA")), [planned], PARTIES[:2], [], CALENDAR,
        now=NOW, window="2027-H1",
    )  # fmt: skip
    assert found.proposals == ()
    assert found.why_none == (
        "window 2027-H1 needs no session: it has 0 held and 1 planned of 1 required"
    )


def test_half_year_sessions_are_aimed_about_six_months_after_the_previous_one() -> None:
    held = Session(
        "ws-h1", MeetingStatus.HELD, datetime(2027, 4, 13, 6, tzinfo=UTC),
        datetime(2027, 4, 13, 6, tzinfo=UTC),
    )  # fmt: skip
    found = propose(
        track("half-year", ("TM-MFA", "AZ-MFA"), rotation=("AZ-MFA", "TM-MFA"), duration="PT6H"),
        [held], PARTIES[:2], [], CALENDAR, now=NOW, window="2027-H2", previous_host="AZ-MFA",
    )  # fmt: skip
    assert found.window is not None
    assert found.window.label == "2027-H2"
    best = found.proposals[0]
    # 2027-04-13 + 184 days (the half's length) = 2027-10-14, a Thursday.
    assert best.slot.start.local == datetime(2027, 10, 14, 9, 0)
    assert best.host == "TM-MFA"
    assert "184 days after ws-h1 (2027-04-13)" in best.reasons
    assert "host TM-MFA: next in the track's rotation after AZ-MFA" in best.reasons


def test_max_gap_sessions_are_aimed_before_the_deadline_with_a_margin() -> None:
    held = Session(
        "tf", MeetingStatus.HELD, datetime(2026, 10, 20, 6, tzinfo=UTC),
        datetime(2026, 10, 20, 6, tzinfo=UTC),
    )  # fmt: skip
    found = propose(
        track("max-gap:P3M", ("TM-MFA", "AZ-MFA"), tz="Asia/Ashgabat"),
        [held], PARTIES[:2], [], CALENDAR, now=NOW,
    )  # fmt: skip
    assert found.window is not None
    assert found.window.end == date(2027, 1, 20)
    days = [p.slot.start.local.date() for p in found.proposals]
    margin = (found.window.end - found.window.start) / 6  # 15 days
    assert max(days) <= found.window.end - timedelta(days=margin.days)
    assert "15 days before the deadline 2027-01-20" in found.proposals[0].reasons
