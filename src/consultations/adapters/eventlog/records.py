"""What every log backend shares: appends made into hash-chained rows, rows made into envelopes.

A row is the stored form of one event (the columns of the ``events`` table). Building rows
in one place is what keeps payloads, hashes and the chain identical on every backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from consultations.adapters.eventlog.hash_chain import (
    ChainReport,
    canonical_json,
    chained_hash,
    instant,
    verify_chain,
)
from consultations.adapters.eventlog.mapper import EventMapper
from consultations.adapters.eventlog.port import (
    Append,
    ConcurrencyConflict,
    IdempotencyKeyReused,
    RecordedEvent,
)

Row = dict[str, Any]


def check_appends(appends: Sequence[Append]) -> None:
    """Refuse appends no backend could write, before anything is locked."""
    for item in appends:
        if not item.stream_id:
            raise ValueError("stream_id must not be empty")
        if item.expected_version < 0:
            raise ValueError("expected_version must be >= 0")


def repeated_result(
    key: str, first: int, last: int, recorded: str | None, fingerprint: str | None
) -> list[int]:
    """The positions a repeated key returns, if it comes with the command it was recorded for.

    ``recorded`` and ``fingerprint`` identify the first and the repeated command; a key
    recorded before fingerprints were kept, or repeated without one, matches any command.
    """
    if recorded is not None and fingerprint is not None and recorded != fingerprint:
        raise IdempotencyKeyReused(key)
    return list(range(first, last + 1))


def chained_rows(  # noqa: PLR0917
    mapper: EventMapper,
    appends: Sequence[Append],
    metadata: Mapping[str, Any],
    versions: Mapping[str, int],
    head: tuple[int, str, datetime | None],
    now: datetime,
) -> tuple[list[Row], list[RecordedEvent]]:
    """The rows to store after ``head`` (position, hash, recorded_at), and their envelopes.

    ``versions`` are the streams' current versions (missing: 0); a stream not at its expected
    version raises ConcurrencyConflict. ``recorded_at`` is ``now``, but never before the head's.
    """
    position, prev_hash, head_recorded_at = head
    recorded_at = now
    if head_recorded_at is not None and recorded_at < head_recorded_at:
        recorded_at = head_recorded_at  # keep recorded_at monotonic along positions
    recorded = instant(recorded_at)
    # One command's events share one metadata mapping: serialise it once per append.
    metadata_json = canonical_json(metadata)
    stored_metadata = json.loads(metadata_json)
    current = dict(versions)
    rows: list[Row] = []
    envelopes: list[RecordedEvent] = []
    for item in appends:
        actual = current.get(item.stream_id, 0)
        if actual != item.expected_version:
            raise ConcurrencyConflict(item.stream_id, item.expected_version, actual)
        for event in item.events:
            position += 1
            actual += 1
            event_type, payload, schema_version = mapper.to_stored(event)
            # What is hashed must be exactly what will be read back (tuples become
            # lists, keys sorted, etc.), so the stored value is parsed from the hashed text.
            payload_json = canonical_json(payload)
            business_time = mapper.occurred_at(event)
            occurred_at = business_time or recorded_at
            row_hash = chained_hash(
                position,
                item.stream_id,
                actual,
                event_type,
                schema_version,
                payload_json,
                metadata_json,
                recorded if business_time is None else instant(occurred_at),
                recorded,
                prev_hash,
            )
            rows.append(
                {
                    "position": position,
                    "stream_id": item.stream_id,
                    "stream_version": actual,
                    "event_type": event_type,
                    "schema_version": schema_version,
                    "payload": json.loads(payload_json),
                    "metadata": stored_metadata,
                    "occurred_at": occurred_at,
                    "recorded_at": recorded_at,
                    "prev_hash": prev_hash,
                    "hash": row_hash,
                }
            )
            envelopes.append(
                RecordedEvent(
                    position,
                    item.stream_id,
                    actual,
                    event,
                    stored_metadata,
                    occurred_at,
                    recorded_at,
                    row_hash,
                )
            )
            prev_hash = row_hash
        current[item.stream_id] = actual
    return rows, envelopes


def recorded(
    row: Mapping[Any, Any], mapper: EventMapper, metadata: Mapping[str, Any] | None = None
) -> RecordedEvent:
    """The envelope of a stored row, its payload upcast and decoded.

    ``metadata``: the row's metadata when the caller parsed it (see :class:`MetadataText`).
    """
    return RecordedEvent(
        row["position"],
        row["stream_id"],
        row["stream_version"],
        mapper.from_stored(row["event_type"], row["schema_version"], row["payload"]),
        row["metadata"] if metadata is None else metadata,
        row["occurred_at"],
        row["recorded_at"],
        row["hash"],
    )


class MetadataText:
    """Stored metadata text parsed once for a run of rows that share it.

    One command's events share one metadata document, so a long read parses it once per
    command, not per event. A driver that already returns parsed JSON passes through.
    """

    def __init__(self) -> None:
        self._text: str | None = None
        self._parsed: Mapping[str, Any] = {}

    def __call__(self, value: str | Mapping[str, Any]) -> Mapping[str, Any]:
        """The metadata of one row."""
        if not isinstance(value, str):
            return value
        if value != self._text:
            self._text, self._parsed = value, json.loads(value)
        return self._parsed


def verify_rows(
    rows: Iterable[Mapping[Any, Any]], head: Callable[[], tuple[int, str]]
) -> ChainReport:
    """Recompute the chain over stored rows in position order, then check the head after it.

    The head is asked for once the rows are read: appends made meanwhile only move it on.
    """
    report = verify_chain(rows)
    if not report.ok:
        return report
    position, last_hash = head()
    if position != report.last_position or last_hash != report.last_hash:
        return ChainReport(
            report.checked,
            report.last_position,
            report.last_hash,
            report.last_position + 1,
            f"the log head says position {position}, the log ends at {report.last_position}",
        )
    return report
