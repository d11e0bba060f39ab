"""Hostile HTTP against the feed server: a real uvicorn on loopback, on both backends.

Requests go over raw sockets (no client-side normalisation of paths or headers). For every
request: never a 5xx, never a traceback or an error in the server's log, 404 for anything
but the one live token, 405 for methods other than GET/HEAD, 200/304 only for the live token.
After each test the event log head and every read table are exactly as before.
"""

from __future__ import annotations

import logging
import re
import secrets
import socket
import string
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote

import pytest
import uvicorn
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from consultations.bootstrap import Application, bootstrap
from consultations.domain.commands import RevokeFeed
from consultations.entrypoints.web import create_app
from consultations.service_layer.feeds import new_feed
from consultations.settings import Settings
from tests.projections.support import ANALYST, import_example, snapshot

URLSAFE = string.ascii_letters + string.digits + "-_"
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE")
H11_LIMIT = 16 * 1024  # uvicorn's default h11_max_incomplete_event_size: the whole head


def hostile(examples: int) -> settings:
    """A bounded number of requests, no deadline (a PostgreSQL lookup may be slow)."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# Starlette's own route patterns (re.match, so "$" also matches before a final newline).
FEED_ROUTE = re.compile(r"^/feeds/(?P<token>[^/]+)\.ics$")
HEALTH_ROUTE = re.compile(r"^/healthz$")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class LogRecorder(logging.Handler):
    """Everything uvicorn and Starlette log while the server runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def problems(self) -> list[str]:
        """Errors, exceptions and tracebacks (warnings about bad requests are fine)."""
        found = []
        for record in self.records:
            text = self.format(record)
            if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in text:
                found.append(text)
        return found


@dataclass
class Server:
    app: Application
    port: int
    token: str
    log: LogRecorder
    etag: str = ""
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    requests: int = 0

    @property
    def real_path(self) -> str:
        return f"/feeds/{self.token}.ics"

    def send(
        self, method: str, target: bytes | str, headers: dict[str, str] | None = None
    ) -> Reply:
        """One request on a fresh connection, bytes exactly as given; the raw reply, parsed."""
        if isinstance(target, str):
            target = target.encode("ascii")
        lines = [f"{method} ".encode() + target + b" HTTP/1.1", b"Host: 127.0.0.1"]
        lines += [f"{k}: {v}".encode("latin-1") for k, v in (headers or {}).items()]
        lines.append(b"Connection: close")
        raw = b"\r\n".join(lines) + b"\r\n\r\n"
        chunks = []
        with socket.create_connection(("127.0.0.1", self.port), timeout=15) as sock:
            sock.sendall(raw)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        self.requests += 1
        data = b"".join(chunks)
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        assert status_line.startswith("HTTP/1.1 "), data[:200]
        reply_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            reply_headers[name.strip().lower()] = value.strip()
        reply = Reply(int(status_line.split()[1]), reply_headers, body)
        self.check(reply)
        return reply

    def check(self, reply: Reply) -> None:
        assert reply.status < 500, reply
        assert b"Traceback" not in reply.body
        assert self.log.problems() == []

    def untouched(self, head: tuple[int, str], tables: dict[str, Any]) -> None:
        assert self.app.store.head() == head, "a request wrote to the event log"
        assert snapshot(self.app.engine) == tables, "a request changed a read table"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(database_url: str, migrated_engine: Engine) -> Iterator[Server]:
    app = bootstrap(Settings.load(database_url))
    app.projector.ensure_current(app.engine)
    import_example(app.commands)
    token, command = new_feed("all", "Hostile", include_restricted=False)
    app.commands.execute(command, ANALYST)
    revoked, revoked_command = new_feed("all", "Revoked", include_restricted=True)
    app.commands.execute(revoked_command, ANALYST)
    app.commands.execute(RevokeFeed(feed_id=revoked_command.feed_id, reason="rotated"), ANALYST)
    port = _free_port()
    config = uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning")
    recorder = LogRecorder()  # after Config: it configures logging when created
    loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "starlette", "")]
    for logger in loggers:
        logger.addHandler(recorder)
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a generous bound for a loaded CI machine
    while not uvicorn_server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uvicorn_server.started
    served = Server(app, port, token, recorder)
    first = served.send("GET", served.real_path)
    assert first.status == 200
    served.etag = first.headers["etag"]
    served.last_modified = parsedate_to_datetime(first.headers["last-modified"])
    assert served.send("GET", f"/feeds/{revoked}.ics").status == 404
    head, tables = app.store.head(), snapshot(app.engine)
    yield served
    try:
        served.untouched(head, tables)
        assert recorder.problems() == []
        print(f"{served.requests} requests")
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)
        for logger in loggers:
            logger.removeHandler(recorder)
        app.close()


def expected(server: Server, method: str, target: str) -> int:
    """The status the routing should give (no conditional headers)."""
    path = unquote(target.partition("?")[0])  # what uvicorn hands Starlette
    feed = FEED_ROUTE.match(path)
    if feed or HEALTH_ROUTE.match(path):
        if method not in ("GET", "HEAD"):
            return 405
        if feed and feed["token"] != server.token:
            return 404
        return 200
    if path != "/":
        other = path[:-1] if path.endswith("/") else path + "/"
        if FEED_ROUTE.match(other) or HEALTH_ROUTE.match(other):
            return 307  # Starlette's redirect_slashes
    return 404


# --- paths ---------------------------------------------------------------------------------


def _encode_all(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode("utf-8"))


@st.composite
def targets(draw: st.DrawFn, token: str) -> str:
    """Paths, mostly hostile, sometimes the real feed in disguise."""
    segment = st.one_of(
        st.text(URLSAFE, max_size=60),
        st.sampled_from(["", ".", "..", "%2e%2e", "%2E%2E%2F", "%2F", "%00", "%0A", "%0D%0A",
                         "feeds", "healthz", ".ics", "x.ics", "x.ICS", ".ics.ics", "%", "%zz",
                         "%ff%fe", "%C0%AE", "~", ";", "*", "a;b=c", "..%2F..%2Fetc%2Fpasswd"]),
        st.text(max_size=20).map(lambda text: quote(text, safe="")),  # unicode, %00 and all
        st.integers(129, 8000).map(lambda n: "A" * n),  # too long to be a token
    )  # fmt: skip
    suffix = st.sampled_from([".ics", ".ICS", ".Ics", ".ics/", ".ics%00", "%2Eics", ".ics.ics",
                              ".ical", "", ".ics%0A", ".ics?x=1", ".ics?", ".ics%3F", ".ics;",
                              ".ics/..", "%2Eics%2F"])  # fmt: skip
    real = st.sampled_from([
        token,
        token[:-1],
        token + "A",
        token.upper(),
        token[::-1],
        _encode_all(token),  # the real token, percent-encoded: still the real token
        token + "%00",
        "%00" + token,
        token.replace("-", "%2D"),
    ])  # fmt: skip
    kind = draw(st.sampled_from(["free", "feed", "feed", "disguised"]))
    if kind == "disguised":  # the live token, some characters percent-encoded: still served
        encoded = draw(st.lists(st.booleans(), min_size=len(token), max_size=len(token)))
        middle = "".join(_encode_all(c) if e else c for c, e in zip(token, encoded, strict=True))
        prefix = draw(st.sampled_from(["/feeds/", "/feeds%2F", "/%66eeds/", "/feeds%2f"]))
        return prefix + middle + draw(st.sampled_from([".ics", "%2Eics", ".ics?q=1", ".ics?"]))
    if kind == "free":
        return "/" + "/".join(draw(st.lists(segment, max_size=5)))
    prefix = draw(st.sampled_from(["/feeds/", "/feeds//", "//feeds/", "/FEEDS/", "/feeds%2F",
                                   "/feeds/./", "/feeds/../feeds/", "/x/../feeds/"]))  # fmt: skip
    middle = draw(real | segment)
    return prefix + middle + draw(suffix)


def test_hostile_paths(server: Server) -> None:
    feed = f"/feeds/{server.token}.ics"

    @hostile(140)
    @given(
        target=targets(server.token),
        method=st.sampled_from(["GET", "GET", "HEAD", "POST"]),
    )
    # Every outcome once for certain: random draws alone reach 405 (POST on the live feed)
    # too rarely for a run on CI not to miss it now and then.
    @example(target=feed, method="GET")
    @example(target=feed, method="POST")
    @example(target="/feeds/no-such-token.ics", method="GET")
    def run(target: str, method: str) -> None:
        reply = server.send(method, target)
        assert reply.status == expected(server, method, target), target
        seen[reply.status] += 1
        if reply.status == 200 and method == "GET" and target.startswith("/feeds"):
            assert reply.headers["etag"] == server.etag
            assert reply.body.startswith(b"BEGIN:VCALENDAR\r\n")

    seen: Counter[int] = Counter()
    run()
    assert {200, 404, 405} <= set(seen), seen  # every outcome is exercised


@pytest.mark.parametrize(
    "target",
    [
        "/feeds/{t}.ics",
        "/feeds/{t}.ics%0A",  # "$" matches before a final newline in Starlette's route regex
        "/feeds%2F{t}.ics",
        "/feeds/{t}.ics?%00=%00&x=' OR 1=1 --",
        "/feeds/%00.ics",
        "/feeds/..%2F..%2F..%2Fetc%2Fpasswd.ics",
        "/feeds/.ics",
        "/feeds/{t}.ics/",
        "/feeds/{t}",
        "/feeds/" + "A" * 10_000 + ".ics",
        "/" + "a/" * 2000,
        "*",
        "http://127.0.0.1/feeds/{t}.ics",  # absolute form
    ],
)
def test_fixed_hostile_targets_with_every_method(server: Server, target: str) -> None:
    target = target.replace("{t}", server.token).replace(" ", "%20")
    for method in METHODS:
        reply = server.send(method, target)
        if target == "*":
            assert reply.status in (400, 404, 405), reply
        elif target.startswith("http://"):
            assert reply.status in ((200, 404) if method in ("GET", "HEAD") else (404, 405))
        else:
            assert reply.status == expected(server, method, target), (method, target)
        if method == "HEAD":
            assert reply.body == b""


def test_raw_bytes_the_parser_must_refuse(server: Server) -> None:
    for target in (
        b"/feeds/\x00.ics",
        b"/feeds/\xff\xfe.ics",
        b"/feeds/\xc3\xa9.ics",
        b"/feeds/a b.ics",
        b"/feeds/\x7f.ics",
    ):
        assert 400 <= server.send("GET", target).status < 500, target
    assert 400 <= server.send("G\x00ET", b"/healthz").status < 500
    assert 400 <= server.send("GET /x", b"/healthz").status < 500


# --- methods and token guessing --------------------------------------------------------------


def test_wrong_methods_are_405_and_write_nothing(server: Server) -> None:
    for method in METHODS[2:]:
        for target in (server.real_path, "/feeds/" + "B" * 43 + ".ics", "/healthz"):
            reply = server.send(method, target, {"Content-Length": "0"})
            assert reply.status == 405, (method, target)
            assert set(reply.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    body = "' OR 1=1 --"
    reply = server.send("POST", server.real_path, {"Content-Length": str(len(body))})
    assert reply.status == 405


def test_token_guessing_is_always_404(server: Server) -> None:
    future = format_datetime(datetime.now(UTC) + timedelta(days=365), usegmt=True)
    conditionals = [{}, {"If-None-Match": "*"}, {"If-None-Match": server.etag},
                    {"If-Modified-Since": future}]  # fmt: skip

    @hostile(60)
    @given(
        guess=st.text(URLSAFE, min_size=43, max_size=43)
        | st.text(URLSAFE, min_size=16, max_size=128),
        method=st.sampled_from(["GET", "HEAD"]),
        conditional=st.sampled_from(conditionals),
    )
    def run(guess: str, method: str, conditional: dict[str, str]) -> None:
        reply = server.send(method, f"/feeds/{guess}.ics", conditional)
        assert reply.status == (200 if guess == server.token else 404)
        assert "etag" not in reply.headers

    run()
    for _ in range(20):  # exactly what `feed create` hands out
        assert server.send("GET", f"/feeds/{secrets.token_urlsafe(32)}.ics").status == 404


# --- conditional-request headers -------------------------------------------------------------

offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80)


@st.composite
def if_none_match(draw: st.DrawFn, etag: str) -> str:
    parts = draw(
        st.lists(
            st.sampled_from([etag, f"W/{etag}", "*", '"other"', "W/", '""', etag[1:-1], ",",
                             etag.upper(), f'W/"{etag}"', "W/*"])
            | header_text,
            min_size=1,
            max_size=6,
        )
    )  # fmt: skip
    return draw(st.sampled_from([", ", ",", " , "])).join(parts)


@st.composite
def if_modified_since(draw: st.DrawFn) -> str:
    moment = draw(
        st.datetimes(
            min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
        )
    )
    shape = draw(st.sampled_from(["gmt", "offset", "rfc850", "asctime", "junk", "broken"]))
    if shape == "gmt":
        return format_datetime(moment.astimezone(UTC), usegmt=True)
    if shape == "offset":
        return format_datetime(moment)
    if shape == "rfc850":
        return moment.astimezone(UTC).strftime("%A, %d-%b-%y %H:%M:%S GMT")
    if shape == "asctime":
        return moment.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
    if shape == "junk":
        return draw(header_text)
    return draw(
        st.sampled_from([
            "yesterday", "0", "-1", "Mon, 32 Jan 2026 00:00:00 GMT",
            "Mon, 01 Jan 2026 25:61:61 GMT", "Mon, 01 Foo 2026 00:00:00 GMT",
            "Mon, 01 Jan 99999 00:00:00 GMT", "Mon, 01 Jan 2026 00:00:00 +9999",
            "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
            "Fri, 31 Dec 9999 23:59:59 -2359", "Mon, 01 Jan 0001 00:00:00 +2359",
            "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
            "Mon, 01 Jan 2026 99999999999999999999:00:00 GMT",
            "Mon, 01 Jan 2026 00:00:00 +99999999999999999999",
            "Mon, 01 Jan 2026 00:00:00 PST", "Mon, 01 Jan 2026 00:00:00 EDT",
            "Mon, 01 Jan 2026", "01 Jan 2026 00:00 GMT", "Mon,,, 01 Jan", "\u00ff\u00fe",
        ])
    )  # fmt: skip


def conditional_status(server: Server, headers: dict[str, str]) -> int:
    """RFC 9110 §13.2.2: If-None-Match decides when present; else If-Modified-Since."""
    if "If-None-Match" in headers:
        tags = {tag.strip().removeprefix("W/") for tag in headers["If-None-Match"].split(",")}
        return 304 if "*" in tags or server.etag in tags else 200
    value = headers.get("If-Modified-Since")
    if value is None:
        return 200
    try:
        since = parsedate_to_datetime(value.strip(" \t"))
    except Exception:  # malformed: ignored
        return 200
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return 304 if server.last_modified <= since else 200


def test_hostile_conditional_headers_on_the_real_feed(server: Server) -> None:
    @hostile(120)
    @given(
        method=st.sampled_from(["GET", "HEAD"]),
        inm=st.none() | if_none_match(server.etag),
        ims=st.none() | if_modified_since(),
    )
    def run(method: str, inm: str | None, ims: str | None) -> None:
        headers = {}
        if inm is not None:
            headers["If-None-Match"] = inm
        if ims is not None:
            headers["If-Modified-Since"] = ims
        reply = server.send(method, server.real_path, headers)
        assert reply.status == conditional_status(server, headers), headers
        assert reply.headers["etag"] == server.etag
        if reply.status == 304 or method == "HEAD":
            assert reply.body == b""

    run()


def test_named_if_modified_since_cases(server: Server) -> None:
    lm = server.last_modified
    cases = {
        format_datetime(lm, usegmt=True): 304,
        format_datetime(lm - timedelta(seconds=1), usegmt=True): 200,
        format_datetime(lm + timedelta(days=3650), usegmt=True): 304,  # future
        "Thu, 01 Jan 1970 00:00:00 GMT": 200,  # ancient
        format_datetime(lm.astimezone(timezone(timedelta(hours=5)))): 304,  # non-GMT, same instant
        format_datetime((lm - timedelta(hours=1)).astimezone(timezone(timedelta(hours=-8)))): 200,
        "not a date": 200,
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT": 200,  # OverflowError in the parser
    }
    for value, status in cases.items():
        assert (
            server.send("GET", server.real_path, {"If-Modified-Since": value}).status == status
        ), value


def test_huge_headers_up_to_the_parser_limit(server: Server) -> None:
    size = H11_LIMIT - 1024  # leaves room for the request line and the other headers
    cases = [
        ("If-None-Match", '"x", ' * (size // 5), 200),
        ("If-None-Match", ", ".join([f'"{i}"' for i in range(size // 8)] + [server.etag]), 304),
        ("If-None-Match", "W/" * (size // 2), 200),
        ("If-Modified-Since", "A" * size, 200),
        ("If-Modified-Since", "Mon, 01 Jan 2026 " + "9" * (size - 20) + " GMT", 200),
        ("X-Padding", "z" * size, 200),
        ("Cookie", "a=" + "b" * size, 200),
    ]
    for name, value, status in cases:
        assert server.send("GET", server.real_path, {name: value}).status == status, name
        assert server.send("GET", "/feeds/" + "C" * 43 + ".ics", {name: value}).status == 404
    many = {f"X-H{i}": "v" * 40 for i in range(250)}
    assert server.send("GET", server.real_path, many).status == 200
    # Past the limit h11 refuses the head only if it arrived in pieces: 200 or a 4xx, no 5xx.
    for too_big in (
        {"If-None-Match": "x" * (H11_LIMIT + 100)},
        {"X-A": "a" * 9000, "X-B": "b" * 9000},
    ):
        assert server.send("GET", server.real_path, too_big).status in (200, 400, 431)
