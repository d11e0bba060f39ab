"""Appends serialise each payload once: the stored text and the hash chain must not change.

The old computation (kept here as the reference) parsed ``canonical_json`` of payload and
metadata back into the stored values and hashed the whole row with ``row_hash``. Logs
written either way must verify with the other.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection, Engine

from consultations.adapters.event_store import (
    Append,
    ConcurrencyConflict,
    NewEvent,
    SqlEventStore,
    StoredEvent,
)
from consultations.adapters.hash_chain import (
    GENESIS_HASH,
    canonical_json,
    chained_hash,
    instant,
    row_hash,
)
from consultations.domain.events import AreaRegistered

texts = st.text(max_size=20)  # any code point but lone surrogates (not UTF-8 encodable)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(texts, inner, max_size=4)
    ),
    max_leaves=20,
)
payloads = st.dictionaries(texts, json_values, max_size=6)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
) | st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([timezone(timedelta(hours=5)), timezone(timedelta(hours=-3))]),
)


def old_native(value: Mapping[str, Any]) -> Any:
    return json.loads(canonical_json(value))


@given(
    position=st.integers(1, 2**62),
    stream_id=texts,
    stream_version=st.integers(1, 2**31),
    event_type=texts,
    schema_version=st.integers(1, 50),
    payload=payloads,
    metadata=payloads,
    occurred_at=moments,
    recorded_at=moments,
    prev_hash=st.sampled_from([GENESIS_HASH, "ab" * 32]) | texts,
)
def test_the_chained_hash_is_the_row_hash_of_the_stored_row(  # noqa: PLR0917
    position: int,
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    payload: dict[str, Any],
    metadata: dict[str, Any],
    occurred_at: datetime,
    recorded_at: datetime,
    prev_hash: str,
) -> None:
    row = {
        "position": position,
        "stream_id": stream_id,
        "stream_version": stream_version,
        "event_type": event_type,
        "schema_version": schema_version,
        "payload": old_native(payload),
        "metadata": old_native(metadata),
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
    }

    fast = chained_hash(
        position,
        stream_id,
        stream_version,
        event_type,
        schema_version,
        canonical_json(payload),
        canonical_json(metadata),
        instant(occurred_at),
        instant(recorded_at),
        prev_hash,
    )

    assert fast == row_hash(row, prev_hash)


_streams = itertools.count()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.tuples(st.lists(payloads, min_size=1, max_size=3), payloads, st.booleans()),
        min_size=1,
        max_size=3,
    )
)
def test_stored_text_and_hashes_are_those_of_the_old_computation(
    store: SqlEventStore,
    migrated_engine: Engine,
    batches: list[tuple[list[dict[str, Any]], dict[str, Any], bool]],
) -> None:
    for payload_list, metadata, business_time in batches:
        occurred = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC) if business_time else None
        positions = store.append(
            f"s-{next(_streams)}",
            0,
            [NewEvent("Any", p, 1, metadata, occurred) for p in payload_list],
        )
        query = sa.text(
            "SELECT position, stream_id, stream_version, event_type, schema_version, "
            "CAST(payload AS TEXT) AS payload_text, CAST(metadata AS TEXT) AS metadata_text, "
            "occurred_at, recorded_at, prev_hash, hash FROM events "
            "WHERE position BETWEEN :first AND :last ORDER BY position"
        )
        with migrated_engine.connect() as connection:
            rows = connection.execute(query, {"first": positions[0], "last": positions[-1]}).all()
        stored = {event.position: event for event in store.read_all(positions[0] - 1)}
        for row, payload in zip(rows, payload_list, strict=True):
            # The text SQLAlchemy writes for the values the old code stored.
            assert row.payload_text == json.dumps(old_native(payload))
            assert row.metadata_text == json.dumps(old_native(metadata))
            event = stored[row.position]
            old_row = {
                "position": row.position,
                "stream_id": row.stream_id,
                "stream_version": row.stream_version,
                "event_type": row.event_type,
                "schema_version": row.schema_version,
                "payload": old_native(payload),
                "metadata": old_native(metadata),
                "occurred_at": event.occurred_at,
                "recorded_at": event.recorded_at,
            }
            assert row.hash == row_hash(old_row, row.prev_hash)
    assert store.verify().ok


def test_listeners_get_the_domain_event_the_appender_supplied(migrated_engine: Engine) -> None:
    seen: list[StoredEvent] = []

    def listener(_connection: Connection, stored: Sequence[StoredEvent]) -> None:
        seen.extend(stored)

    store = SqlEventStore(migrated_engine, listeners=[listener])
    registered = AreaRegistered("energy", "Energy")
    store.append(
        "area-energy",
        0,
        [
            NewEvent("AreaRegistered", {"area_id": "energy", "name": "Energy"}, event=registered),
            NewEvent("Renamed", {"name": "Energy"}),
        ],
    )

    assert [event.event for event in seen] == [registered, None]
    assert seen[0].payload == {"area_id": "energy", "name": "Energy"}
    (read_back, _) = store.read_stream("area-energy")
    assert read_back.event is None  # read from the log: only the payload


def test_on_an_empty_log_every_stream_is_at_version_zero(store: SqlEventStore) -> None:
    with pytest.raises(ConcurrencyConflict) as raised:
        store.append_many(
            [
                Append("s-a", 0, [NewEvent("Any", {})]),
                Append("s-b", 1, [NewEvent("Any", {})]),
            ]
        )

    assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == ("s-b", 1, 0)
    assert store.head()[0] == 0
    assert store.append_many([Append("s-a", 0, [NewEvent("Any", {})])]) == [1]
