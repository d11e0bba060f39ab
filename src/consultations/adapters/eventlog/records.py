"""What every log backend shares: appends made into hash-chained rows, rows made into envelopes.

A row is the stored form of one event (the columns of the ``events`` table). Building rows
in one place is what keeps payloads, hashes and the chain identical on every backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
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
    earlier_of,
)

Row = dict[str, Any]


def check_appends(appends: Sequence[Append]) -> None:
    """Refuse appends no backend could write, before anything is locked."""
    for item in appends:
        if not item.stream_id:
            raise ValueError("stream_id must not be empty")
        if item.expected_version < 0:
            raise ValueError("expected_version must be >= 0")


def check_versions(appends: Sequence[Append], versions: Mapping[str, int]) -> None:
    """Raise ConcurrencyConflict for the first append whose stream is not at its version.

    ``versions``: the streams' versions before the appends (missing: 0).
    """
    current = dict(versions)
    for item in appends:
        actual = current.get(item.stream_id, 0)
        if actual != item.expected_version:
            raise ConcurrencyConflict(item.stream_id, item.expected_version, actual)
        current[item.stream_id] = actual + len(item.events)


def assumed_versions(appends: Sequence[Append]) -> dict[str, int]:
    """The streams whose version need not be looked up before appending, at that version.

    A stream is at least at the version its first append expects when that is 0, or when
    the writer gave the stream's events up to it (:attr:`Append.earlier`): the log only
    grows. If it has moved further, the next version is taken, and the unique index on
    (stream, version) refuses the append.
    """
    found: dict[str, int] = {}
    proven = earlier_of(appends)
    seen: set[str] = set()
    for item in appends:
        if item.stream_id in seen:
            continue
        seen.add(item.stream_id)
        if item.expected_version == 0 or item.stream_id in proven:
            found[item.stream_id] = item.expected_version
    return found


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

    Each event gets ``metadata``, or its append's own. ``versions`` are the streams' current
    versions (missing: 0); a stream not at its expected version raises ConcurrencyConflict.
    ``recorded_at`` is ``now``, but never before the head's.
    """
    position, prev_hash, head_recorded_at = head
    recorded_at = now
    if head_recorded_at is not None and recorded_at < head_recorded_at:
        recorded_at = head_recorded_at  # keep recorded_at monotonic along positions
    recorded = instant(recorded_at)
    # One command's events share one metadata mapping: serialise it once per append.
    shared_json = canonical_json(metadata)
    shared = json.loads(shared_json)
    check_versions(appends, versions)
    rows: list[Row] = []
    envelopes: list[RecordedEvent] = []
    for item in appends:
        metadata_json, stored_metadata = shared_json, shared
        if item.metadata is not None:
            metadata_json = canonical_json(item.metadata)
            stored_metadata = json.loads(metadata_json)
        actual = item.expected_version
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
    return rows, envelopes


def recorded(row: Mapping[Any, Any], mapper: EventMapper) -> RecordedEvent:
    """The envelope of a stored row, its payload upcast and decoded."""
    return RecordedEvent(
        row["position"],
        row["stream_id"],
        row["stream_version"],
        mapper.from_stored(row["event_type"], row["schema_version"], row["payload"]),
        row["metadata"],
        row["occurred_at"],
        row["recorded_at"],
        row["hash"],
    )


ENVELOPE_COLUMNS = (
    "position", "stream_id", "stream_version", "event_type", "schema_version", "payload",
    "metadata", "occurred_at", "recorded_at", "hash",
)  # fmt: skip
"""The columns :class:`EnvelopeRows` takes, in this order (``prev_hash`` is not needed)."""


class EnvelopeRows:
    """Rows of :data:`ENVELOPE_COLUMNS` made into envelopes, for a long read of the log.

    Payloads, metadata and times may come as the text stored (SQLite); each distinct text of
    metadata and times is parsed once, since one command's events share their metadata and
    their time. Values a driver already parsed (PostgreSQL) pass through.
    """

    def __init__(self, mapper: EventMapper) -> None:
        self.mapper = mapper
        self._metadata: dict[str, Mapping[str, Any]] = {}
        self._instants: dict[str, datetime] = {}

    def __call__(self, rows: Iterable[Sequence[Any]]) -> list[RecordedEvent]:
        """The envelopes of ``rows``, in order."""
        decode, metadata, instant = self.mapper.from_stored, self._metadata_of, self._instant
        loads = json.loads
        envelopes = []
        for row in rows:
            position, stream_id, version, event_type, schema_version, payload = row[:6]
            if type(payload) is str:
                payload = loads(payload)
            event = decode(event_type, schema_version, payload)
            stored_metadata, occurred_at, recorded_at, row_hash = row[6:]
            envelopes.append(
                RecordedEvent(
                    position,
                    stream_id,
                    version,
                    event,
                    metadata(stored_metadata),
                    instant(occurred_at),
                    instant(recorded_at),
                    row_hash,
                )
            )
        return envelopes

    def _metadata_of(self, value: str | Mapping[str, Any]) -> Mapping[str, Any]:
        if not isinstance(value, str):
            return value
        found = self._metadata.get(value)
        if found is None:
            if len(self._metadata) >= _PARSED_KEPT:
                self._metadata.clear()
            found = self._metadata[value] = json.loads(value)
        return found

    def _instant(self, value: str | datetime) -> datetime:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        found = self._instants.get(value)
        if found is None:
            if len(self._instants) >= _PARSED_KEPT:
                self._instants.clear()
            # SQLite keeps UTC as naive ISO 8601 text (see orm.UTCDateTime).
            found = self._instants[value] = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return found


_PARSED_KEPT = 1000  # distinct texts remembered by EnvelopeRows before it starts afresh


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
