"""Events and commands are immutable, hashable and use only storable field types."""

import dataclasses
import types
from datetime import date, datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest

from consultations.domain import ALL_EVENTS
from consultations.domain.commands import AmendTrack, DomainCommand, PlanMeeting

SCALARS = {str, int, bool, date, datetime}
COMMANDS = {cls.__name__: cls for cls in get_args(DomainCommand)}


def check_hint(hint: Any, where: str) -> None:
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        for arg in get_args(hint):
            if arg is not type(None):
                check_hint(arg, where)
    elif origin is tuple:
        item, ellipsis = get_args(hint)
        assert ellipsis is Ellipsis, where
        check_hint(item, where)
    elif dataclasses.is_dataclass(hint):
        check_class(hint)
    else:
        assert hint in SCALARS, f"{where}: {hint!r} is not a storable type"


def check_class(cls: Any) -> None:
    params = cls.__dataclass_params__
    assert params.frozen, f"{cls.__name__} must be frozen"
    assert "__slots__" in vars(cls), f"{cls.__name__} must use slots"
    for name, hint in get_type_hints(cls).items():
        check_hint(hint, f"{cls.__name__}.{name}")


@pytest.mark.parametrize(
    "cls", [*ALL_EVENTS.values(), *COMMANDS.values()], ids=lambda c: c.__name__
)
def test_shape(cls: Any) -> None:
    check_class(cls)


def test_commands_are_hashable() -> None:
    assert hash(
        PlanMeeting(meeting_id="m1", title="t", start=datetime(2026, 1, 1, 10), agenda=("a",))
    )
    assert len({AmendTrack(track_id="t", title="x"), AmendTrack(track_id="t", title="x")}) == 1
