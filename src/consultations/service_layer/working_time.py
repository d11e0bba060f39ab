"""Working calendars at work: checking what a command plans, and the reads built on them.

The rules live in ``domain/working_calendar.py`` (days, office hours, overlaps, slots) and
``domain/proposals.py`` (a track's next session). Here they meet the unit of work (what a
command or a plan file is about to append) and the read models (``schedule conflicts``,
``track propose``, the marks in ``schedule``, ``meeting show`` and the HTML report).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol

from consultations.adapters.projections.compliance import rules_of, session_of
from consultations.domain.aggregates import MEETING, PARTY
from consultations.domain.compliance import RECORD_PENDING, awaiting_record, never_counted
from consultations.domain.errors import NotAllowed
from consultations.domain.events import (
    MeetingAmended,
    MeetingPlanned,
    MeetingRescheduled,
    PartyAmended,
    PartyRegistered,
)
from consultations.domain.meetings import MAX_MEETING_LENGTH, Meeting
from consultations.domain.parties import Party
from consultations.domain.proposals import Proposals, propose
from consultations.domain.tracks import Track
from consultations.domain.wall_time import format_wall_time, local_date
from consultations.domain.working_calendar import (
    NON_WORKING_DAY,
    Busy,
    Conflict,
    Finding,
    PartyCalendar,
    WorkingCalendar,
    parties_of,
)
from consultations.service_layer.unit_of_work import UnitOfWork

Row = dict[str, Any]


class BusyReader(Protocol):
    """What the checks ask the read models: the meetings planned at some time."""

    def busy(self, start_utc: datetime, end_utc: datetime) -> list[Busy]:
        """The meetings, cancelled ones aside, that overlap ``start_utc``..``end_utc``."""


class OutsideWorkingTime(NotAllowed):
    """Strict mode: a meeting on a non-working day, outside office hours or over another one.

    ``findings``: (meeting id, finding) for each conflict; nothing was written.
    """

    def __init__(self, findings: Sequence[tuple[str, Finding]]) -> None:
        self.findings = list(findings)
        listed = "; ".join(str(finding) for _, finding in self.findings)
        super().__init__("start", f"{listed} (refused: strict working calendars)")


@dataclass(frozen=True, slots=True)
class WorkingTime:
    """The working-calendar rules, with the read models that know the other meetings."""

    calendar: WorkingCalendar
    meetings: BusyReader

    def check_pending(self, uow: UnitOfWork) -> list[tuple[str, Finding]]:
        """Conflicts of every meeting ``uow`` plans, moves or gives a new host or participants.

        Held and cancelled meetings aside.

        Each is checked against its parties' working calendars as the unit of work leaves
        them, and against the other meetings of those parties: those in the log, and those
        the unit of work plans or moves (in their new place).
        """
        moved = [
            MEETING.id_of(stream_id)
            for stream_id, events in uow.pending.items()
            if MEETING.owns(stream_id) and any(_changes_when_or_who(event) for event in events)
        ]
        pending = {
            MEETING.id_of(stream_id): uow.state(MEETING, MEETING.id_of(stream_id))
            for stream_id in uow.pending
            if MEETING.owns(stream_id)
        }
        open_ = {
            meeting_id: meeting
            for meeting_id, meeting in pending.items()
            if meeting is not None and not meeting.is_closed
        }
        checked = sorted((open_[m] for m in moved if m in open_), key=lambda m: m.start.utc)
        if not checked:
            return []
        parties = _party_calendars(uow, (p for m in checked for p in _parties(m)))
        in_uow = _Overlapping([_busy(meeting) for meeting in open_.values()])
        # The log's meetings where the unit of work leaves them (those it changes are taken
        # from it instead), read once for the span of every meeting checked.
        logged = _Overlapping(
            [
                b
                for b in self.meetings.busy(checked[0].start.utc, max(m.end.utc for m in checked))
                if b.meeting_id not in pending
            ]
        )
        found: list[tuple[str, Finding]] = []
        for meeting in checked:
            calendars = [parties[p] for p in _parties(meeting) if p in parties]
            start, end = meeting.start.utc, meeting.end.utc
            others = [
                b
                for b in (*logged.over(start, end), *in_uow.over(start, end))
                if b.meeting_id != meeting.id
            ]
            findings = self.calendar.check(calendars, start, end)
            findings += self.calendar.clashes(calendars, start, end, others)
            found += [(meeting.id, finding) for finding in findings]
        return found

    def unknown_countries(self, uow: UnitOfWork) -> list[tuple[str, str]]:
        """(party id, problem) for each country ``uow`` sets that the holidays data lacks."""
        problems = []
        for stream_id, events in uow.pending.items():
            for event in events:
                if not isinstance(event, PartyRegistered | PartyAmended) or event.country is None:
                    continue
                if not self.calendar.holidays.supports(event.country):
                    problems.append(
                        (
                            PARTY.id_of(stream_id),
                            f"no public holidays are known for {event.country!r}; "
                            "give the party's ISO 3166 country code, such as TM or AZ",
                        )
                    )
        return problems


class _Overlapping:
    """Meetings, searched for those overlapping a span without looking at every one."""

    def __init__(self, meetings: Sequence[Busy]) -> None:
        """``meetings`` in the order :meth:`over` gives them in."""
        self._meetings = meetings
        self._by_start = sorted(range(len(meetings)), key=lambda i: meetings[i].start_utc)
        self._starts = [meetings[i].start_utc for i in self._by_start]
        self._longest = max((m.end_utc - m.start_utc for m in meetings), default=timedelta(0))

    def over(self, start_utc: datetime, end_utc: datetime) -> list[Busy]:
        """Those that overlap ``start_utc``..``end_utc``, in the order given."""
        # One that ends after ``start_utc`` started less than the longest length before it.
        low = bisect_right(self._starts, start_utc - self._longest)
        high = bisect_left(self._starts, end_utc)
        return [
            self._meetings[i]
            for i in sorted(self._by_start[low:high])
            if start_utc < self._meetings[i].end_utc
        ]


def _changes_when_or_who(event: object) -> bool:
    """True for an event that plans or moves a meeting, or changes its host or participants."""
    if isinstance(event, MeetingAmended):
        return event.host is not None or event.participants is not None
    return isinstance(event, MeetingPlanned | MeetingRescheduled)


def _parties(meeting: Meeting) -> tuple[str, ...]:
    return parties_of(meeting.participants, meeting.host)


def _party_calendars(uow: UnitOfWork, party_ids: Iterable[str]) -> dict[str, PartyCalendar]:
    ids = sorted(set(party_ids))
    uow.preload(PARTY.stream_id(party_id) for party_id in ids)
    states = (uow.state(PARTY, party_id) for party_id in ids)
    return {state.id: calendar_of(state) for state in states if state is not None}


def calendar_of(party: Party) -> PartyCalendar:
    """A party's working calendar, from its state."""
    return PartyCalendar(party.id, party.tz, party.country, party.closures)


def _busy(meeting: Meeting) -> Busy:
    label = f"{format_wall_time(meeting.start.local)} {meeting.tz}"
    return Busy(meeting.id, meeting.start.utc, meeting.end.utc, frozenset(_parties(meeting)), label)


# --- reading: conflicts, marks, proposals ---------------------------------------------------


class CalendarReads(Protocol):
    """What the reads below need from the read models."""

    def party_calendars(self) -> dict[str, PartyCalendar]:
        """Every party's working calendar, by id."""

    def busy(self, start_utc: datetime, end_utc: datetime) -> list[Busy]:
        """The meetings, cancelled ones aside, that overlap the span."""

    def tracks(self, track_id: str | None = None, area_id: str | None = None) -> list[Row]:
        """Tracks with their areas and parties."""


CONFLICT_COLUMNS = (
    "meeting_id", "title", "track_id", "status", "start_local", "end_local", "tz", "party",
    "conflict", "estimated", "other_meeting", "reason",
)  # fmt: skip


def conflicts(
    read: CalendarReads, calendar: WorkingCalendar, rows: Sequence[Row], now: datetime
) -> list[Row]:
    """One row per conflict of each planned meeting of ``rows`` (schedule rows), in order.

    A meeting is in conflict on a non-working day or outside the office hours of one of
    its parties, over another meeting of one of them, outside its track's active dates (on
    a day that never counts for it, or after its retirement date), or when it has ended and
    awaits its record.
    """
    parties = read.party_calendars()
    tracks = {track["track_id"]: track for track in read.tracks()}
    planned = [row for row in rows if row["status"] in RECORD_PENDING]
    if not planned:
        return []
    # Every meeting that may overlap one of them, in one read, by start.
    busy = read.busy(
        min(row["start_utc"] for row in planned), max(row["end_utc"] for row in planned)
    )
    starts = [other.start_utc for other in busy]
    found = []
    for row in planned:
        # A meeting lasts at most MAX_MEETING_LENGTH: none starting earlier can overlap.
        near = busy[
            bisect_left(starts, row["start_utc"] - MAX_MEETING_LENGTH) : bisect_left(
                starts, row["end_utc"]
            )
        ]
        others = [other for other in near if other.meeting_id != row["meeting_id"]]
        for finding in meeting_findings(
            calendar, row, others, parties=parties, tracks=tracks, now=now
        ):
            found.append(
                {
                    **{name: row[name] for name in CONFLICT_COLUMNS if name in row},
                    "party": finding.party_id,
                    "conflict": finding.kind.value,
                    "estimated": finding.estimated,
                    "other_meeting": finding.other,
                    "reason": finding.text,
                }
            )
    return found


def meeting_findings(
    calendar: WorkingCalendar,
    row: Row,
    others: Sequence[Busy],
    *,
    parties: Mapping[str, PartyCalendar],
    tracks: Mapping[str, Row],
    now: datetime,
) -> list[Finding]:
    """Every conflict of one schedule row (see :func:`conflicts`); ``others``: other meetings."""
    calendars = [parties[p] for p in parties_of(row["participants"], row["host"]) if p in parties]
    start, end = row["start_utc"], row["end_utc"]
    findings = calendar.check(calendars, start, end)
    findings += calendar.clashes(calendars, start, end, others)
    track = tracks.get(row["track_id"]) if row["track_id"] else None
    if track is not None:
        rules, day = rules_of(track), local_date(start, track["tz"])
        why = never_counted(rules, day)
        if why is not None:
            text = f"track {track['track_id']!r}: {why}; it will never count"
            findings.append(Finding(Conflict.OUTSIDE_WINDOW, None, text, day))
        elif rules.retired_on is not None and day > rules.retired_on:
            # It may still count for the window the track retired in, but the track no
            # longer runs then.
            text = f"track {track['track_id']!r}: {day} is after the track retired on "
            text += str(rules.retired_on)
            findings.append(Finding(Conflict.OUTSIDE_WINDOW, None, text, day))
    if awaiting_record(row["status"], end, now):
        ended = format_wall_time(datetime.fromisoformat(row["end_local"]))
        text = f"ended {ended} {row['tz']}; it awaits its record (held or cancelled)"
        findings.append(Finding(Conflict.AWAITING_RECORD, None, text))
    return findings


def non_working_marks(
    calendar: WorkingCalendar, rows: Iterable[Row], parties: Mapping[str, PartyCalendar]
) -> dict[str, list[str]]:
    """For each meeting of ``rows`` on a non-working day of one of its parties, why (by id)."""
    marks: dict[str, list[str]] = {}
    for row in rows:
        ids = parties_of(row["participants"], row["host"])
        calendars = [parties[party_id] for party_id in ids if party_id in parties]
        found = calendar.check(calendars, row["start_utc"], row["end_utc"])
        days = [str(finding) for finding in found if finding.kind in NON_WORKING_DAY]
        if days:
            marks[row["meeting_id"]] = days
    return marks


def proposals_for(
    read: CalendarReads,
    calendar: WorkingCalendar,
    track: Track,
    sessions: Sequence[Row],
    *,
    now: datetime,
    window: str | None,
    count: int,
    previous_host: str | None,
) -> Proposals:
    """``domain.proposals.propose`` for a track, with its meetings and parties from ``read``."""
    parties = read.party_calendars()
    calendars = [parties[p] for p in track.parties if p in parties]
    today = now.date()
    span_start = datetime.combine(today - timedelta(days=1), time(), tzinfo=UTC)
    busy = [
        other
        for other in read.busy(span_start, span_start + timedelta(days=4 * 366))
        if other.parties & set(track.parties)
    ]
    return propose(
        track,
        [session_of(row) for row in sessions],
        calendars,
        busy,
        calendar,
        now=now,
        window=window,
        count=count,
        previous_host=previous_host,
    )
