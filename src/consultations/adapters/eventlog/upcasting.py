"""Upcasters: old stored event shapes are brought up to the current one on read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class UpcasterRegistry:
    """Upcasters keyed by (event type, schema version they read); each raises the version by 1."""

    def __init__(self) -> None:
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorate a function that turns a ``from_version`` payload into the next version."""

        def decorator(function: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters:
                raise ValueError(f"an upcaster for {event_type} v{from_version} is registered")
            self._upcasters[key] = function
            return function

        return decorator

    def current_version(self, event_type: str) -> int:
        """The schema version new events of this type are written in."""
        version = 1
        while (event_type, version) in self._upcasters:
            version += 1
        return version

    def upcast(
        self, event_type: str, version: int, payload: Mapping[str, Any]
    ) -> tuple[int, Payload]:
        """Apply upcasters in order until the payload is in the current shape."""
        result = dict(payload)
        while (upcaster := self._upcasters.get((event_type, version))) is not None:
            result = upcaster(result)
            version += 1
        return version, result
