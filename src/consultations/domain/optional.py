"""Helpers for optional fields, where ``None`` means "not given" or "unchanged"."""

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")


def map_optional(value: T | None, function: Callable[[T], U]) -> U | None:
    """Apply ``function`` to ``value`` unless it is None."""
    return None if value is None else function(value)


def or_default(value: T | None, default: T) -> T:
    """Return ``value``, or ``default`` when it is None."""
    return default if value is None else value


def changed(new: T | None, current: T) -> T | None:
    """Return ``new`` if it differs from ``current``, else None (= unchanged in an amendment)."""
    return None if new is None or new == current else new
