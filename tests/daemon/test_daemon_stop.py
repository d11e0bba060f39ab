"""A stop ends the daemon whenever it comes: before the timer runs, or in the middle of a sweep."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import FrameType

import pytest
from sqlalchemy.engine import Engine

from consultations.bootstrap import Application, bootstrap
from consultations.entrypoints.daemon import Daemon
from consultations.settings import Settings


@pytest.fixture
def app(migrated_engine: Engine, database_url: str) -> Iterator[Application]:
    application = bootstrap(Settings(database_url), channels=[])
    yield application
    application.close()


def test_a_stop_before_the_background_timer_starts_leaves_it_stopped(app: Application) -> None:
    worker = Daemon(app, poll=timedelta(seconds=1))
    worker.stop()  # what the SIGTERM handler does
    scheduler = worker.run(background=True)
    assert not scheduler.running
    assert worker.dispatcher.stopping.is_set()


def test_a_stop_while_a_sweep_plans_its_wake_up_ends_the_daemon(
    app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sweep has passed its "stopping?" check and asks when the next reminder is due
    # when the stop comes; it then plans a wake-up. Stopping must not wait for the sweep
    # while holding the lock that planning needs (a stop once hung forever like this).
    worker = Daemon(app, poll=timedelta(seconds=60))
    planning, answer = threading.Event(), threading.Event()

    def next_due_after_the_stop() -> datetime:
        planning.set()
        answer.wait(30)
        return worker.dispatcher.clock() + timedelta(seconds=1)  # sooner than the next sweep

    monkeypatch.setattr(worker.dispatcher, "next_due", next_due_after_the_stop)
    scheduler = worker.run(background=True)
    assert planning.wait(30)
    stopping = threading.Thread(target=worker.stop)
    stopping.start()
    while scheduler.running and stopping.is_alive():
        time.sleep(0.01)
    answer.set()
    stopping.join(30)
    assert not stopping.is_alive(), "stop() hung while the sweep planned its wake-up"
    assert not scheduler.running


class Hung(Exception):
    """The blocking timer did not return."""


def _hung(number: int, frame: FrameType | None) -> None:
    raise Hung("run() kept the timer going after a stop")


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need the main thread"
)
def test_a_signal_before_the_blocking_timer_starts_ends_run(app: Application) -> None:
    worker = Daemon(app, poll=timedelta(seconds=1))
    previous = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    alarm = signal.signal(signal.SIGALRM, _hung)
    try:
        worker.listen_for_signals()
        signal.raise_signal(signal.SIGTERM)  # handled: the daemon stops claiming
        assert worker.dispatcher.stopping.is_set()
        signal.alarm(30)
        scheduler = worker.run()  # blocking: returns at once instead of sweeping forever
        signal.alarm(0)
        assert not scheduler.running
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, alarm)
        for number, handler in previous.items():
            signal.signal(number, handler)
