"""Compliance windows of a track and the status of each, evaluated at an ``as_of`` date.

Pure functions over a track's rules and its sessions (DESIGN §2). Everything is compared
as calendar dates in the track's time zone; ``as_of`` is such a date, and a window whose
``end`` equals ``as_of`` has not ended yet (it ends at the end of that day).

Where sessions count:

- a held meeting counts in the window of the day it actually took place,
  ``local_date(held_utc, tz)``, wherever it was planned;
- a planned or rescheduled meeting counts in the window of ``local_date(start_utc, tz)``:
  as ``planned`` if that day is on or after ``as_of``, as ``unconfirmed`` if it is before
  (its day has passed and nobody recorded it held or cancelled);
- cancelled meetings never count.

Sessions are taken as given: a meeting held after ``as_of`` still counts as held. To see
what was known on an earlier day, pass the sessions known then.

Choices where DESIGN §2 leaves room:

- A track that starts mid-window owes the full ``required`` in that first window (no
  proration); the window keeps its calendar bounds, and sessions anywhere in it count,
  even before the start date. The window is produced even when ``until`` (or ``as_of``)
  falls in it before the start date.
  Likewise the window containing the retirement date is produced in full; later windows
  are not produced (nothing is required of them).
- A window that has not ended and reaches ``required`` only by counting unconfirmed
  (overdue) meetings is ``awaiting_record``, not ``scheduled``: the plan existed, but
  nobody recorded whether it happened, so the window is not safe until someone does.
  Held and planned sessions alone reaching ``required`` is ``scheduled``. Once the window
  has ended the unconfirmed ones decide ``unconfirmed`` versus ``missed``.
- ``satisfied`` wins over everything (even for a window that has not started), and
  ``upcoming`` is decided before ``scheduled``.

A single meeting is *awaiting record* (:func:`awaiting_record`) from the instant it ends
while it is still planned or rescheduled. Windows are judged on whole days at ``as_of``,
so there a meeting counts as unconfirmed from the day after its planned day.

``max-gap:<period>`` is modelled as a chain of rolling windows, each with ``required`` 1
(the track's own ``required`` is ignored). Each window has an anchor day from which the
period is counted and ends on ``period.add_to(anchor)``, inclusive, with month ends
clamped (2026-08-31 + P6M = 2027-02-28; 2027-08-31 + P6M = 2028-02-29):

- the first window starts at the track start and is anchored there, so the first session
  is due within one period of the start (the DESIGN example ``2026-03-15..2026-09-15``);
  sessions before the start do not count;
- the first held session inside a window, on day ``d``, satisfies and closes it; the next
  window is anchored on ``d`` and starts the day after (``d+1..d+period``), so consecutive
  held sessions are at most one period apart;
- a window without a held session ends on its deadline (missed, unconfirmed, at risk …);
  the next one starts, and is anchored, the day after.

Window starts strictly increase, so labels are unique and the sequence always advances.
A closed window keeps its deadline as ``end`` (labels stay stable once a session is held)
but counts sessions only up to its closing day ``d``, including every session held or
planned on ``d``; later sessions count in the next window. So each session counts once,
although a closed window's ``end`` overlaps the next window.
"""

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import islice
from typing import NamedTuple

from consultations.domain.cadence import Cadence, CadenceKind
from consultations.domain.durations import Duration
from consultations.domain.tracks import Track
from consultations.domain.vocabulary import MeetingStatus
from consultations.domain.wall_time import local_date, parse_zone

DEFAULT_AT_RISK_LEAD = timedelta(days=60)
_ONE_DAY = timedelta(days=1)


class WindowStatus(StrEnum):
    """Compliance status of one window (DESIGN §2)."""

    SATISFIED = "satisfied"
    MISSED = "missed"
    UNCONFIRMED = "unconfirmed"
    SCHEDULED = "scheduled"
    AWAITING_RECORD = "awaiting_record"
    AT_RISK = "at_risk"
    OPEN = "open"
    UPCOMING = "upcoming"


# Meetings in these states still wait for their outcome: held or cancelled.
RECORD_PENDING: frozenset[MeetingStatus] = frozenset(
    {MeetingStatus.PLANNED, MeetingStatus.RESCHEDULED}
)


def awaiting_record(status: str, end_utc: datetime, now: datetime) -> bool:
    """Whether a meeting is awaiting record at ``now``: it has ended, nobody recorded it.

    That is, its ``end_utc`` is not after ``now`` and its status is still planned or
    rescheduled (neither held nor cancelled).
    """
    return status in RECORD_PENDING and end_utc <= now


@dataclass(frozen=True, slots=True)
class TrackRules:
    """What a track commits to: ``required`` sessions per ``cadence`` window."""

    cadence: Cadence
    required: int
    start: date
    tz: str
    retired_on: date | None = None
    at_risk_lead: timedelta = DEFAULT_AT_RISK_LEAD

    def __post_init__(self) -> None:
        if self.required < 1:
            raise ValueError(f"required must be at least 1, got {self.required}")
        if self.at_risk_lead < timedelta(0):
            raise ValueError("at_risk_lead must not be negative")
        gap = self.cadence.max_gap
        if gap is not None and (gap.is_zero or gap.has_time):
            raise ValueError(f"max-gap period {gap} must be whole days or longer, not zero")
        parse_zone(self.tz)

    @classmethod
    def of(cls, track: Track, at_risk_lead: timedelta = DEFAULT_AT_RISK_LEAD) -> "TrackRules":
        """The rules of a track's current state."""
        return cls(
            track.cadence, track.required, track.start, track.tz, track.retired_on, at_risk_lead
        )


@dataclass(frozen=True, slots=True)
class Session:
    """A meeting of the track: its status, planned start and, if held, when it took place."""

    meeting_id: str
    status: MeetingStatus
    start_utc: datetime
    held_utc: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("start_utc", "held_utc"):
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.status is MeetingStatus.HELD and self.held_utc is None:
            raise ValueError(f"held meeting {self.meeting_id!r} needs held_utc")


class Period(NamedTuple):
    """A calendar window: label and inclusive first and last day."""

    label: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Window:
    """One compliance window and how the track stands in it at ``as_of``.

    ``meetings`` lists the ids counted here (held, planned and unconfirmed) in
    chronological order.
    """

    label: str
    start: date
    end: date
    required: int
    held: int
    planned: int
    unconfirmed: int
    status: WindowStatus
    meetings: tuple[str, ...]


def window_of(cadence: Cadence, day: date) -> Period:
    """The calendar window of ``cadence`` containing ``day``; ValueError for max-gap."""
    year, month = day.year, day.month
    match cadence.kind:
        case CadenceKind.YEAR:
            return _period(f"{year}", date(year, 1, 1), months=12)
        case CadenceKind.HALF_YEAR:
            half = (month - 1) // 6
            return _period(f"{year}-H{half + 1}", date(year, 6 * half + 1, 1), months=6)
        case CadenceKind.QUARTER:
            quarter = (month - 1) // 3
            return _period(f"{year}-Q{quarter + 1}", date(year, 3 * quarter + 1, 1), months=3)
        case CadenceKind.MONTH:
            return _period(f"{year}-{month:02d}", date(year, month, 1), months=1)
        case _:
            raise ValueError(f"{cadence} has no calendar windows")


def counted_days(rules: TrackRules) -> tuple[date, date | None]:
    """The first and last local day on which a session can count for the track (None: no end).

    As ``evaluate`` counts them: from the start of the track's first window (the calendar
    window holding its start, so a session shortly before the start still counts; for
    max-gap the start itself) to the end of the window holding its retirement date (for
    max-gap, whose last window depends on when sessions were held, the latest it can end:
    one period after the retirement). A session outside these days never counts.
    """
    gap = rules.cadence.max_gap
    if gap is not None:
        return rules.start, None if rules.retired_on is None else gap.add_to(rules.retired_on)
    first = window_of(rules.cadence, rules.start).start
    if rules.retired_on is None:
        return first, None
    return first, window_of(rules.cadence, rules.retired_on).end


def never_counted(rules: TrackRules, day: date) -> str | None:
    """Why a session on ``day`` (local, in the track's zone) can never count, or None if it can."""
    first, last = counted_days(rules)
    if day < first:
        return f"{day} is before the track's first window, which starts on {first}"
    if last is not None and day > last:
        return (
            f"{day} is after the track's last window, which ends by {last} "
            f"(the track retired on {rules.retired_on})"
        )
    return None


def evaluate(
    rules: TrackRules,
    sessions: Iterable[Session],
    as_of: date,
    *,
    since: date | None = None,
    until: date | None = None,
    resume: tuple[date, date] | None = None,
) -> tuple[Window, ...]:
    """Evaluate the track's windows at ``as_of``, in chronological order.

    From the window containing ``since`` (default: the track start) to the one containing
    ``until`` (default: ``as_of``); pass a later ``until`` to see upcoming windows.
    Windows wholly after the retirement date are left out, and there are none when
    ``until`` falls before the track's first window.

    ``resume`` is the (start, end) of a window an earlier evaluation under the same rules
    produced: evaluation starts there, and only the sessions from its start on are needed.
    """
    dated = _dated(rules.tz, sessions)
    last = min(as_of if until is None else until, rules.retired_on or date.max)
    first = rules.start if since is None else since
    if rules.cadence.max_gap is not None:
        start, anchor = rules.start, rules.start
        if resume is not None:
            start, anchor = resume[0], _anchor(rules, *resume)
        spans = _max_gap_spans(rules.cadence.max_gap, start, last, dated[0], anchor)
        required = 1
    else:
        spans = _calendar_spans(rules.cadence, rules.start if resume is None else resume[0], last)
        required = rules.required
    if resume is not None:
        first = max(first, resume[0])
    days = ([item.day for item in dated[0]], [item.day for item in dated[1]])
    return tuple(
        _judge(span, dated, days, required, as_of, lead=rules.at_risk_lead)
        for span in spans
        if span.stop > first
    )


# --- internals ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Dated:
    """A session on the local day it counts on (held day, or planned day)."""

    day: date
    moment: datetime
    meeting_id: str


@dataclass(frozen=True, slots=True)
class _Span:
    """A window's bounds; the sessions counted in it are those with ``start <= day < stop``."""

    label: str
    start: date
    end: date
    stop: date


_HeldAndPending = tuple[list[_Dated], list[_Dated]]  # held, pending (planned or rescheduled)


def _dated(tz: str, sessions: Iterable[Session]) -> _HeldAndPending:
    """Held and pending (planned or rescheduled) sessions on their local days, sorted."""
    held: list[_Dated] = []
    pending: list[_Dated] = []
    for session in sessions:
        if session.status is MeetingStatus.HELD:
            assert session.held_utc is not None  # checked by Session
            held.append(
                _Dated(local_date(session.held_utc, tz), session.held_utc, session.meeting_id)
            )
        elif session.status is not MeetingStatus.CANCELLED:
            moment = session.start_utc
            pending.append(_Dated(local_date(moment, tz), moment, session.meeting_id))
    return sorted(held, key=_chronological), sorted(pending, key=_chronological)


def _chronological(item: _Dated) -> tuple[date, datetime, str]:
    return item.day, item.moment, item.meeting_id


def _calendar_spans(cadence: Cadence, start: date, last: date) -> Iterator[_Span]:
    period = window_of(cadence, start)
    while period.start <= last:
        yield _Span(*period, stop=period.end + _ONE_DAY)
        period = window_of(cadence, period.end + _ONE_DAY)


def _anchor(rules: TrackRules, start: date, end: date) -> date:
    """The day a max-gap window (start, end) counts its period from."""
    gap = rules.cadence.max_gap
    assert gap is not None
    # A window starts on its anchor (the track start, or after a missed window) or the day
    # after (the day after a held session). When both give the same end, the rest of the
    # chain is the same either way.
    for anchor in (start, start - _ONE_DAY):
        if gap.add_to(anchor) == end:
            return anchor
    raise ValueError(f"{start}..{end} is not a window of {rules.cadence}")


def _max_gap_spans(
    gap: Duration, start: date, last: date, held: list[_Dated], anchor: date
) -> Iterator[_Span]:
    days = [item.day for item in held]  # sorted: each window finds its closer by bisection
    while start <= last:
        end = gap.add_to(anchor)
        label = f"{start.isoformat()}..{end.isoformat()}"
        index = bisect_left(days, start)
        closer = held[index] if index < len(held) and days[index] <= end else None
        if closer is None:
            yield _Span(label, start, end, stop=end + _ONE_DAY)
            anchor = start = end + _ONE_DAY
        else:
            yield _Span(label, start, end, stop=closer.day + _ONE_DAY)
            anchor, start = closer.day, closer.day + _ONE_DAY


def _within(part: list[_Dated], days: list[date], span: _Span) -> list[_Dated]:
    """The sessions of a sorted list whose day falls in ``[span.start, span.stop)``."""
    return part[bisect_left(days, span.start) : bisect_left(days, span.stop)]


def _judge(
    span: _Span,
    dated: _HeldAndPending,
    days: tuple[list[date], list[date]],
    required: int,
    as_of: date,
    *,
    lead: timedelta,
) -> Window:
    done, waiting = (
        _within(part, part_days, span) for part, part_days in zip(dated, days, strict=True)
    )
    held = len(done)
    planned = sum(item.day >= as_of for item in waiting)
    unconfirmed = len(waiting) - planned
    return Window(
        label=span.label,
        start=span.start,
        end=span.end,
        required=required,
        held=held,
        planned=planned,
        unconfirmed=unconfirmed,
        status=_status(span, required, held, planned, unconfirmed, as_of=as_of, lead=lead),
        meetings=tuple(item.meeting_id for item in sorted((*done, *waiting), key=_chronological)),
    )


def _status(  # noqa: PLR0911 - one return per row of the DESIGN §2 table
    span: _Span,
    required: int,
    held: int,
    planned: int,
    unconfirmed: int,
    *,
    as_of: date,
    lead: timedelta,
) -> WindowStatus:
    if held >= required:
        return WindowStatus.SATISFIED
    if span.end < as_of:
        if held + unconfirmed >= required:
            return WindowStatus.UNCONFIRMED
        return WindowStatus.MISSED
    if as_of < span.start:
        return WindowStatus.UPCOMING
    if held + planned >= required:
        return WindowStatus.SCHEDULED
    if held + planned + unconfirmed >= required:
        return WindowStatus.AWAITING_RECORD
    if as_of >= span.end - lead:
        return WindowStatus.AT_RISK
    return WindowStatus.OPEN


def _period(label: str, start: date, *, months: int) -> Period:
    return Period(label, start, Duration(months=months).add_to(start) - _ONE_DAY)


# --- windows whose sessions were counted elsewhere (e.g. stored by a projection) ------------


def window_status(
    period: Period,
    required: int,
    held: int,
    planned: int,
    unconfirmed: int,
    *,
    as_of: date,
    lead: timedelta = DEFAULT_AT_RISK_LEAD,
) -> WindowStatus:
    """The status at ``as_of`` of a window with these counts, as ``evaluate`` judges it.

    ``planned`` and ``unconfirmed`` split the pending sessions counted in the window: those
    on or after ``as_of`` and those before it.
    """
    span = _Span(period.label, period.start, period.end, stop=period.end)
    return _status(span, required, held, planned, unconfirmed, as_of=as_of, lead=lead)


def periods_after(cadence: Cadence, end: date, last: date) -> Iterator[Period]:
    """The windows that follow one ending on ``end``, up to the last starting on or before ``last``.

    They continue the sequence ``evaluate`` builds when no session counts after ``end``:
    the next calendar windows, or for max-gap a chain of windows each anchored on the day
    after the previous one's deadline (so the window ending on ``end`` must not have been
    closed by a held session).
    """
    start = end + _ONE_DAY
    if cadence.max_gap is not None:
        spans = _max_gap_spans(cadence.max_gap, start, last, [], anchor=start)
    else:
        spans = _calendar_spans(cadence, start, last)
    for span in spans:
        yield Period(span.label, span.start, span.end)


def reach_ahead(cadence: Cadence, day: date, count: int) -> date:
    """A day by which the ``count``-th window after the one containing ``day`` has started.

    A report running to this day (windows starting on or before it) shows the window
    containing ``day`` and at least the ``count`` after it. For calendar cadences this is
    that window's first day. Max-gap windows depend on the sessions held: the window
    containing ``day`` is anchored on or before it, so it ends at the latest one period
    after ``day``, and the chain that follows starts no later than the one counted from
    there. ``day`` itself for ``count`` 0.
    """
    gap = cadence.max_gap
    end = window_of(cadence, day).end if gap is None else gap.add_to(day)
    reach = day
    for period in islice(periods_after(cadence, end, date.max), count):
        reach = period.start
    return reach
