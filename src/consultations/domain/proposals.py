"""Proposing a track's next session: which window needs it, which days, and who hosts.

Pure: the track, its sessions, its parties' working calendars and their other meetings
come in; candidate slots and the reasons for each (or why there is none) go out.

- The window is the one asked for, else the first from today on whose held and planned
  sessions fall short of ``required``.
- Candidate days run from the window's start (never before tomorrow, in the track's zone)
  to its end, or to the retirement date. They are tried nearest a target day first: for
  calendar cadences the previous held or planned session plus the window's length divided
  by ``required`` (a half-year track: about six months later); for ``max-gap`` the deadline
  (the window's end, or one period after the previous held or planned session if that is
  earlier) less a margin of a sixth of the time to it, which is also the last day tried
  when there is room before it.
- Each candidate is a slot of the track's default length that ``WorkingCalendar``
  accepts for every party (see ``find_slots``); the host is the next in the rotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from consultations.domain.compliance import Session, TrackRules, Window, evaluate
from consultations.domain.errors import InvalidInput
from consultations.domain.meetings import next_host
from consultations.domain.tracks import Track
from consultations.domain.vocabulary import MeetingStatus
from consultations.domain.wall_time import local_date
from consultations.domain.working_calendar import (
    Busy,
    PartyCalendar,
    Slot,
    SlotSearch,
    WorkingCalendar,
)

HORIZON = timedelta(days=3 * 366)  # how far ahead a window that needs sessions is looked for
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Proposal:
    """One candidate session: its slot, host, and every reason it was chosen."""

    slot: Slot
    host: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Proposals:
    """The window proposed for, the candidates (best first), and why there are none."""

    window: Window | None
    proposals: tuple[Proposal, ...]
    why_none: str | None = None


def propose(
    track: Track,
    sessions: Sequence[Session],
    parties: Sequence[PartyCalendar],
    busy: Sequence[Busy],
    calendar: WorkingCalendar,
    *,
    now: datetime,
    window: str | None = None,
    count: int = 3,
    previous_host: str | None = None,
) -> Proposals:
    """Up to ``count`` sessions for ``track`` in ``window`` (default: the next one short).

    ``sessions``: the track's meetings; ``busy``: the parties' other meetings;
    ``previous_host``: the host of the track's latest meeting (for the rotation).
    Raises InvalidInput("window") for a label that names no window of the track.
    """
    today = local_date(now, track.tz)
    chosen = _window(track, sessions, today, window)
    if isinstance(chosen, str):
        return Proposals(None, (), chosen)
    if chosen.end < today:
        return Proposals(chosen, (), f"window {chosen.label} ended on {chosen.end}")
    if chosen.held + chosen.planned >= chosen.required:
        return Proposals(
            chosen,
            (),
            f"window {chosen.label} needs no session: it has {chosen.held} held and "
            f"{chosen.planned} planned of {chosen.required} required",
        )
    previous = _previous(track.tz, sessions, chosen.end)
    first = max(chosen.start, today + _ONE_DAY)
    last = min(chosen.end, track.retired_on or date.max)
    deadline: date | None = None
    if track.cadence.max_gap is not None:
        # The deadline counts from the previous session, held or planned, when there is one.
        since = chosen.start if previous is None else previous[1]
        deadline = chosen.end
        if previous is not None:
            deadline = min(deadline, track.cadence.max_gap.add_to(previous[1]))
        margin = max(_ONE_DAY, (deadline - since) / 6)
        last = max(first, min(last, deadline - timedelta(days=margin.days)))
        target = last
    elif previous is not None:
        spacing = (chosen.end - chosen.start + _ONE_DAY) / chosen.required
        target = previous[1] + timedelta(days=spacing.days)
    else:
        target = first
    search = SlotSearch(
        tuple(parties),
        track.tz,
        track.default_duration.to_timedelta(),
        first,
        last,
        min(max(target, first), last) if first <= last else first,
        not_before=now,
        busy=tuple(busy),
        count=count,
    )
    slots, why = calendar.find_slots(search)
    if not slots:
        return Proposals(chosen, (), f"window {chosen.label}: {why}")
    host = next_host(track.host_rotation, previous_host)
    span = f"{chosen.start}..{chosen.end}"
    common = [
        f"in window {chosen.label}"
        + ("" if chosen.label == span else f" ({span})")
        + f", which has {chosen.held + chosen.planned} of {chosen.required} sessions",
        _host_reason(host, previous_host),
    ]
    return Proposals(
        chosen,
        tuple(
            Proposal(
                slot,
                host,
                (*slot.reasons, *_spacing(slot, previous, deadline), *common),
            )
            for slot in slots
        ),
    )


def _window(
    track: Track, sessions: Sequence[Session], today: date, label: str | None
) -> Window | str:
    """The window asked for, or the first from today short of sessions (else why none)."""
    windows = evaluate(TrackRules.of(track), sessions, today, until=today + HORIZON)
    if label is not None:
        for found in windows:
            if found.label == label.strip():
                return found
        ahead = [w.label for w in windows if w.end >= today][:4]
        raise InvalidInput(
            "window",
            f"track {track.id!r} has no window {label!r}"
            + (f"; the next are {', '.join(ahead)}" if ahead else ""),
        )
    for found in windows:
        if found.end >= today and found.held + found.planned < found.required:
            return found
    return f"no window of track {track.id!r} from {today} on is short of sessions"


def _previous(tz: str, sessions: Sequence[Session], until: date) -> tuple[str, date] | None:
    """The latest held or planned session on or before ``until``: its id and local day."""
    dated = [
        (local_date(session.held_utc or session.start_utc, tz), session.meeting_id)
        for session in sessions
        if session.status is not MeetingStatus.CANCELLED
    ]
    earlier = [item for item in dated if item[0] <= until]
    if not earlier:
        return None
    day, meeting_id = max(earlier)
    return meeting_id, day


def _spacing(slot: Slot, previous: tuple[str, date] | None, deadline: date | None) -> list[str]:
    day = slot.start.local.date()
    reasons = []
    if previous is not None:
        reasons.append(f"{(day - previous[1]).days} days after {previous[0]} ({previous[1]})")
    if deadline is not None:
        reasons.append(f"{(deadline - day).days} days before the deadline {deadline}")
    return reasons


def _host_reason(host: str | None, previous_host: str | None) -> str:
    if host is None:
        return "no host: the track has no host rotation"
    if previous_host is None or previous_host == host:
        return f"host {host}: first in the track's rotation"
    return f"host {host}: next in the track's rotation after {previous_host}"
