"""Working calendars: the days and hours each party works, and slots that suit all of them.

Pure rules; public holidays come through the ``PublicHolidays`` port (the ``holidays``
package sits behind an adapter). For a party, on a local day in its own zone, a day is not
a working day when

- it falls in a closure recorded for the party (``party closure add``);
- it is a public holiday of the party's country, as the holidays data has it, including
  days off moved by decree (Azerbaijan's substitute days) and observed days; a date the
  data only estimates (Islamic holidays in years not yet announced) is marked estimated;
- it is a weekend day (the ``weekend`` setting, Saturday and Sunday by default), unless
  the country decreed that weekend day a working day.

A party works from ``opens`` to ``closes`` (09:00–18:00 by default) in its own zone. A
meeting suits a party when every local day it spans is a working day, it starts inside
office hours on its first day and ends inside them on its last (a meeting over several
days, such as a three-day festival, is not held against the nights in between), and no
other meeting of the party overlaps it.

A party's working calendar starts with its country: a party without one (every party
registered before working calendars existed, until it is given one) is held only to the
closures recorded for it, not to weekends, office hours or its other meetings. Slots are
proposed inside every party's office hours and clear of its other meetings all the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from consultations.domain.wall_time import WallTime, parse_zone, to_local

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_WEEKEND = frozenset({5, 6})  # Saturday, Sunday (date.weekday())
DEFAULT_OPENS, DEFAULT_CLOSES = time(9), time(18)
SLOT_STEP = timedelta(minutes=30)  # proposed meetings start on the half hour
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Holiday:
    """A public holiday as the holidays data names it; ``estimated``: its date is not final."""

    name: str
    estimated: bool = False


class PublicHolidays(Protocol):
    """The public holidays of countries, by ISO 3166 code."""

    def supports(self, country: str) -> bool:
        """True when the data knows the country's holidays."""

    def on(self, country: str, day: date) -> tuple[Holiday, ...]:
        """The country's public holidays (days off) on ``day``; () on a working day."""

    def works_on_weekend(self, country: str, day: date) -> bool:
        """True when the country decreed the weekend day ``day`` a working day."""


@dataclass(frozen=True, slots=True)
class Closure:
    """Days a party does not work, ``first`` to ``last`` inclusive, and why."""

    first: date
    last: date
    reason: str

    def covers(self, day: date) -> bool:
        """True when ``day`` is one of the closed days."""
        return self.first <= day <= self.last


@dataclass(frozen=True, slots=True)
class OfficeRules:
    """What every party shares: weekend days (``date.weekday()``) and office hours."""

    weekend: frozenset[int] = DEFAULT_WEEKEND
    opens: time = DEFAULT_OPENS
    closes: time = DEFAULT_CLOSES

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ValueError(f"office hours must open before they close, not {self.hours}")
        if not self.weekend <= set(range(7)) or len(self.weekend) == 7:
            raise ValueError("weekend must be some of the days 0 (Monday) to 6, not all")

    @property
    def hours(self) -> str:
        """``09:00–18:00``."""
        return f"{self.opens:%H:%M}–{self.closes:%H:%M}"


@dataclass(frozen=True, slots=True)
class PartyCalendar:
    """What decides when a party works: its zone, country and closures."""

    party_id: str
    tz: str
    country: str | None = None
    closures: tuple[Closure, ...] = ()


class Conflict(StrEnum):
    """Why a meeting may not work out as planned."""

    HOLIDAY = "holiday"
    WEEKEND = "weekend"
    CLOSURE = "closure"
    OFFICE_HOURS = "office_hours"
    OVERLAP = "overlap"
    OUTSIDE_WINDOW = "outside_window"  # never counts for its track
    AWAITING_RECORD = "awaiting_record"


NON_WORKING_DAY = frozenset({Conflict.HOLIDAY, Conflict.WEEKEND, Conflict.CLOSURE})


@dataclass(frozen=True, slots=True)
class Finding:
    """One conflict of a meeting; ``text`` names the party, the day and the reason.

    ``other``: the meeting it overlaps (overlaps only).
    """

    kind: Conflict
    party_id: str | None
    text: str
    day: date | None = None
    estimated: bool = False
    other: str | None = None

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Busy:
    """Another meeting: when it runs (UTC), who takes part, and how to name it."""

    meeting_id: str
    start_utc: datetime
    end_utc: datetime
    parties: frozenset[str]
    label: str  # e.g. "2027-03-09 10:00 Asia/Ashgabat"


@dataclass(frozen=True, slots=True)
class Slot:
    """A proposed time, as wall times in ``tz``, with the reasons it suits everyone."""

    start: WallTime
    end: WallTime
    tz: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SlotSearch:
    """What ``find_slots`` looks for: ``count`` slots of ``length`` for ``parties``.

    Days ``first``..``last`` (in ``tz``, where slots are given) are tried nearest
    ``target`` first, one slot a day, none starting before ``not_before``.
    """

    parties: tuple[PartyCalendar, ...]
    tz: str
    length: timedelta
    first: date
    last: date
    target: date
    not_before: datetime
    busy: tuple[Busy, ...] = ()
    count: int = 3


def weekday_name(day: date) -> str:
    """``Saturday``."""
    return WEEKDAYS[day.weekday()].capitalize()


class WorkingCalendar:
    """The working-calendar rules over a source of public holidays and the office rules."""

    def __init__(self, holidays: PublicHolidays, rules: OfficeRules | None = None) -> None:
        self.holidays = holidays
        self.rules = rules or OfficeRules()

    def day_off(self, party: PartyCalendar, day: date) -> Finding | None:
        """Why ``day`` (local, in the party's zone) is not a working day for it; None if it is."""
        for closure in party.closures:
            if closure.covers(day):
                text = f"{party.party_id}: {day} is closed ({closure.reason})"
                return Finding(Conflict.CLOSURE, party.party_id, text, day)
        found = self.holidays.on(party.country, day) if party.country else ()
        if found:
            names = "; ".join(holiday.name for holiday in found)
            estimated = any(holiday.estimated for holiday in found)
            text = f"{party.party_id}: {day} is {names}, a public holiday" + (
                " (its date is estimated)" if estimated else ""
            )
            return Finding(Conflict.HOLIDAY, party.party_id, text, day, estimated)
        if (
            party.country
            and day.weekday() in self.rules.weekend
            and not self.holidays.works_on_weekend(party.country, day)
        ):
            text = f"{party.party_id}: {day} is a {weekday_name(day)}, not a working day"
            return Finding(Conflict.WEEKEND, party.party_id, text, day)
        return None

    def office_hours(self, party: PartyCalendar, day: date) -> tuple[datetime, datetime]:
        """When the party opens and closes on its local ``day``, as UTC instants."""
        zone = ZoneInfo(party.tz)
        opens = datetime.combine(day, self.rules.opens, tzinfo=zone).astimezone(UTC)
        return opens, datetime.combine(day, self.rules.closes, tzinfo=zone).astimezone(UTC)

    def check(
        self, parties: Iterable[PartyCalendar], start_utc: datetime, end_utc: datetime
    ) -> list[Finding]:
        """Every party's non-working days and office-hour conflicts for a meeting at that time."""
        findings: list[Finding] = []
        for party in parties:
            start = to_local(start_utc, party.tz).local
            end = to_local(end_utc, party.tz).local
            first, last = start.date(), (end - timedelta(microseconds=1)).date()
            findings += filter(None, (self.day_off(party, day) for day in _days(first, last)))
            if party.country is None:
                continue  # no working week to hold the hours against
            # A meeting over several days starts and ends inside office hours; the nights
            # between are not counted against it.
            opening, closing = self.rules.opens, self.rules.closes
            if not (opening <= start.time() < closing and opening < end.time() <= closing):
                span = f"{start:%H:%M}–{end:%H:%M} {party.tz} on {first}"
                if last != first:
                    span = f"{start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} {party.tz}"
                text = f"{party.party_id}: {span} is outside its office hours ({self.rules.hours})"
                findings.append(Finding(Conflict.OFFICE_HOURS, party.party_id, text, first))
        return findings

    def clashes(
        self,
        parties: Iterable[PartyCalendar],
        start_utc: datetime,
        end_utc: datetime,
        busy: Iterable[Busy],
    ) -> list[Finding]:
        """The other meetings of these parties that overlap ``start_utc``..``end_utc``.

        Only parties with a working calendar (a country) are held to their other meetings.
        """
        held = [party for party in parties if party.country is not None]
        return _overlaps(held, start_utc, end_utc, busy)

    def find_slots(self, search: SlotSearch) -> tuple[tuple[Slot, ...], str | None]:
        """Up to ``search.count`` slots, one a day, nearest the target day first.

        Each slot is on a working day of every party, inside the office hours they share on
        that day, and overlaps no meeting of theirs in ``search.busy``. When there is none,
        the second value says why (what ruled the days out, counted).
        """
        parse_zone(search.tz)
        slots: list[Slot] = []
        ruled_out: Counter[str] = Counter()
        for day in _nearest_first(search.first, search.last, search.target):
            slot, why = self._slot_on(search, day)
            if slot is None:
                ruled_out[why] += 1
                continue
            slots.append(slot)
            if len(slots) == search.count:
                break
        if slots:
            return tuple(slots), None
        return (), _why_none(search, ruled_out)

    def _slot_on(self, search: SlotSearch, day: date) -> tuple[Slot | None, str]:
        """The first free slot on ``day``, or None and what ruled the day out."""
        for party in search.parties:
            found = self.day_off(party, day)
            if found is not None:
                return None, found.kind.value
        hours = [self.office_hours(party, day) for party in search.parties]
        opens = max((span[0] for span in hours), default=None)
        closes = min((span[1] for span in hours), default=None)
        if opens is None or closes is None:  # no party: the zone's own office hours
            opens, closes = self.office_hours(PartyCalendar("", search.tz), day)
        start = _on_the_step(max(opens, search.not_before), search.tz)
        if closes - opens < search.length:
            return None, "short"
        while start + search.length <= closes:
            end = start + search.length
            if not self.check(search.parties, start, end) and not _overlaps(
                search.parties, start, end, search.busy
            ):
                return self._slot(search, start, end, opens, closes), ""
            start += SLOT_STEP
        return None, "booked" if search.not_before < closes else "past"

    def _slot(
        self, search: SlotSearch, start: datetime, end: datetime, opens: datetime, closes: datetime
    ) -> Slot:
        names = ", ".join(party.party_id for party in search.parties) or "every party"
        common = (
            f"{to_local(opens, search.tz).local:%H:%M}–{to_local(closes, search.tz).local:%H:%M}"
        )
        reasons = [
            f"a working day for {names}",
            f"inside the office hours they share ({common} {search.tz})",
        ]
        if search.busy:
            reasons.append(f"no other meeting of {names} at that time")
        return Slot(to_local(start, search.tz), to_local(end, search.tz), search.tz, tuple(reasons))


def _overlaps(
    parties: Iterable[PartyCalendar], start_utc: datetime, end_utc: datetime, busy: Iterable[Busy]
) -> list[Finding]:
    """A finding per party and meeting of ``busy`` that overlaps ``start_utc``..``end_utc``."""
    ids = {party.party_id for party in parties}
    findings = []
    for other in busy:
        if other.start_utc < end_utc and start_utc < other.end_utc:
            for party_id in sorted(ids & other.parties):
                text = f"{party_id}: overlaps meeting {other.meeting_id!r} ({other.label})"
                findings.append(Finding(Conflict.OVERLAP, party_id, text, other=other.meeting_id))
    return findings


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += _ONE_DAY


def _nearest_first(first: date, last: date, target: date) -> list[date]:
    """The days ``first``..``last``, nearest ``target`` first (the earlier of two as near)."""
    return sorted(_days(first, last), key=lambda day: (abs((day - target).days), day))


def _on_the_step(instant: datetime, tz: str) -> datetime:
    """``instant`` rounded up to the next whole ``SLOT_STEP`` of wall time in ``tz``."""
    wall = to_local(instant, tz).local
    midnight = datetime.combine(wall.date(), time())
    step = SLOT_STEP.total_seconds()
    passed = (wall - midnight).total_seconds()
    ahead = timedelta(seconds=-passed % step)
    return instant + ahead


_RULED_OUT = {
    "weekend": ("weekend day", "weekend days"),
    "holiday": ("public holiday", "public holidays"),
    "closure": ("day closed", "days closed"),
    "short": (
        "day whose shared office hours are shorter than the meeting",
        "days whose shared office hours are shorter than the meeting",
    ),
    "booked": ("day taken by other meetings", "days taken by other meetings"),
    "past": ("day already past", "days already past"),
}


def _why_none(search: SlotSearch, ruled_out: Counter[str]) -> str:
    if search.first > search.last:
        return f"no day is left to search (from {search.first} to {search.last})"
    counts = ", ".join(
        f"{ruled_out[key]} {one if ruled_out[key] == 1 else many}"
        for key, (one, many) in _RULED_OUT.items()
        if ruled_out[key]
    )
    return f"no day from {search.first} to {search.last} suits every party ({counts})"


def parties_of(participants: Sequence[str], host: str | None) -> tuple[str, ...]:
    """The parties taking part in a meeting: its participants, and its host."""
    return tuple(dict.fromkeys([*participants, *([host] if host else [])]))
