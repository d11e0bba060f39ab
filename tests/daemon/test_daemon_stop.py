"""A stop asked for before the daemon's timer runs (SIGTERM right after start-up) ends it."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from datetime import timedelta
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
