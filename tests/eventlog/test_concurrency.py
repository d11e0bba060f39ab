"""Several OS processes appending at once: nothing lost, nothing twice, no gaps, no silent clash."""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from consultations.adapters.eventlog import RecordedEvent, SqlEventLog
from tests.support import workers
from tests.support.opaque import Opaque, OpaqueMapper

PROCESSES = 4
pytestmark = pytest.mark.slow


def run_workers(target: Callable[..., None], url: str, *args: Any) -> list[tuple[Any, ...]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(url, worker, *args, barrier, results))
        for worker in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    collected: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + 180
    # Drain while the workers run: a full queue pipe would otherwise block their exit.
    while time.monotonic() < deadline and (
        any(process.is_alive() for process in processes) or not results.empty()
    ):
        with contextlib.suppress(queue.Empty):
            collected.append(results.get(timeout=0.1))
    for process in processes:
        process.join(timeout=10)
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    return collected


@pytest.fixture
def store(migrated_engine: Engine) -> SqlEventLog:
    """The log the workers write to, reading their events back as they wrote them."""
    return SqlEventLog(migrated_engine, mapper=OpaqueMapper())


def opaque(event: RecordedEvent) -> Opaque:
    assert isinstance(event.event, Opaque)
    return event.event


def assert_log_is_whole(store: SqlEventLog, expected_events: int) -> list[Any]:
    log = [event for batch in store.read(batch_size=50) for event in batch]
    assert [event.position for event in log] == list(range(1, expected_events + 1))
    report = store.verify()
    assert report.ok, report
    assert report.checked == expected_events
    return log


def test_racing_on_one_stream_exactly_one_wins_each_round(
    store: SqlEventLog, database_url: str
) -> None:
    rounds = 12
    results = run_workers(workers.race_same_version, database_url, rounds)
    outcomes = Counter((kind, round_number) for kind, _, round_number, _ in results)
    for round_number in range(rounds):
        assert outcomes[("won", round_number)] == 1
        assert outcomes[("conflict", round_number)] == PROCESSES - 1
    log = assert_log_is_whole(store, rounds)
    winners = {(r, positions[0]) for kind, _, r, positions in results if kind == "won"}
    assert winners == {(opaque(event).payload["round"], event.position) for event in log}
    assert [event.stream_version for event in log] == list(range(1, rounds + 1))


def test_appends_to_own_and_shared_streams_are_stored_exactly_once(
    store: SqlEventLog, database_url: str
) -> None:
    count = 15
    results = run_workers(workers.append_with_retries, database_url, count)
    accepted = [r for r in results if r[0] in {"own", "shared"}]
    assert len(accepted) == 2 * PROCESSES * count
    log = assert_log_is_whole(store, len(accepted))
    by_position = {event.position: event for event in log}
    for kind, worker, number, (position,) in accepted:
        event = by_position.pop(position)
        assert (opaque(event).payload["w"], opaque(event).payload["n"]) == (worker, number)
        assert opaque(event).event_type == ("Own" if kind == "own" else "Shared")
    assert by_position == {}
    shared = [event for event in log if event.stream_id == "track-shared"]
    assert [event.stream_version for event in shared] == list(range(1, PROCESSES * count + 1))
    for worker in range(PROCESSES):
        own = [
            opaque(event).payload["n"] for event in log if event.stream_id == f"meeting-{worker}"
        ]
        assert own == list(range(count))  # commit order follows each writer's order


def test_concurrent_repeats_of_one_idempotent_command_append_once(
    store: SqlEventLog, database_url: str
) -> None:
    results = run_workers(workers.append_same_key, database_url)
    assert {tuple(positions) for *_, positions in results} == {(1,)}
    assert len(results) == PROCESSES
    assert_log_is_whole(store, 1)
