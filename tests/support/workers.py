"""Functions run in separate OS processes by the concurrency tests (importable under spawn)."""

from __future__ import annotations

from multiprocessing.synchronize import Barrier
from typing import Any

from consultations.adapters.database import create_engine
from consultations.adapters.eventlog import ConcurrencyConflict, SqlEventLog
from tests.support.opaque import OpaqueMapper, opaque


def _store(url: str) -> SqlEventLog:
    return SqlEventLog(create_engine(url), mapper=OpaqueMapper())


def race_same_version(url: str, worker: int, rounds: int, barrier: Barrier, results: Any) -> None:
    """Each round, every worker appends at the same expected version: one must win."""
    store = _store(url)
    for round_number in range(rounds):
        barrier.wait()
        event = opaque("Tick", {"worker": worker, "round": round_number})
        try:
            positions = store.append("track-shared", round_number, [event])
            results.put(("won", worker, round_number, positions))
        except ConcurrencyConflict as conflict:
            results.put(("conflict", worker, round_number, [conflict.actual]))
    store.engine.dispose()


def append_with_retries(url: str, worker: int, count: int, barrier: Barrier, results: Any) -> None:
    """Append ``count`` events to an own stream and ``count`` to a shared one (read, retry)."""
    store = _store(url)
    barrier.wait()
    for number in range(count):
        own = store.append(f"meeting-{worker}", number, [opaque("Own", {"w": worker, "n": number})])
        results.put(("own", worker, number, own))
        while True:
            version = store.stream_version("track-shared")
            try:
                shared = store.append(
                    "track-shared", version, [opaque("Shared", {"w": worker, "n": number})]
                )
            except ConcurrencyConflict:
                results.put(("conflict", worker, number, []))
                continue
            results.put(("shared", worker, number, shared))
            break
    store.engine.dispose()


def append_same_key(url: str, worker: int, barrier: Barrier, results: Any) -> None:
    """Every worker sends the same idempotent command at once."""
    store = _store(url)
    barrier.wait()
    positions = store.append(
        "meeting-once", 0, [opaque("Planned", {"by": worker})], idempotency_key="plan-once"
    )
    results.put(("done", worker, 0, positions))
    store.engine.dispose()
