"""Appends serialise each payload once: the stored text and the hash chain must not change.

The old computation (kept here as the reference) parsed ``canonical_json`` of payload and
metadata back into the stored values and hashed the whole row with ``row_hash``. Logs
written either way must verify with the other.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from consultations.adapters.eventlog import SqlEventLog
from consultations.adapters.eventlog.hash_chain import (
    GENESIS_HASH,
    canonical_json,
    chained_hash,
    instant,
    row_hash,
)
from consultations.adapters.projections import Projector
from consultations.adapters.read_models import ReadModels
from consultations.service_layer import services
from consultations.service_layer.services import CommandService, Provenance
from tests.support.opaque import OpaqueMapper, opaque
from tests.support.reference_session import play_reference_session

HEAD_WRITTEN_BEFORE = (87, "dc96436f335312d2b2ed3c2711733066d205c518f8bdab2978217904c3140ef9")
"""The head after ``test_a_plan_and_commands_chain_to_the_same_head``'s writes, as the log
wrote them before it became the ``adapters.eventlog`` package."""

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
    migrated_engine: Engine,
    batches: list[tuple[list[dict[str, Any]], dict[str, Any], bool]],
) -> None:
    store = SqlEventLog(migrated_engine, mapper=OpaqueMapper())
    for payload_list, metadata, business_time in batches:
        occurred = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC) if business_time else None
        positions = store.append(
            f"s-{next(_streams)}",
            0,
            [opaque("Any", p, occurred_at=occurred) for p in payload_list],
            metadata=metadata,
        )
        query = sa.text(
            "SELECT position, stream_id, stream_version, event_type, schema_version, "
            "CAST(payload AS TEXT) AS payload_text, CAST(metadata AS TEXT) AS metadata_text, "
            "occurred_at, recorded_at, prev_hash, hash FROM events "
            "WHERE position BETWEEN :first AND :last ORDER BY position"
        )
        with migrated_engine.connect() as connection:
            rows = connection.execute(query, {"first": positions[0], "last": positions[-1]}).all()
        stored = {
            event.position: event for batch in store.read(positions[0] - 1) for event in batch
        }
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


def test_a_plan_and_commands_chain_to_the_same_head(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = itertools.count()
    monkeypatch.setattr(services.uuid, "uuid4", lambda: uuid.UUID(int=next(ids)))
    ticks = itertools.count()
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    log = SqlEventLog(
        migrated_engine,
        clock=lambda: now + timedelta(seconds=next(ticks)),
        listeners=[Projector()],
    )
    service = CommandService(log, ReadModels(migrated_engine), clock=lambda: now)
    provenance = Provenance(actor="tester", source="test")
    play_reference_session(service, provenance)

    assert log.head() == HEAD_WRITTEN_BEFORE
    assert log.verify().ok
