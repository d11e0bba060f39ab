"""The only bridge between domain events and their stored (JSON) form.

Encoding is generic over the event dataclass fields: dates as ``YYYY-MM-DD``, aware
datetimes as ISO 8601 UTC with ``Z``, naive local wall times as ``YYYY-MM-DDTHH:MM:SS``,
tuples as lists, nested dataclasses as objects, None kept. Decoding is driven by the
field type hints, so adding a field to an event needs no change here.
"""

import dataclasses
import types
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeAlias, Union, get_args, get_origin, get_type_hints

from consultations.adapters.upcasting import upcasters
from consultations.domain.events import ALL_EVENTS, DomainEvent

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None

EVENT_TYPES: Mapping[str, type[DomainEvent]] = ALL_EVENTS
"""Every storable event class by its stored ``event_type`` (the class name)."""


class UnknownEventType(KeyError):
    """A stored ``event_type`` names no known domain event."""

    def __init__(self, event_type: str) -> None:
        super().__init__(event_type)
        self.event_type = event_type

    def __str__(self) -> str:
        return f"unknown event type {self.event_type!r}"


def to_stored(event: DomainEvent) -> tuple[str, dict[str, JSONValue], int]:
    """Return ``(event_type, JSON-native payload, schema_version)`` for ``event``."""
    event_type = type(event).__name__
    if EVENT_TYPES.get(event_type) is not type(event):
        raise UnknownEventType(event_type)
    return event_type, _encode_fields(event), upcasters.current_version(event_type)


def from_stored(event_type: str, payload: Mapping[str, Any]) -> DomainEvent:
    """Rebuild the domain event from its stored type name and (upcast) payload.

    Raises UnknownEventType for an unknown type and ValueError for a payload that does not
    fit the event's fields.
    """
    try:
        cls = EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None
    event: DomainEvent = _decode_dataclass(cls, payload, event_type)
    return event


# --- encoding ----------------------------------------------------------------------------


def _encode_fields(instance: Any) -> dict[str, JSONValue]:
    return {
        field.name: _encode(getattr(instance, field.name)) for field in dataclasses.fields(instance)
    }


def _encode(value: object) -> JSONValue:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_fields(value)
    raise TypeError(f"cannot store a value of type {type(value).__name__}")


# --- decoding ----------------------------------------------------------------------------


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _decode_dataclass(cls: type[Any], payload: object, where: str) -> Any:
    if not isinstance(payload, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(payload).__name__}")
    hints = _hints(cls)
    unknown = set(payload) - set(hints)
    if unknown:
        raise ValueError(f"{where}: unexpected fields {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in payload:
            kwargs[field.name] = _decode(
                hints[field.name], payload[field.name], f"{where}.{field.name}"
            )
        elif field.default is dataclasses.MISSING:
            raise ValueError(f"{where}: missing field {field.name!r}")
    return cls(**kwargs)


def _decode(hint: Any, value: object, where: str) -> Any:
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        if value is None:
            if type(None) in get_args(hint):
                return None
            raise ValueError(f"{where}: must not be null")
        (inner,) = (arg for arg in get_args(hint) if arg is not type(None))
        return _decode(inner, value, where)
    if value is None:
        raise ValueError(f"{where}: must not be null")
    if origin is tuple:
        item_hint, ellipsis = get_args(hint)
        if ellipsis is not Ellipsis:
            raise TypeError(f"{where}: only tuple[X, ...] fields are supported")
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_decode(item_hint, item, f"{where}[{i}]") for i, item in enumerate(value))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, value, where)
    if hint is datetime or hint is date:
        return _decode_temporal(hint, value, where)
    # bool is an int subclass: check it exactly so True never passes for an int and v.v.
    if hint in (str, int, bool) and type(value) is hint:
        return value
    raise ValueError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")


def _decode_temporal(hint: type[date], value: object, where: str) -> date:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected an ISO 8601 string, got {value!r}")
    try:
        if hint is date:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not an ISO 8601 {hint.__name__}") from None
    # Aware values are instants: normalise them to UTC. Naive ones are local wall times.
    return moment if moment.tzinfo is None else moment.astimezone(UTC)
