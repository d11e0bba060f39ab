"""Local wall time + IANA zone ⇄ UTC instants, rejecting DST gaps and unresolved folds."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from consultations.domain.errors import InvalidInput
from consultations.domain.validation import validate_date

# Keys that resolve on some machines but do not name a stable, shared zone.
_NOT_SHARED = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=256)  # zones are looked up per meeting when whole logs are replayed
def parse_zone(name: str, field: str = "tz") -> ZoneInfo:
    """Return the IANA zone called ``name``; InvalidInput(field) if there is none."""
    if name in _NOT_SHARED or name.startswith(("posix/", "right/")):
        raise InvalidInput(field, f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(field, f"unknown time zone {name!r}") from None


@dataclass(frozen=True, slots=True)
class WallTime:
    """A local wall time resolved to a UTC instant.

    ``fold`` is 0 or 1 when the wall time is ambiguous (it occurs twice), else None.
    """

    local: datetime
    fold: int | None
    utc: datetime


def resolve_local(
    local: datetime, tz: str, fold: int | None = None, *, field: str = "start"
) -> WallTime:
    """Convert naive local wall time in zone ``tz`` to a UTC instant.

    Raises InvalidInput when the zone is unknown (field ``tz``), the wall time is not naive
    or out of range, it does not exist in the zone (DST gap), or it is ambiguous (DST fold)
    and ``fold`` is None. ``fold`` 0 picks the earlier, 1 the later occurrence. The time
    is never shifted silently.
    """
    if local.tzinfo is not None:
        raise InvalidInput(field, f"{local.isoformat()} must be a local wall time without offset")
    if fold not in (None, 0, 1):
        raise InvalidInput("fold", f"must be 0 or 1, got {fold!r}")
    validate_date(local, field)
    zone = parse_zone(tz)
    wall = local.replace(fold=0)
    first = wall.replace(tzinfo=zone).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    shown = format_wall_time(wall)
    if first.astimezone(zone).replace(tzinfo=None) != wall:
        raise InvalidInput(field, f"{shown} does not exist in {tz} (DST gap)")
    if first == second:
        return WallTime(wall, None, first)
    if fold is None:
        raise InvalidInput(
            field,
            f"{shown} is ambiguous in {tz} (it occurs twice as clocks go back); "
            "pass --fold 0|1 (0 = the earlier, 1 = the later)",
        )
    return WallTime(wall, fold, second if fold else first)


def to_local(instant: datetime, tz: str) -> WallTime:
    """Express the aware ``instant`` as wall time in ``tz`` (with fold if ambiguous)."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    zone = parse_zone(tz)
    aware = instant.astimezone(zone)
    wall = aware.replace(tzinfo=None, fold=0)
    ambiguous = (
        wall.replace(tzinfo=zone).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset()
    )
    return WallTime(wall, aware.fold if ambiguous else None, instant.astimezone(UTC))


def local_date(instant: datetime, tz: str) -> date:
    """Return the calendar date of the aware ``instant`` in zone ``tz``."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(parse_zone(tz)).date()


def format_wall_time(wall: datetime) -> str:
    """``2026-05-14 10:00`` (seconds only when there are any), as wall times are typed."""
    return wall.isoformat(sep=" ", timespec="minutes" if not wall.second else "seconds")
