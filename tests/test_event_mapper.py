import dataclasses
import json
import types
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consultations.adapters.eventlog import EventMapper, UpcasterRegistry
from consultations.adapters.eventlog.hash_chain import canonical_json
from consultations.adapters.eventlog.mapper import (
    EVENT_TYPES,
    UnknownEventType,
    _compile_dataclass,
    _dataclass_decoder,
)
from consultations.adapters.eventlog.mapper import decode as from_stored
from consultations.domain import ALL_EVENTS, DomainEvent
from consultations.domain import events as events_module
from consultations.domain.events import (
    ActionItem,
    AreaRegistered,
    MeetingHeld,
    MeetingPlanned,
    PartyClosureAdded,
    PartyRegistered,
    TrackAmended,
)
from consultations.domain.wall_time import WallTime

to_stored = EventMapper(UpcasterRegistry()).to_stored


def strategy_for(hint: Any, name: str) -> st.SearchStrategy[Any]:
    """Values for a field: aware UTC datetimes for ``*_utc``, naive wall times otherwise."""
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        (inner,) = (arg for arg in get_args(hint) if arg is not type(None))
        return st.none() | strategy_for(inner, name)
    if origin is tuple:
        return st.lists(strategy_for(get_args(hint)[0], name), max_size=3).map(tuple)
    if hint is datetime:
        if name.endswith("_utc"):
            return st.datetimes(timezones=st.just(UTC))
        return st.datetimes()
    if dataclasses.is_dataclass(hint):
        return builds(hint)
    return st.from_type(hint)


def builds(cls: Any) -> st.SearchStrategy[Any]:
    hints = get_type_hints(cls)
    return st.builds(cls, **{name: strategy_for(hint, name) for name, hint in hints.items()})


ANY_EVENT = st.one_of([builds(cls) for cls in ALL_EVENTS.values()])


@settings(max_examples=500)
@given(event=ANY_EVENT)
def test_round_trip(event: DomainEvent) -> None:
    event_type, payload, version = to_stored(event)
    assert event_type == type(event).__name__
    assert version == 1
    stored = json.loads(json.dumps(payload))  # JSON-native, survives a real round trip
    assert stored == payload
    assert from_stored(event_type, stored) == event


@pytest.mark.parametrize("cls", list(ALL_EVENTS.values()), ids=list(ALL_EVENTS))
@settings(max_examples=25)
@given(data=st.data())
def test_round_trip_every_event_class(cls: Any, data: st.DataObject) -> None:
    event = data.draw(builds(cls))
    assert from_stored(*to_stored(event)[:2]) == event


def test_registry_holds_every_event_class() -> None:
    defined = {
        name
        for name, value in vars(events_module).items()
        if isinstance(value, type)
        and dataclasses.is_dataclass(value)
        and value.__name__ == name  # skip aliases such as AreaEvent
        and value.__module__ == events_module.__name__  # skip value objects imported
        and value is not ActionItem
    }
    assert set(EVENT_TYPES) == defined
    assert set(EVENT_TYPES.values()) == set(get_args(DomainEvent))
    assert all(EVENT_TYPES[name].__name__ == name for name in EVENT_TYPES)


def test_stored_form_of_a_meeting() -> None:
    event = MeetingPlanned(
        meeting_id="m1",
        track_id=None,
        title="Workshop",
        kind="workshop",
        start=WallTime(datetime(2026, 9, 15, 10, 0), None, datetime(2026, 9, 15, 6, 0, tzinfo=UTC)),
        end=WallTime(datetime(2026, 9, 15, 13, 0), None, datetime(2026, 9, 15, 9, 0, tzinfo=UTC)),
        tz="Asia/Baku",
        venue=None,
        host="AZ-MFA",
        participants=("TM-MFA", "AZ-MFA"),
        agenda=(),
        classification="internal",
    )
    assert to_stored(event) == (
        "MeetingPlanned",
        {
            "meeting_id": "m1",
            "track_id": None,
            "title": "Workshop",
            "kind": "workshop",
            "start": "2026-09-15T10:00:00",
            "end": "2026-09-15T13:00:00",
            "tz": "Asia/Baku",
            "start_fold": None,
            "end_fold": None,
            "start_utc": "2026-09-15T06:00:00Z",
            "end_utc": "2026-09-15T09:00:00Z",
            "venue": None,
            "host": "AZ-MFA",
            "participants": ["TM-MFA", "AZ-MFA"],
            "agenda": [],
            "classification": "internal",
            "reminders": None,
        },
        1,
    )
    # Payloads written before per-meeting reminders existed still decode.
    _, payload, _ = to_stored(event)
    del payload["reminders"]
    assert from_stored("MeetingPlanned", payload) == event


def test_a_party_without_an_email_is_stored_exactly_as_before_the_field_existed() -> None:
    event = PartyRegistered("TM-MFA", "MFA of Turkmenistan", "Asia/Ashgabat", ("Protocol",))
    stored = to_stored(event)
    assert stored == (
        "PartyRegistered",
        {
            "party_id": "TM-MFA",
            "name": "MFA of Turkmenistan",
            "tz": "Asia/Ashgabat",
            "departments": ["Protocol"],
        },
        1,
    )
    # The canonical text that is hashed into the chain: the one such events always had.
    assert canonical_json(stored[1]) == (
        '{"departments":["Protocol"],"name":"MFA of Turkmenistan","party_id":"TM-MFA",'
        '"tz":"Asia/Ashgabat"}'
    )
    assert from_stored("PartyRegistered", stored[1]) == event
    assert from_stored("PartyRegistered", stored[1] | {"email": None}) == event


def test_a_party_with_an_email_stores_it() -> None:
    event = PartyRegistered("AZ-MFA", "MFA", "Asia/Baku", (), email="protocol@mfa.example")
    _, payload, version = to_stored(event)
    assert payload["email"] == "protocol@mfa.example"
    assert version == 1  # an added optional field needs no upcaster
    assert from_stored("PartyRegistered", payload) == event
    with pytest.raises(ValueError, match=r"PartyRegistered\.email: expected str"):
        from_stored("PartyRegistered", payload | {"email": 7})


def test_a_party_with_a_country_stores_it_and_closures_are_dates() -> None:
    event = PartyRegistered("AZ-MFA", "MFA", "Asia/Baku", (), country="AZ")
    _, payload, version = to_stored(event)
    assert (payload["country"], "email" in payload, version) == ("AZ", False, 1)
    assert from_stored("PartyRegistered", payload) == event
    closure = PartyClosureAdded("AZ-MFA", date(2027, 5, 3), date(2027, 5, 7), "move")
    assert to_stored(closure)[:2] == (
        "PartyClosureAdded",
        {"party_id": "AZ-MFA", "first": "2027-05-03", "last": "2027-05-07", "reason": "move"},
    )


def test_nested_dataclasses_and_dates() -> None:
    event = MeetingHeld(
        meeting_id="m1",
        start=WallTime(datetime(2026, 9, 15, 10, 0), None, datetime(2026, 9, 15, 6, 0, tzinfo=UTC)),
        end=None,
        attendance=(),
        outcomes=("Statement",),
        action_items=(ActionItem("m1/1", "Draft", "TM-MFA", date(2026, 10, 1)),),
    )
    _, payload, _ = to_stored(event)
    assert payload["action_items"] == [
        {"item_id": "m1/1", "text": "Draft", "owner": "TM-MFA", "due": "2026-10-01"}
    ]
    assert from_stored("MeetingHeld", payload) == event


def test_a_wall_time_is_stored_as_fields_of_the_event() -> None:
    start = WallTime(datetime(2026, 10, 25, 2, 30), 1, datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    event = MeetingHeld("m1", start, None, (), (), ())
    _, payload, _ = to_stored(event)
    assert {key: payload[key] for key in payload if key.startswith(("start", "end"))} == {
        "start": "2026-10-25T02:30:00",
        "start_fold": 1,
        "start_utc": "2026-10-25T01:30:00Z",
        "end": None,  # no end: every key of it is null
        "end_fold": None,
        "end_utc": None,
    }
    assert from_stored("MeetingHeld", payload) == event
    with pytest.raises(ValueError, match=r"MeetingHeld\.start_utc: expected an ISO 8601"):
        from_stored("MeetingHeld", payload | {"start_utc": 7})
    with pytest.raises(ValueError, match=r"MeetingHeld: missing field 'end_fold'"):
        from_stored("MeetingHeld", {k: v for k, v in payload.items() if k != "end_fold"})
    with pytest.raises(ValueError, match=r"MeetingHeld: unexpected fields \['start_local'\]"):
        from_stored("MeetingHeld", payload | {"start_local": "2026-10-25T02:30:00"})


def test_aware_datetimes_are_stored_in_utc_and_accept_offsets() -> None:
    baku = timezone(timedelta(hours=4))
    start = WallTime(datetime(2026, 9, 15, 10), None, datetime(2026, 9, 15, 10, 0, tzinfo=baku))
    event = MeetingHeld("m1", start, None, (), (), ())
    _, payload, _ = to_stored(event)
    assert payload["start_utc"] == "2026-09-15T06:00:00Z"
    payload["start_utc"] = "2026-09-15T06:00:00+00:00"
    decoded = from_stored("MeetingHeld", payload)
    assert isinstance(decoded, MeetingHeld)
    assert decoded.start.utc.tzinfo is UTC
    assert decoded.start.local.tzinfo is None


def test_missing_optional_amendment_fields_default_to_unchanged() -> None:
    assert from_stored("TrackAmended", {"track_id": "t", "title": "New"}) == TrackAmended(
        "t", title="New"
    )


def test_unknown_event_type() -> None:
    with pytest.raises(UnknownEventType) as info:
        from_stored("MeetingTeleported", {})
    assert isinstance(info.value, KeyError)
    assert str(info.value) == "unknown event type 'MeetingTeleported'"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"area_id": "energy"}, "missing field 'name'"),
        ({"area_id": "energy", "name": "Energy", "colour": "red"}, "unexpected fields"),
        ({"area_id": "energy", "name": None}, "AreaRegistered.name: must not be null"),
        ({"area_id": 7, "name": "Energy"}, "AreaRegistered.area_id: expected str"),
    ],
)
def test_payload_that_does_not_fit(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_stored("AreaRegistered", payload)


def test_bool_and_int_are_not_confused() -> None:
    base = to_stored(TrackAmended("t", required=2))[1]
    with pytest.raises(ValueError, match="required"):
        from_stored("TrackAmended", base | {"required": True})
    with pytest.raises(ValueError, match="not an ISO 8601 date"):
        from_stored("TrackAmended", base | {"start": "next week"})


def test_areas_round_trip_exactly() -> None:
    assert to_stored(AreaRegistered("energy", "Energy")) == (
        "AreaRegistered",
        {"area_id": "energy", "name": "Energy"},
        1,
    )


NEAR_MISSES = (None, True, 0, 1.5, "x", "2026-03-22", "2026-03-22T10:00:00Z", [], ["x"], [1], {})


def decoded_or_error(decoder: Any, payload: Any) -> Any:
    try:
        return decoder(payload)
    except ValueError as error:
        return (type(error).__name__, getattr(error, "path", None), str(error))


@settings(max_examples=200)
@given(event=ANY_EVENT)
def test_the_fast_decoder_agrees_with_the_checked_one(event: DomainEvent) -> None:
    """The generated fast path decodes what the checked decoder decodes, and fails alike.

    Every key of the stored form is replaced in turn by each near miss, dropped, and joined
    by an unknown key: both decoders must give the same event or the same error.
    """
    cls = type(event)
    fast, checked = _dataclass_decoder(cls), _compile_dataclass(cls)
    payload = json.loads(json.dumps(to_stored(event)[1]))
    assert fast(payload) == event
    variants = [payload | {"unknown": 1}, [payload]]
    for key in payload:
        variants.append({k: v for k, v in payload.items() if k != key})
        variants += [payload | {key: value} for value in NEAR_MISSES]
    for variant in variants:
        assert decoded_or_error(fast, variant) == decoded_or_error(checked, variant), variant
