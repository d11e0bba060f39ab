"""The feed server over real HTTP on loopback: headers, conditional requests, tokens."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import Engine

from consultations.bootstrap import Application, bootstrap
from consultations.domain.commands import RescheduleMeeting, RevokeFeed
from consultations.entrypoints.web import create_app
from consultations.service_layer.feeds import FeedSpec, hash_token, new_feed
from consultations.settings import Settings
from tests.cli.runner import run_cli
from tests.projections.support import ANALYST, import_example


@dataclass
class Served:
    app: Application
    base: str
    token: str
    feed_id: str

    def url(self, token: str | None = None) -> str:
        return f"{self.base}/feeds/{token or self.token}.ics"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(database_url: str, migrated_engine: Engine) -> Iterator[Served]:
    app = bootstrap(Settings.load(database_url))
    app.projector.ensure_current(app.engine)
    import_example(app.commands)
    token, command = new_feed("all", "TM–AZ cooperation", include_restricted=False)
    app.commands.execute(command, ANALYST)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a generous bound for a loaded CI machine
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield Served(app, f"http://127.0.0.1:{port}", token, command.feed_id)
    server.should_exit = True
    thread.join(timeout=10)
    app.close()


def test_a_feed_is_served_as_a_calendar_with_strong_validators(served: Served) -> None:
    response = httpx.get(served.url())
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    last_modified = parsedate_to_datetime(response.headers["last-modified"])
    assert last_modified <= datetime.now(last_modified.tzinfo) + timedelta(seconds=1)
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")
    assert response.content.endswith(b"END:VCALENDAR\r\n")
    assert b"X-WR-CALNAME:TM\xe2\x80\x93AZ cooperation\r\n" in response.content
    head = httpx.head(served.url())
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == etag
    assert head.headers["content-length"] == str(len(response.content))


def test_conditional_requests(served: Served) -> None:
    first = httpx.get(served.url())
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert httpx.get(served.url(), headers={"If-None-Match": etag}).status_code == 304
    assert (
        httpx.get(served.url(), headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    )
    assert httpx.get(served.url(), headers={"If-None-Match": '"other"'}).status_code == 200
    assert httpx.get(served.url(), headers={"If-Modified-Since": last_modified}).status_code == 304
    later = format_datetime(parsedate_to_datetime(last_modified) + timedelta(days=1), usegmt=True)
    assert httpx.get(served.url(), headers={"If-Modified-Since": later}).status_code == 304
    earlier = format_datetime(
        parsedate_to_datetime(last_modified) - timedelta(seconds=1), usegmt=True
    )
    assert httpx.get(served.url(), headers={"If-Modified-Since": earlier}).status_code == 200
    assert (
        httpx.get(served.url(), headers={"If-Modified-Since": "yesterday-ish"}).status_code == 200
    )
    # If-None-Match decides when both are present.
    both = {"If-None-Match": '"other"', "If-Modified-Since": later}
    assert httpx.get(served.url(), headers=both).status_code == 200
    not_modified = httpx.get(served.url(), headers={"If-None-Match": etag})
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag


def test_a_matching_conditional_request_does_no_generation(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = httpx.get(served.url()).headers["etag"]
    calls: list[FeedSpec] = []
    render = served.app.feeds.render
    monkeypatch.setattr(served.app.feeds, "render", lambda spec: calls.append(spec) or render(spec))
    assert httpx.get(served.url(), headers={"If-None-Match": etag}).status_code == 304
    assert calls == []
    assert httpx.get(served.url()).status_code == 200
    assert len(calls) == 1


def test_a_change_gives_a_fresh_200_with_new_validators(served: Served) -> None:
    first = httpx.get(served.url())
    with served.app.engine.connect() as connection:
        start = connection.execute(
            sa.text("SELECT start_local FROM schedule WHERE meeting_id = 'pc-2026-q4'")
        ).scalar_one()
    moved = datetime.fromisoformat(start) + timedelta(days=2)
    served.app.commands.execute(
        RescheduleMeeting(meeting_id="pc-2026-q4", start=moved, reason="visit"), ANALYST
    )
    second = httpx.get(served.url(), headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200
    assert second.headers["etag"] != first.headers["etag"]
    assert parsedate_to_datetime(second.headers["last-modified"]) >= parsedate_to_datetime(
        first.headers["last-modified"]
    )
    assert second.content != first.content
    assert b"UID:pc-2026-q4@consultations" in second.content


def test_unknown_malformed_and_revoked_tokens_are_404(served: Served) -> None:
    assert httpx.get(served.url("A" * 43)).status_code == 404
    assert httpx.get(served.url("not-a-token!")).status_code == 404
    assert httpx.get(f"{served.base}/feeds/{served.token}.ICS").status_code == 404
    assert httpx.get(f"{served.base}/feeds/").status_code == 404
    served.app.commands.execute(RevokeFeed(feed_id=served.feed_id, reason="rotated"), ANALYST)
    assert httpx.get(served.url()).status_code == 404


def test_tokens_are_long_random_and_stored_only_hashed(served: Served) -> None:
    assert len(served.token) >= 43  # 32 random bytes, URL-safe base64
    with served.app.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT token_sha256 FROM feeds")).scalars().all()
        log = " ".join(
            str(payload)
            for payload in connection.execute(sa.text("SELECT payload FROM events")).scalars()
        )
    assert stored == [hash_token(served.token)]
    assert served.token not in log


def test_healthz_reports_the_log_position(served: Served) -> None:
    response = httpx.get(f"{served.base}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "log_position": served.app.store.head()[0]}


def test_feed_export_writes_the_bytes_the_server_serves(
    served: Served, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served_bytes = httpx.get(served.url()).content
    target = tmp_path / "exports" / "feed.ics"
    args = ("feed", "export", "--scope", "all", "--name", "TM–AZ cooperation", "-o", str(target))
    result = run_cli(capsys, database_url, *args)
    assert (result.code, result.err) == (0, "")
    assert target.read_bytes() == served_bytes
    assert [p.name for p in target.parent.iterdir()] == ["feed.ics"]  # no temporary file left
