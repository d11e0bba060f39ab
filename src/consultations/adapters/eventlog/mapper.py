"""The only bridge between domain events and their stored (JSON) form.

Encoding is generic over the event dataclass fields: dates as ``YYYY-MM-DD``, aware
datetimes as ISO 8601 UTC with ``Z``, naive local wall times as ``YYYY-MM-DDTHH:MM:SS``,
tuples as lists, nested dataclasses as objects (or, in fields marked ``FLATTENED``, as keys
of the event: see that marker), None kept, except in fields marked ``OMIT_WHEN_NONE``
(optional fields added to an event type later), which are left out while None so that such
events are stored exactly as before. Decoding is driven by the field type
hints (compiled once per class), so adding a field to an event needs no change here. Schema
versions and upcasting come from the registry an :class:`EventMapper` is given.
"""

import dataclasses
import types
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeAlias, Union, get_args, get_origin, get_type_hints

from consultations.adapters.eventlog.upcasting import UpcasterRegistry
from consultations.domain.events import (
    ALL_EVENTS,
    FLATTENED,
    OMIT_WHEN_NONE,
    DomainEvent,
    MeetingHeld,
)

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


class EventMapper:
    """Domain events to stored rows and back, with the upcasters it was given."""

    def __init__(self, upcasters: UpcasterRegistry) -> None:
        self.upcasters = upcasters

    def to_stored(self, event: DomainEvent) -> tuple[str, dict[str, JSONValue], int]:
        """Return ``(event_type, JSON-native payload, schema_version)`` for ``event``."""
        event_type, payload = encode(event)
        return event_type, payload, self.upcasters.current_version(event_type)

    def occurred_at(self, event: DomainEvent) -> datetime | None:
        """When the event happened, if not when it is recorded: a meeting was held at its start."""
        return event.start.utc if isinstance(event, MeetingHeld) else None

    def from_stored(
        self, event_type: str, schema_version: int, payload: Mapping[str, Any]
    ) -> DomainEvent:
        """Upcast a stored payload to the current shape and decode it (see :func:`decode`)."""
        _, current = self.upcasters.upcast(event_type, schema_version, payload)
        return decode(event_type, current)


def encode(event: DomainEvent) -> tuple[str, dict[str, JSONValue]]:
    """Return ``(event_type, JSON-native payload)`` for ``event``, in the current shape."""
    event_type = type(event).__name__
    if EVENT_TYPES.get(event_type) is not type(event):
        raise UnknownEventType(event_type)
    return event_type, _encode_fields(event)


def decode(event_type: str, payload: Mapping[str, Any]) -> DomainEvent:
    """Rebuild the domain event from its stored type name and payload in the current shape.

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
    encoded: dict[str, JSONValue] = {}
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        if value is None and field.metadata.get(OMIT_WHEN_NONE):
            continue
        if field.metadata.get(FLATTENED):
            for key, part in _flattened(type(instance))[field.name]:
                encoded[key] = None if value is None else _encode(getattr(value, part))
            continue
        encoded[field.name] = _encode(value)
    return encoded


_FLATTENED: dict[type[Any], dict[str, list[tuple[str, str]]]] = {}


def _flattened(cls: type[Any]) -> dict[str, list[tuple[str, str]]]:
    """``(stored key, field of the value object)`` of each ``FLATTENED`` field of ``cls``."""
    keys = _FLATTENED.get(cls)
    if keys is None:
        hints = get_type_hints(cls)
        keys = _FLATTENED[cls] = {
            field.name: _flat_keys(field.name, hints[field.name])
            for field in dataclasses.fields(cls)
            if field.metadata.get(FLATTENED)
        }
    return keys


def _flat_keys(name: str, hint: Any) -> list[tuple[str, str]]:
    (value_type,) = (arg for arg in get_args(hint) or (hint,) if arg is not type(None))
    parts = [part.name for part in dataclasses.fields(value_type)]
    return [(name, parts[0])] + [(f"{name}_{part}", part) for part in parts[1:]]


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
#
# Each event class gets one decoder, compiled from its type hints on first use: a chain of
# small closures, one per field, so decoding a payload does no type introspection. In front
# of it sits a fast path generated as straight-line code (see _fast_decoder), which the
# replay of a long log spends most of its decoding time in.


class _Invalid(ValueError):
    """A value that does not fit; ``path`` is where, relative to the value being decoded."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(problem)
        self.path, self.problem = path, problem


Decoder: TypeAlias = Callable[[Any], Any]
_DECODERS: dict[type[Any], Decoder] = {}


def _decode_dataclass(cls: type[Any], payload: object, where: str) -> Any:
    try:
        return _dataclass_decoder(cls)(payload)
    except _Invalid as error:
        raise ValueError(f"{where}{error.path}: {error.problem}") from None


def _dataclass_decoder(cls: type[Any]) -> Decoder:
    decoder = _DECODERS.get(cls)
    if decoder is None:
        decoder = _DECODERS[cls] = _fast_decoder(cls, _compile_dataclass(cls))
    return decoder


def _compile_dataclass(cls: type[Any]) -> Decoder:
    """The checked decoder of ``cls``: it names the field and the problem of a bad payload."""
    hints = get_type_hints(cls)
    fields = [
        (field.name, _compile(hints[field.name]), field.default is dataclasses.MISSING)
        for field in dataclasses.fields(cls)
        if not field.metadata.get(FLATTENED)
    ]
    flattened = [
        _compile_flattened(field.name, hints[field.name])
        for field in dataclasses.fields(cls)
        if field.metadata.get(FLATTENED)
    ]
    known = frozenset(name for name, _, _ in fields).union(
        key for _, _, _, parts in flattened for key, _ in parts
    )

    def decode(payload: Any) -> Any:
        if not isinstance(payload, Mapping):
            raise _Invalid("", f"expected an object, got {type(payload).__name__}")
        unknown = payload.keys() - known
        if unknown:
            raise _Invalid("", f"unexpected fields {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for name, field_decoder, required in fields:
            if name in payload:
                try:
                    kwargs[name] = field_decoder(payload[name])
                except _Invalid as error:
                    raise _Invalid(f".{name}{error.path}", error.problem) from None
            elif required:
                raise _Invalid("", f"missing field {name!r}")
        for name, value_type, optional, parts in flattened:
            try:
                values = [payload[key] for key, _ in parts]
            except KeyError as missing:
                raise _Invalid("", f"missing field {missing.args[0]!r}") from None
            if optional and values[0] is None:
                kwargs[name] = None
                continue
            decoded = []
            for (key, part_decoder), value in zip(parts, values, strict=True):
                try:
                    decoded.append(part_decoder(value))
                except _Invalid as error:
                    raise _Invalid(f".{key}{error.path}", error.problem) from None
            kwargs[name] = value_type(*decoded)
        return cls(**kwargs)

    return decode


def _fast_decoder(cls: type[Any], checked: Decoder) -> Decoder:
    """A decoder of ``cls`` generated as one function, falling back on ``checked``.

    It accepts exactly the well-formed payloads, decoding them as ``checked`` does; at the
    first doubt (a missing key, an unexpected type, a value a part decoder rejects) it hands
    the whole payload to ``checked``, which decodes it or says what is wrong. So both accept
    the same payloads and give the same values, and only the error path is slow.
    """
    hints = get_type_hints(cls)
    namespace: dict[str, Any] = {"_cls": cls, "_checked": checked, "_Invalid": _Invalid}
    flat_keys = {
        key
        for field in dataclasses.fields(cls)
        if field.metadata.get(FLATTENED)
        for key, _ in _flat_keys(field.name, hints[field.name])
    }
    namespace["_known"] = frozenset(
        field.name for field in dataclasses.fields(cls) if not field.metadata.get(FLATTENED)
    ).union(flat_keys)
    body: list[str] = []
    arguments: list[str] = []
    for index, field in enumerate(dataclasses.fields(cls)):
        target = f"a{index}"
        arguments.append(target)
        hint = hints[field.name]
        if field.metadata.get(FLATTENED):
            body += _emit_flattened(field.name, hint, target, namespace)
        elif field.default is dataclasses.MISSING:
            body += [f"v = p[{field.name!r}]", *_emit_value(hint, "v", target, namespace)]
        else:
            namespace[f"_default{index}"] = field.default
            body += [
                f"if {field.name!r} in p:",
                "    v = p[" + repr(field.name) + "]",
                *("    " + line for line in _emit_value(hint, "v", target, namespace)),
                "else:",
                f"    {target} = _default{index}",
            ]
    source = "\n".join(
        [
            "def decode(p):",
            "    if type(p) is not dict or not p.keys() <= _known:",
            "        return _checked(p)",
            "    try:",
            *("        " + line for line in body),
            "    except (KeyError, _Invalid):",
            "        return _checked(p)",
            f"    return _cls({', '.join(arguments)})",
        ]
    )
    exec(compile(source, f"<decoder of {cls.__name__}>", "exec"), namespace)
    decoder: Decoder = namespace["decode"]
    return decoder


def _emit_flattened(name: str, hint: Any, target: str, namespace: dict[str, Any]) -> list[str]:
    _, value_type, optional, _ = _compile_flattened(name, hint)
    type_name = f"_type_{target}"
    namespace[type_name] = value_type
    part_hints = get_type_hints(value_type)
    keys = _flat_keys(name, hint)
    lines = [f"{target}_{i} = p[{key!r}]" for i, (key, _) in enumerate(keys)]
    decoded = []
    for i, (_, part) in enumerate(keys):
        lines += _emit_value(part_hints[part], f"{target}_{i}", f"{target}_{i}", namespace)
        decoded.append(f"{target}_{i}")
    construct = f"{target} = {type_name}({', '.join(decoded)})"
    if not optional:
        return [*lines, construct]
    head = lines[: len(keys)]
    return [
        *head,
        f"if {target}_0 is None:",
        f"    {target} = None",
        "else:",
        *("    " + line for line in [*lines[len(keys) :], construct]),
    ]


def _emit_value(hint: Any, value: str, target: str, namespace: dict[str, Any]) -> list[str]:
    """Lines that check ``value`` against ``hint`` and set ``target`` to its decoded value."""
    args = get_args(hint)
    if (get_origin(hint) is Union or get_origin(hint) is types.UnionType) and len(args) == 2:
        (inner,) = (arg for arg in args if arg is not type(None))
        return [
            f"if {value} is None:",
            f"    {target} = None",
            "else:",
            *("    " + line for line in _emit_value(inner, value, target, namespace)),
        ]
    if hint in (str, int, bool):
        return [f"if type({value}) is not {hint.__name__}:", "    return _checked(p)"] + (
            [] if target == value else [f"{target} = {value}"]
        )
    if get_origin(hint) is tuple and args[0] in (str, int, bool) and args[1] is Ellipsis:
        return [
            f"if type({value}) is not list and type({value}) is not tuple:",
            "    return _checked(p)",
            f"for item in {value}:",
            f"    if type(item) is not {args[0].__name__}:",
            "        return _checked(p)",
            f"{target} = tuple({value})",
        ]
    name = f"_decode_{target}"
    if hint is datetime or hint is date:
        namespace[name] = _decode_datetime if hint is datetime else _decode_date
        return [f"if {value} is None:", "    return _checked(p)", f"{target} = {name}({value})"]
    namespace[name] = _compile(hint)  # raises _Invalid for a bad value: handled above
    return [f"{target} = {name}({value})"]


def _compile_flattened(
    name: str, hint: Any
) -> tuple[str, type[Any], bool, list[tuple[str, Decoder]]]:
    """A ``FLATTENED`` field: its value object's type, whether it may be None, decoders.

    One decoder for each stored key, in the order of the value object's fields.
    """
    optional = type(None) in get_args(hint)
    (value_type,) = (arg for arg in get_args(hint) or (hint,) if arg is not type(None))
    part_hints = get_type_hints(value_type)
    parts = [(key, _compile(part_hints[part])) for key, part in _flat_keys(name, hint)]
    return name, value_type, optional, parts


def _compile(hint: Any) -> Decoder:  # noqa: PLR0911 - one return per kind of field
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        (inner_hint,) = (arg for arg in get_args(hint) if arg is not type(None))
        inner = _compile(inner_hint)
        if type(None) not in get_args(hint):  # pragma: no cover - a Union without None
            return inner
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        item_hint, ellipsis = get_args(hint)
        if ellipsis is not Ellipsis:
            raise TypeError(f"{hint}: only tuple[X, ...] fields are supported")
        return _tuple_decoder(_compile(item_hint))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _not_null(_dataclass_decoder(hint))
    if hint is datetime:
        return _not_null(_decode_datetime)
    if hint is date:
        return _not_null(_decode_date)
    if hint in (str, int, bool):
        return _exactly(hint)
    raise TypeError(f"cannot decode a field of type {hint}")


def _not_null(decoder: Decoder) -> Decoder:
    def decode(value: Any) -> Any:
        if value is None:
            raise _Invalid("", "must not be null")
        return decoder(value)

    return decode


def _exactly(kind: type[Any]) -> Decoder:
    # bool is an int subclass: check the type exactly so True never passes for an int, v.v.
    def decode(value: Any) -> Any:
        if type(value) is kind:
            return value
        if value is None:
            raise _Invalid("", "must not be null")
        raise _Invalid("", f"expected {kind.__name__}, got {value!r}")

    return decode


def _tuple_decoder(item: Decoder) -> Decoder:
    def decode(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            if value is None:
                raise _Invalid("", "must not be null")
            raise _Invalid("", f"expected a list, got {type(value).__name__}")
        try:
            return tuple(map(item, value))
        except _Invalid as error:
            index = next(i for i, entry in enumerate(value) if _fails(item, entry))
            raise _Invalid(f"[{index}]{error.path}", error.problem) from None

    return decode


def _fails(decoder: Decoder, value: Any) -> bool:
    try:
        decoder(value)
    except _Invalid:
        return True
    return False


def _decode_date(value: Any) -> date:
    if not isinstance(value, str):
        raise _Invalid("", f"expected an ISO 8601 string, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Invalid("", f"{value!r} is not an ISO 8601 date") from None


def _decode_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Invalid("", f"expected an ISO 8601 string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid("", f"{value!r} is not an ISO 8601 datetime") from None
    # Aware values are instants: normalise them to UTC. Naive ones are local wall times.
    return moment if moment.tzinfo is None else moment.astimezone(UTC)
