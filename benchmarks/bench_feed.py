"""Feed of 10,000 meetings: cold generation and a matching conditional request.

Baselines measured in the same run: the `ics` package alone serialising the same events
(the floor for generating with it), and a trivial request to the same server (/healthz).
Run: .venv/bin/python -m benchmarks.bench_feed (its own table), or through the runner
(``python -m benchmarks --only feed``), which uses ``run``.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from ics import Calendar, Event  # type: ignore[import-untyped]

from benchmarks.synthetic import fill
from consultations.adapters import migrations
from consultations.bootstrap import Application, bootstrap
from consultations.domain.feeds import Scope
from consultations.entrypoints.web import create_app
from consultations.service_layer.feeds import FeedSpec, new_feed
from consultations.service_layer.services import Provenance
from consultations.settings import Settings

MEETINGS = 10_000
RUNS = 7


def timed(function: Callable[[], object], runs: int = RUNS) -> list[float]:
    """Wall times in milliseconds of ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = bootstrap_with_meetings(Path(folder) / "bench.db")
        spec = FeedSpec("bench", "bench", Scope("all"))
        body = app.feeds.render(spec)
        count = body.count(b"BEGIN:VEVENT")
        rows = [
            (
                "feed cold generation",
                timed(lambda: app.feeds.render(spec)),
                "ics alone",
                timed(ics_only(count)),
            ),
        ]
        token, command = new_feed("all", "bench", include_restricted=False)
        app.commands.execute(command, Provenance("bench"))
        server, base = serve(app)
        url = f"{base}/feeds/{token}.ics"
        with httpx.Client(timeout=None) as client:
            etag = checked_etag(client, url)
            conditional = timed(lambda: client.get(url, headers={"If-None-Match": etag}), runs=50)
            healthz = timed(lambda: client.get(f"{base}/healthz"), runs=50)
            cold_http = timed(lambda: client.get(url))
        rows.append(("feed GET (HTTP, 200)", cold_http, "ics alone", rows[0][3]))
        rows.append(("feed conditional GET (304)", conditional, "GET /healthz", healthz))
        server.should_exit = True
        print(f"feed of {count} meetings, {len(body) / 1e6:.1f} MB; medians of {RUNS}-50 runs (ms)")
        header = ("figure", "median", "min", "max", "baseline", "median", "ratio")
        print("{:30} {:>8} {:>8} {:>8} {:>14} {:>8} {:>6}".format(*header))
        for name, times, base_name, base_times in rows:
            median, base_median = statistics.median(times), statistics.median(base_times)
            print(
                f"{name:30} {median:8.1f} {min(times):8.1f} {max(times):8.1f} "
                f"{base_name:>14} {base_median:8.1f} {median / base_median:6.2f}"
            )
        app.close()


def run(config: object) -> list[object]:
    """The runner's figures: cold HTTP GET, in-process render, and the conditional GET (304)."""
    from benchmarks.common import Figure, Target, log

    meetings = 1_000 if getattr(config, "mode", "") == "smoke" else MEETINGS
    runs = 3 if getattr(config, "mode", "") == "smoke" else RUNS
    with tempfile.TemporaryDirectory() as folder:
        app = bootstrap_with_meetings(Path(folder) / "bench.db", meetings)
        spec = FeedSpec("bench", "bench", Scope("all"))
        count = app.feeds.render(spec).count(b"BEGIN:VEVENT")
        render = timed(lambda: app.feeds.render(spec), runs)
        ics = timed(ics_only(count), runs)
        token, command = new_feed("all", "bench", include_restricted=False)
        app.commands.execute(command, Provenance("bench"))
        server, base = serve(app)
        url = f"{base}/feeds/{token}.ics"
        with httpx.Client(timeout=None) as client:
            etag = checked_etag(client, url)
            conditional = timed(lambda: client.get(url, headers={"If-None-Match": etag}), 50)
            healthz = timed(lambda: client.get(f"{base}/healthz"), 50)
            cold = timed(lambda: client.get(url), runs)
        server.should_exit = True
        app.close()
    log(f"feed of {count:,} meetings: GET {statistics.median(cold):.0f} ms, "
        f"304 {statistics.median(conditional):.1f} ms")  # fmt: skip
    note = f"{count:,} meetings in the feed"
    return [
        Figure("feed cold GET (HTTP 200)", "ms", cold, False, {"ics alone": ics},
               [Target("value<=", 1000), Target("ratio<=", 0.5, "ics alone")], note=note),
        Figure("feed render (in process)", "ms", render, False, {"ics alone": ics}, note=note),
        Figure("feed conditional GET (HTTP 304)", "ms", conditional, False,
               {"GET /healthz": healthz}, [Target("value<=", 5)], note=note),
    ]  # fmt: skip


def checked_etag(client: httpx.Client, url: str) -> str:
    """The feed's ETag, after checking that a GET renders it and a conditional GET does not."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    etag = response.headers["etag"]
    conditional = client.get(url, headers={"If-None-Match": etag})
    assert conditional.status_code == 304, conditional.status_code
    return etag


def bootstrap_with_meetings(path: Path, meetings: int = MEETINGS) -> Application:
    """A WAL SQLite database with ``meetings`` planned meetings, all inside the feed window."""
    app = bootstrap(Settings.load(f"sqlite:///{path}"))
    migrations.upgrade(app.engine)
    app.projector.ensure_current(app.engine)
    first = datetime.now(UTC).date() - timedelta(days=60)
    # 40 tracks with a meeting every 2 days: 10,000 meetings over 500 days.
    fill(
        app.store, meetings * 3, first=first, every=timedelta(days=2), held=False, meetings=meetings
    )
    return app


def ics_only(count: int) -> Callable[[], object]:
    """The baseline: the ics package serialising ``count`` plain events."""
    start = datetime(2027, 1, 1, 10, tzinfo=UTC)
    events = [
        Event(
            name=f"Session {n}",
            begin=start + timedelta(hours=n),
            end=start + timedelta(hours=n, minutes=90),
            uid=f"m{n}@bench",
        )
        for n in range(count)
    ]

    def serialise() -> object:
        calendar = Calendar()
        for event in events:
            calendar.events.add(event)
        return calendar.serialize()

    return serialise


def serve(app: Application) -> tuple[uvicorn.Server, str]:
    """Run the feed server on a free loopback port in a thread."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    web = create_app(app)
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    # The steady state is measured: the start-up check of the event log runs in a thread.
    check = getattr(web.state, "log_check", None)
    if check is not None:
        check.join()
    return server, f"http://127.0.0.1:{port}"


if __name__ == "__main__":
    main()
