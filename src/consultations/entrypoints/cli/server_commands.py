"""`consultations serve`, `daemon` and `run`: the long-running processes.

The web server (uvicorn, Starlette) and the scheduler (APScheduler) are imported by the
commands that run them, so `--help` and the other commands never load them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.params import default_actor

F = TypeVar("F", bound=Callable[..., Any])


def configure_logging() -> None:
    """One line per message on stderr, with time, level and logger (daemon, run, serve)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _daemon_options(function: F) -> F:
    """Options shared by `daemon` and `run`."""
    function = click.option(
        "--feeds-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Keep feed files here (rewritten when changed).",
    )(function)
    function = click.option(
        "--poll",
        type=click.IntRange(1, 3600),
        default=30,
        show_default=True,
        help="Seconds between sweeps.",
    )(function)
    return click.option(
        "--lease",
        type=click.IntRange(5, 86400),
        default=120,
        show_default=True,
        help="Seconds a claimed delivery stays ours.",
    )(function)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@pass_context
def serve(context: CliContext, host: str, port: int) -> None:
    """Serve the feeds over HTTP, /healthz, and peers' signed pulls (/sync/pull).

    The event log is verified at start.
    """
    import uvicorn

    from consultations.entrypoints.web import create_app

    configure_logging()
    uvicorn.run(create_app(context.app()), host=host, port=port, log_level="info")


@click.command("daemon")
@click.option(
    "--once", is_flag=True, help="Run one sweep (and pull from peers) and exit (for cron, tests)."
)
@_daemon_options
@pass_context
def daemon(context: CliContext, once: bool, feeds_dir: Path | None, poll: int, lease: int) -> None:
    """The scheduler: reminders, cadence alerts, feed files, pulls from peers (sync_interval).

    Deliveries go out at least once and are never lost.
    """
    from consultations.entrypoints.daemon import Daemon, single_daemon

    configure_logging()
    app = context.app()
    worker = Daemon(
        app, poll=timedelta(seconds=poll), lease=timedelta(seconds=lease), feeds_dir=feeds_dir
    )
    with single_daemon(app):
        if not once:
            worker.listen_for_signals()
        for line in worker.start_up(once=once):
            click.echo(line)
        if once:
            report = worker.tick()
            summary = (
                ", ".join(f"{n} {s}" for s, n in sorted(report.outcomes.items())) or "nothing due"
            )
            click.echo(f"sweep: {summary}")
            if app.settings.sync_interval is not None:
                for line in worker.pull_peers():
                    click.echo(line)
            return
        worker.run()


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Import this plan if the log is empty.",
)
@click.option(
    "--demo-feed",
    is_flag=True,
    help="Create a feed of everything if there is none, and print its URLs.",
)
@_daemon_options
@pass_context
def run(
    context: CliContext, host: str, port: int, seed: Path | None, demo_feed: bool,
    feeds_dir: Path | None, poll: int, lease: int,
) -> None:  # fmt: skip
    """The main job: the daemon and the feed server together (Ctrl-C stops both)."""
    import uvicorn

    from consultations.entrypoints.daemon import Daemon, single_daemon
    from consultations.entrypoints.demo import ensure_demo
    from consultations.entrypoints.web import create_app

    configure_logging()
    app = context.app()
    for line in ensure_demo(app, seed, demo_feed, default_actor()):
        click.echo(line)
    worker = Daemon(
        app, poll=timedelta(seconds=poll), lease=timedelta(seconds=lease), feeds_dir=feeds_dir
    )
    with single_daemon(app):
        for line in worker.start_up():
            click.echo(line)
        worker.run(background=True)
        try:
            uvicorn.run(create_app(app, check_log=False), host=host, port=port, log_level="info")
        finally:
            worker.stop()
