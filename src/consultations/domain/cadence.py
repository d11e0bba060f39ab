"""Cadence commitments of a track: calendar windows or a maximum gap between sessions."""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from consultations.domain.durations import Duration, parse_duration
from consultations.domain.errors import InvalidInput

MAX_GAP_LIMIT = timedelta(days=3660)  # ten years; a longer commitment is a typo.


class CadenceKind(StrEnum):
    """The shape of a cadence commitment."""

    HALF_YEAR = "half-year"
    QUARTER = "quarter"
    MONTH = "month"
    YEAR = "year"
    MAX_GAP = "max-gap"


@dataclass(frozen=True, slots=True)
class Cadence:
    """A cadence: a calendar window kind, or ``max-gap`` with the allowed gap."""

    kind: CadenceKind
    max_gap: Duration | None = None

    def __post_init__(self) -> None:
        if (self.kind is CadenceKind.MAX_GAP) != (self.max_gap is not None):
            raise ValueError("max_gap must be given exactly when kind is max-gap")

    def __str__(self) -> str:
        if self.max_gap is not None:
            return f"{self.kind.value}:{self.max_gap}"
        return self.kind.value


def parse_cadence(text: str) -> Cadence:
    """Parse ``half-year``, ``quarter``, ``month``, ``year`` or ``max-gap:<ISO period>``.

    The max-gap period uses days, weeks, months or years (``P6M``, ``P45D``, ``P1Y``),
    must be positive and at most ten years. Raises InvalidInput("cadence", ...).
    """
    normalized = text.strip().lower()
    head, sep, tail = normalized.partition(":")
    if not sep:
        if normalized in (CadenceKind.MAX_GAP.value, ""):
            raise _junk(text)
        try:
            return Cadence(CadenceKind(normalized))
        except ValueError:
            raise _junk(text) from None
    if head != CadenceKind.MAX_GAP.value:
        raise _junk(text)
    gap = parse_duration(tail, "cadence")
    if gap.has_time:
        raise InvalidInput("cadence", f"max-gap period {tail.upper()!r} must use days or longer")
    if gap.is_zero:
        raise InvalidInput("cadence", f"max-gap period {tail.upper()!r} must be longer than zero")
    if _longest(gap) > MAX_GAP_LIMIT:
        raise InvalidInput("cadence", f"max-gap period {tail.upper()!r} is longer than ten years")
    return Cadence(CadenceKind.MAX_GAP, gap)


def _longest(gap: Duration) -> timedelta:
    """Upper bound of the length of a date-only duration."""
    return timedelta(days=gap.years * 366 + gap.months * 31 + gap.weeks * 7 + gap.days)


def _junk(text: str) -> InvalidInput:
    return InvalidInput(
        "cadence",
        f"unknown cadence {text!r}; expected half-year, quarter, month, year "
        "or max-gap:<ISO period> such as max-gap:P6M",
    )
