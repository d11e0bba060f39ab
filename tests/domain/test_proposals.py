"""`track propose`'s rules: every slot suits every party; impossible requests say why.

Drawn on the real `holidays` data. Nothing is drawn from the clock: ``now`` is drawn.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consultations.adapters.public_holidays import HolidaysPackage
from consultations.domain import tracks
from consultations.domain.commands import AddTrack
from consultations.domain.compliance import Session
from consultations.domain.errors import InvalidInput
from consultations.domain.proposals import propose
from consultations.domain.tracks import Track
from consultations.domain.vocabulary import MeetingStatus
from consultations.domain.wall_time import local_date, to_local
from consultations.domain.working_calendar import (
    Busy,
    Closure,
    PartyCalendar,
    SlotSearch,
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
    cadence = draw(  # max-gap half the time: its deadline moves the days searched
        st.sampled_from(["half-year", "quarter", "month", "year"])
        | st.sampled_from(["max-gap:P3M", "max-gap:P6M"])
    )
    hours = draw(st.integers(1, 10))
    ids = tuple(p.party_id for p in parties)
    state = track(
        cadence, ids, tz=draw(st.sampled_from([p.tz for p in parties])),
        duration=f"PT{hours}H", required=draw(st.integers(1, 2)),
        rotation=tuple(draw(st.permutations(ids))),
    )  # fmt: skip
    sessions, busy = [], []
    for number in range(draw(st.integers(0, 8))):
        # Half within months of now: a max-gap deadline then often falls early in a window.
        hours = st.integers(-4000, 8000) | st.integers(-4400, 1500)
        start = now + timedelta(hours=draw(hours))
        end = start + timedelta(hours=draw(st.integers(1, 30)))
        if draw(st.booleans()):
            held = start < now and draw(st.booleans())
            status = MeetingStatus.HELD if held else MeetingStatus.PLANNED
            sessions.append(Session(f"s{number}", status, start, start if held else None))
        who = frozenset(draw(st.lists(st.sampled_from(ids), min_size=1, unique=True)))
        busy.append(Busy(f"b{number}", start, end, who, f"meeting {number}"))
    return {
        "track": state, "sessions": sessions, "parties": parties, "busy": busy, "now": now,
        "count": draw(st.integers(1, 4)),
    }  # fmt: skip


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests())
def test_every_proposed_slot_suits_every_party(request: dict) -> None:  # type: ignore[type-arg]
    state, parties, busy, now = (request[k] for k in ("track", "parties", "busy", "now"))
    found = propose(
        state, request["sessions"], parties, busy, CALENDAR, now=now, count=request["count"],
        previous_host=None,
    )  # fmt: skip

    window = found.window
    today = local_date(now, state.tz)
    needed = (
        window is not None
        and window.end >= today
        and window.held + window.planned < (window.required)
    )
    deadline = None if window is None else window.end
    if window is not None and state.cadence.max_gap is not None:
        # The latest session up to the window's end, held or planned, starts the gap.
        days = [local_date(s.held_utc or s.start_utc, state.tz) for s in request["sessions"]]
        earlier = [day for day in days if day <= window.end]
        if earlier:
            deadline = min(window.end, state.cadence.max_gap.add_to(max(earlier)))
    if needed and window is not None and deadline is not None:
        # Fewer slots than asked only when there are no more from tomorrow to the deadline
        # (or the window's end), in whatever order the days are tried.
        search = SlotSearch(
            parties, state.tz, state.default_duration.to_timedelta(),
            max(window.start, today + timedelta(days=1)), deadline, window.start,
            not_before=now, busy=tuple(busy), count=request["count"],
        )  # fmt: skip
        assert len(found.proposals) == len(CALENDAR.find_slots(search)[0])
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
        assert deadline is not None
        assert local_date(start, state.tz) <= deadline  # never past a max-gap deadline
        for party in parties:  # a working day, inside its office hours, whatever its country
            first, last = to_local(start, party.tz).local, to_local(end, party.tz).local
            assert first.date() == last.date()
            assert RULES.opens <= first.time()
            assert last.time() <= RULES.closes
            assert CALENDAR.day_off(party, first.date()) is None
            if party.country is None:  # no holidays known, but not on a weekend either
                assert first.weekday() not in RULES.weekend
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


def session(meeting_id: str, day: date, *, held: bool = False) -> Session:
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=6)
    status = MeetingStatus.HELD if held else MeetingStatus.PLANNED
    return Session(meeting_id, status, start, start if held else None)


def test_a_max_gap_deadline_early_in_the_window_leaves_the_days_before_it() -> None:
    # The example's joint review: a session planned for 2027-06-08 fills the window
    # 2027-06-04..2027-12-04; the next one, from 2027-12-05 (a Sunday), has to hold a
    # session by 2027-12-08, six months after it: well inside the margin.
    sessions = [
        session("rv-2026-06", date(2026, 6, 2), held=True),
        session("rv-2026-11", date(2026, 11, 11)),
        session("rv-2027-05", date(2027, 5, 4)),
        session("rv-2027-06", date(2027, 6, 8)),
    ]
    found = propose(
        track("max-gap:P6M", ("TM-MFA", "AZ-MFA")), sessions, PARTIES[:2], [], CALENDAR,
        now=NOW,
    )  # fmt: skip
    assert found.window is not None
    assert (found.window.start, found.window.end) == (date(2027, 12, 5), date(2028, 6, 5))
    days = [p.slot.start.local.date() for p in found.proposals]
    assert days == [date(2027, 12, 6), date(2027, 12, 7), date(2027, 12, 8)]
    assert "on the deadline 2027-12-08" in found.proposals[2].reasons
    assert "1 day before the deadline 2027-12-08" in found.proposals[1].reasons


def test_a_max_gap_deadline_already_past_gets_no_slot_and_says_so() -> None:
    # Planned (never recorded) on the window's first day; the window ends today.
    sessions = [session("tf", date(2026, 12, 2))]
    found = propose(
        track("max-gap:P3M", ("TM-MFA", "AZ-MFA"), start=date(2026, 9, 1)), sessions,
        PARTIES[:2], [], CALENDAR, now=datetime(2027, 3, 2, 9, tzinfo=UTC),
    )  # fmt: skip
    assert found.proposals == ()
    assert found.window is not None
    assert found.window.end == date(2027, 3, 2)
    assert found.why_none == (
        f"window {found.window.label}: its deadline 2027-03-02, P3M after tf (2026-12-02), "
        "is before 2027-03-03, the first day left to propose"
    )


def test_parties_without_a_country_get_no_weekend_and_the_reasons_say_so() -> None:
    no_country = (PartyCalendar("NC-A", "Asia/Baku"), PartyCalendar("NC-B", "Asia/Tbilisi"))
    found = propose(
        track("quarter", ("NC-A", "NC-B")), [], no_country, [], CALENDAR, now=NOW,
        window="2027-Q1", count=5,
    )  # fmt: skip
    days = [p.slot.start.local.date() for p in found.proposals]
    assert days == [date(2027, 1, 1), date(2027, 1, 4), date(2027, 1, 5), date(2027, 1, 6),
                    date(2027, 1, 7)]  # fmt: skip
    reasons = found.proposals[0].reasons
    assert "not a weekend day; no working calendar for NC-A, NC-B (no country: public " \
        "holidays unknown)" in reasons  # fmt: skip
    assert not any(reason.startswith("a working day for") for reason in reasons)
    mixed = propose(
        track("quarter", ("TM-MFA", "NC-A")), [], [PARTIES[0], no_country[0]], [], CALENDAR,
        now=NOW, window="2027-Q1", count=1,
    )  # fmt: skip
    assert mixed.proposals[0].reasons[:2] == (
        "a working day for TM-MFA",
        "not a weekend day; no working calendar for NC-A (no country: public holidays unknown)",
    )
    alone = propose(track("quarter", ()), [], [], [], CALENDAR, now=NOW, window="2027-Q1")
    assert [p.slot.start.local.date() for p in alone.proposals][:2] == [
        date(2027, 1, 1), date(2027, 1, 4)
    ]  # fmt: skip
    assert "not a weekend day; no parties, so no working calendar" in alone.proposals[0].reasons


def test_any_window_from_the_start_to_ten_years_ahead_can_be_named_in_any_case() -> None:
    half_year = track("half-year", ("TM-MFA", "AZ-MFA"))
    far = propose(half_year, [], PARTIES[:2], [], CALENDAR, now=NOW, window="2030-h1")
    assert far.window is not None
    assert (far.window.label, far.window.start) == ("2030-H1", date(2030, 1, 1))
    assert far.proposals
    past = propose(half_year, [], PARTIES[:2], [], CALENDAR, now=NOW, window=" 2025-H1 ")
    assert past.window is not None
    assert past.why_none == "window 2025-H1 ended on 2025-06-30"
    with pytest.raises(InvalidInput, match=r"no window '2037-H2' \(its windows run from "):
        propose(half_year, [], PARTIES[:2], [], CALENDAR, now=NOW, window="2037-H2")
