"""ISO 8601 durations (``PT2H``, ``P14D``, ``P6M``, ``P1Y``, ``PT1H30M``)."""

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, timedelta

from consultations.domain.errors import InvalidInput

_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?",
    re.ASCII,
)
_MAX_COMPONENT = 999_999


@dataclass(frozen=True, slots=True)
class Duration:
    """A non-negative ISO 8601 duration with integer components.

    Years and months are calendar units (their length depends on where they are applied);
    everything else is an exact length of time.
    """

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def __str__(self) -> str:
        date_part = "".join(
            f"{amount}{unit}"
            for amount, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"))
            if amount
        ) + (f"{self.days}D" if self.days else "")
        time_part = "".join(
            f"{amount}{unit}"
            for amount, unit in ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S"))
            if amount
        )
        if not date_part and not time_part:
            return "PT0S"
        return "P" + date_part + ("T" + time_part if time_part else "")

    @property
    def is_calendar(self) -> bool:
        """True if the duration has year or month components (no fixed length)."""
        return bool(self.years or self.months)

    @property
    def has_time(self) -> bool:
        """True if the duration has hour, minute or second components."""
        return bool(self.hours or self.minutes or self.seconds)

    @property
    def is_zero(self) -> bool:
        """True if every component is zero."""
        return not (self.is_calendar or self.weeks or self.days or self.has_time)

    def to_timedelta(self) -> timedelta:
        """Exact length; raises ValueError for durations with years or months."""
        if self.is_calendar:
            raise ValueError(f"{self} has years or months and no fixed length")
        return timedelta(
            weeks=self.weeks,
            days=self.days,
            hours=self.hours,
            minutes=self.minutes,
            seconds=self.seconds,
        )

    def add_to(self, day: date, *, sign: int = 1) -> date:
        """Return ``day`` shifted by this duration (``sign=-1`` subtracts).

        Month ends are clamped: 2026-08-31 + P6M = 2027-02-28. Raises ValueError for
        durations with hours, minutes or seconds.
        """
        if self.has_time:
            raise ValueError(f"{self} has a time part and cannot be added to a date")
        # dateutil's relativedelta does the same (months first, clamped, then days) at a
        # tenth of the speed; compliance windows add durations thousands of times.
        if self.years or self.months:
            months = day.year * 12 + day.month - 1 + sign * (self.years * 12 + self.months)
            year, month = divmod(months, 12)
            month += 1
            if not MINYEAR <= year <= MAXYEAR:
                raise ValueError(f"year {year} is out of range")
            day = day.replace(year=year, month=month, day=min(day.day, monthrange(year, month)[1]))
        if self.weeks or self.days:
            day += timedelta(days=sign * (7 * self.weeks + self.days))
        return day


def parse_duration(text: str, field: str = "duration") -> Duration:
    """Parse an ISO 8601 duration such as ``PT2H`` or ``P6M``; InvalidInput on junk.

    Only integer components are accepted. Zero durations parse; callers decide whether
    they are acceptable.
    """
    normalized = text.strip().upper()
    match = _DURATION.fullmatch(normalized)
    # "P" and "P1DT" match the pattern but have no components / a dangling T.
    if match is None or not any(match.groupdict().values()) or normalized.endswith("T"):
        raise InvalidInput(
            field, f"{text!r} is not an ISO 8601 duration such as PT2H, PT1H30M, P14D or P6M"
        )
    parts = {name: int(value) for name, value in match.groupdict().items() if value is not None}
    for name, value in parts.items():
        if value > _MAX_COMPONENT:
            raise InvalidInput(field, f"{text!r} is too large ({name} over {_MAX_COMPONENT})")
    return Duration(**parts)


def parse_exact_duration(text: str, field: str, *, maximum: timedelta) -> Duration:
    """Parse a fixed-length duration ``0 < d <= maximum`` (no years or months)."""
    duration = parse_duration(text, field)
    if duration.is_calendar:
        raise InvalidInput(field, f"{text!r} must not use years or months; use days, e.g. P30D")
    length = duration.to_timedelta()
    if length <= timedelta(0):
        raise InvalidInput(field, f"{text!r} must be longer than zero")
    if length > maximum:
        raise InvalidInput(field, f"{text!r} is longer than {_format_days(maximum)}")
    return duration


def _format_days(length: timedelta) -> str:
    return f"{length.days} days" if length.days != 1 else "1 day"
