"""The SHA-256 hash chain over the event log: canonical JSON of each row and its predecessor."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Serialise ``value`` the one way the chain hashes it: sorted keys, no spaces, UTF-8."""
    return _CANONICAL.encode(value)


# What json.dumps(value, **these options) uses, made once instead of on every call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def instant(value: datetime) -> str:
    """A timestamp as the chain hashes it: UTC, ISO 8601, microseconds."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _string(value: str) -> str:
    if type(value) is not str:
        return canonical_json(value)
    return _encode_string(value)


# What ``json.dumps(..., ensure_ascii=False)`` writes for a string.
_encode_string = json.encoder.encode_basestring


def chained_hash(  # noqa: PLR0917
    position: int,
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    payload_json: str,
    metadata_json: str,
    occurred_at: str,
    recorded_at: str,
    prev_hash: str,
) -> str:
    """The same hash as :func:`row_hash`, from payload and metadata already in canonical JSON.

    ``occurred_at`` and ``recorded_at`` are given as :func:`instant` strings. The document is
    assembled in sorted key order, so the text is exactly what ``canonical_json`` would make
    of the whole row, without serialising the payload a second time.
    """
    document = "".join(
        (
            '{"event_type":', _string(event_type),
            ',"metadata":', metadata_json,
            ',"occurred_at":', _string(occurred_at),
            ',"payload":', payload_json,
            ',"position":', _integer(position),
            ',"prev_hash":', _string(prev_hash),
            ',"recorded_at":', _string(recorded_at),
            ',"schema_version":', _integer(schema_version),
            ',"stream_id":', _string(stream_id),
            ',"stream_version":', _integer(stream_version),
            "}",
        )
    )  # fmt: skip
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _integer(value: int) -> str:
    if type(value) is not int:  # bool, or an int subclass: let the encoder decide
        return canonical_json(value)
    return int.__repr__(value)


def row_hash(row: Mapping[Any, Any], prev_hash: str) -> str:
    """Hash one event row (as stored) chained to ``prev_hash``."""
    document = {
        "position": row["position"],
        "stream_id": row["stream_id"],
        "stream_version": row["stream_version"],
        "event_type": row["event_type"],
        "schema_version": row["schema_version"],
        "payload": row["payload"],
        "metadata": row["metadata"],
        "occurred_at": instant(row["occurred_at"]),
        "recorded_at": instant(row["recorded_at"]),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Outcome of a verification: how many rows were checked and the first bad one, if any."""

    checked: int
    last_position: int
    last_hash: str
    first_bad_position: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when every row checked out."""
        return self.first_bad_position is None


def verify_chain(rows: Iterable[Mapping[Any, Any]]) -> ChainReport:
    """Recompute the chain over rows in position order; stop at the first inconsistency."""
    expected_position, prev_hash, checked = 1, GENESIS_HASH, 0
    for row in rows:
        position = row["position"]
        problem = None
        if position != expected_position:
            problem = f"position {expected_position} is missing"
            position = expected_position
        elif row["prev_hash"] != prev_hash:
            problem = "prev_hash does not match the previous row's hash"
        elif row_hash(row, prev_hash) != row["hash"]:
            problem = "content does not match its hash"
        if problem is not None:
            return ChainReport(checked, expected_position - 1, prev_hash, position, problem)
        prev_hash, expected_position, checked = row["hash"], expected_position + 1, checked + 1
    return ChainReport(checked, expected_position - 1, prev_hash)
