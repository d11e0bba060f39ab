"""Parameter types and options shared by the commands."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

import click

from consultations.domain.commands import NewActionItem

F = TypeVar("F", bound=Callable[..., Any])


def _first_parse(text: str, patterns: tuple[str, ...]) -> datetime | None:
    for pattern in patterns:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


class LocalDateTime(click.ParamType[datetime]):
    """A local wall time, ``YYYY-MM-DD HH:MM`` (the zone is given separately)."""

    name = "YYYY-MM-DD HH:MM"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        """Parse the wall time; a bad value is a usage error naming the option."""
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        parsed = _first_parse(text, ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"))
        if parsed is None:
            self.fail(f"{value!r} is not a date and time such as '2026-05-14 10:00'", param, ctx)
        return parsed


class Day(click.ParamType[date]):
    """A calendar date, ``YYYY-MM-DD``."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        """Parse the date; a bad value is a usage error naming the option."""
        if isinstance(value, date):
            return value
        try:
            parsed = date.fromisoformat(str(value).strip())
        except ValueError:
            parsed = None
        if parsed is None or len(str(value).strip()) != len("2026-05-14"):
            self.fail(f"{value!r} is not a date such as '2026-05-14'", param, ctx)
        return parsed


class ActionItemParam(click.ParamType[NewActionItem]):
    """An action item, ``TEXT|OWNER|DUE``."""

    name = "TEXT|OWNER|DUE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> NewActionItem:
        """Split and parse the three parts."""
        parts = str(value).rsplit("|", 2)
        if len(parts) != 3:
            self.fail(f"{value!r} is not TEXT|OWNER|DUE", param, ctx)
        text, owner, due = (part.strip() for part in parts)
        return NewActionItem(text=text, owner=owner, due=Day().convert(due, param, ctx))


class KnownAt(click.ParamType[datetime]):
    """A moment in the log's history: a date (its end, UTC), or a date and time (UTC by default)."""

    name = "YYYY-MM-DD[ HH:MM]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        """Parse the moment as an aware UTC datetime."""
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            if len(text) == len("2026-05-14"):
                day = date.fromisoformat(text)
                return datetime.combine(day, time.max, tzinfo=UTC)
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{value!r} is not a date or a date and time such as '2026-03-01 12:00'", param, ctx
            )
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


LOCAL_TIME = LocalDateTime()
KNOWN_AT = KnownAt()
DAY = Day()
ACTION_ITEM = ActionItemParam()
KNOWN_AT_OPTION = click.option(
    "--known-at",
    type=KNOWN_AT,
    help="Answer from the events recorded by then (a date: its end, UTC).",
)


STRICT_OPTION = click.option(
    "--strict/--no-strict",
    default=None,
    help="Refuse (exit 3, nothing written) rather than warn when a meeting falls on a "
    "non-working day or outside office hours of a party, or over another of its meetings "
    "(default: the strict setting, off).",
)


def check_range(first: date | None, last: date | None) -> None:
    """Refuse an inverted ``--from``/``--to`` range (exit 2), naming ``--to``."""
    if first is not None and last is not None and last < first:
        raise click.BadParameter(
            f"{last.isoformat()} is before --from {first.isoformat()}", param_hint="'--to'"
        )


def comma_list(value: str | None) -> tuple[str, ...] | None:
    """Split ``a,b,c`` into a tuple (None stays None)."""
    if value is None:
        return None
    return tuple(part.strip() for part in value.split(",") if part.strip())


def default_actor() -> str:
    """The OS user running the command."""
    return getpass.getuser()


def write_options(function: F) -> F:
    """Add ``--actor``, ``--reason`` and ``--idempotency-key`` to a command that writes."""
    function = click.option(
        "--idempotency-key",
        help="Repeating the command with the same key appends nothing and prints the first result.",
    )(function)
    function = click.option("--reason", help="Why: stored with the events.")(function)
    return click.option(
        "--actor",
        default=default_actor,
        show_default="the OS user",
        help="Who is making the change: stored with the events.",
    )(function)
