"""Real receivers for delivery tests: a Standard Webhooks HTTP endpoint and an SMTP server.

Both listen on 127.0.0.1 on a free port, run in background threads, record everything they
receive, and can be scripted to fail. Use them as context managers or start()/stop()::

    with WebhookReceiver(secret=SECRET) as hooks, SmtpReceiver() as mail:
        ...  # point the daemon at hooks.url and mail.url
        hooks.wait_for_ids({"key-1", "key-2"}, timeout=10)
        assert hooks.accepted_counts() == {"key-1": 1, "key-2": 1}
        assert mail.key_counts() == {"key-1": 1, "key-2": 1}

Counting: ``counts()`` counts every request/message that arrived (including refused ones,
e.g. a scripted 500 or a bad signature); ``accepted_counts()`` only those answered with
success, i.e. deliveries the sender may consider done. Duplicates show up as counts above 1.
"""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

HOST = "127.0.0.1"
MESSAGE_ID_DOMAIN = "consultations"

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _wait(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


# --------------------------------------------------------------------------- webhook

HOLD_LIMIT = 300.0  # seconds a held request waits for release() at most


@dataclass(frozen=True)
class Reply:
    """A scripted HTTP answer."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class WebhookDelivery:
    """One HTTP request that reached the receiver, and what it was answered."""

    webhook_id: str | None
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    path: str
    verified: bool | None  # None: the receiver has no secret and did not check
    verification_error: str | None
    status: int  # what the receiver answered
    received_at: float  # time.monotonic()

    @property
    def accepted(self) -> bool:
        """Answered 2xx: the sender may consider it delivered."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class WebhookReceiver:
    """A Standard Webhooks endpoint: verifies signatures (when given a secret) and records.

    A request whose signature does not verify is answered 401. Otherwise the next scripted
    :class:`Reply` (see :meth:`script`) is used, else the default (200 unless
    :meth:`set_default` changed it). :meth:`set_delay` makes every answer slow;
    :meth:`hold` keeps every answer back until :meth:`release` (a test decides when a request
    stops being "in flight" from what it observed, not from a fixed delay).
    """

    def __init__(self, secret: str | None = None, *, port: int = 0) -> None:
        self.secret = secret
        self._verifier = Webhook(secret) if secret is not None else None
        self._requested_port = port
        self._lock = threading.Lock()
        self._deliveries: list[WebhookDelivery] = []
        self._script: deque[Reply] = deque()
        self._default = Reply(200, {}, b"ok")
        self._delay = 0.0
        self._released = threading.Event()
        self._released.set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Self:
        """Listen and serve in a background thread."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((HOST, self._requested_port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; what was recorded stays readable."""
        self._released.set()  # no handler thread is left waiting
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://{HOST}:{self.port}/hooks"

    # scripting

    def script(self, *replies: Reply | int) -> None:
        """Answer the next requests with these replies (ints are bare statuses), in order."""
        with self._lock:
            self._script.extend(r if isinstance(r, Reply) else Reply(r) for r in replies)

    def set_default(self, reply: Reply | int) -> None:
        """Answer with this once the script is used up."""
        with self._lock:
            self._default = reply if isinstance(reply, Reply) else Reply(reply)

    def set_delay(self, seconds: float) -> None:
        """Wait this long before answering each request."""
        self._delay = seconds

    def hold(self) -> None:
        """Record each request, then answer nothing until :meth:`release` (5 minutes at most)."""
        self._released.clear()

    def release(self) -> None:
        """Answer the held requests (and the next ones at once)."""
        self._released.set()

    # queries

    def deliveries(self) -> list[WebhookDelivery]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._deliveries)

    def accepted(self) -> list[WebhookDelivery]:
        """Requests answered 2xx, in arrival order."""
        return [d for d in self.deliveries() if d.accepted]

    def by_id(self, *, accepted_only: bool = False) -> dict[str, list[WebhookDelivery]]:
        """Requests grouped by ``webhook-id``."""
        grouped: dict[str, list[WebhookDelivery]] = {}
        for delivery in self.accepted() if accepted_only else self.deliveries():
            grouped.setdefault(delivery.webhook_id or "", []).append(delivery)
        return grouped

    def counts(self) -> Counter[str]:
        """How many requests arrived per ``webhook-id``, answered 2xx or not."""
        return Counter(d.webhook_id or "" for d in self.deliveries())

    def accepted_counts(self) -> Counter[str]:
        """How many requests were answered 2xx per ``webhook-id``."""
        return Counter(d.webhook_id or "" for d in self.accepted())

    def count(self, webhook_id: str, *, accepted_only: bool = False) -> int:
        """Requests (or 2xx-answered requests) with this ``webhook-id``."""
        return (self.accepted_counts() if accepted_only else self.counts())[webhook_id]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[WebhookDelivery]:
        """Block until at least ``count`` requests arrived; all of them."""
        return _wait(
            lambda: found if len(found := self.deliveries()) >= count else None,
            timeout,
            f"{count} webhook requests",
        )

    def wait_for_ids(self, ids: Iterable[str], timeout: float = 5.0) -> Counter[str]:
        """Block until every id was accepted at least once; the accepted counts."""
        wanted = set(ids)
        return _wait(
            lambda: c if wanted <= set(c := self.accepted_counts()) else None,
            timeout,
            f"webhook ids {sorted(wanted)}",
        )

    def clear(self) -> None:
        """Forget what was recorded and scripted."""
        with self._lock:
            self._deliveries.clear()
            self._script.clear()

    # serving

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length)
        headers = {name.lower(): value for name, value in request.headers.items()}
        verified: bool | None = None
        error: str | None = None
        if self._verifier is not None:
            try:
                self._verifier.verify(body, headers)
                verified = True
            except (WebhookVerificationError, ValueError) as failure:
                verified, error = False, str(failure) or type(failure).__name__
        with self._lock:
            if verified is False:
                reply = Reply(401, {}, b"bad signature")
            elif self._script:
                reply = self._script.popleft()
            else:
                reply = self._default
            self._deliveries.append(
                WebhookDelivery(
                    webhook_id=headers.get("webhook-id"),
                    headers=headers,
                    body=body,
                    path=request.path,
                    verified=verified,
                    verification_error=error,
                    status=reply.status,
                    received_at=time.monotonic(),
                )
            )
        if self._delay:
            time.sleep(self._delay)
        self._released.wait(HOLD_LIMIT)
        try:
            request.send_response(reply.status)
            for name, value in reply.headers.items():
                request.send_header(name, value)
            request.send_header("content-length", str(len(reply.body)))
            request.end_headers()
            request.wfile.write(reply.body)
        except OSError:  # the sender gave up (timeout) or died
            pass


# --------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class ReceivedMail:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    received_at: float  # time.monotonic()

    @property
    def message_id(self) -> str | None:
        """The ``Message-ID`` header as sent, e.g. ``<key@consultations>``."""
        value = self.message["Message-ID"]
        return None if value is None else str(value).strip()

    @property
    def idempotency_key(self) -> str | None:
        """The key inside ``<key@consultations>``; None for other Message-IDs."""
        value = self.message_id
        suffix = f"@{MESSAGE_ID_DOMAIN}>"
        if value and value.startswith("<") and value.endswith(suffix):
            return value[1 : -len(suffix)]
        return None

    @property
    def subject(self) -> str:
        """The decoded subject."""
        return str(self.message["Subject"] or "")


class SmtpReceiver:
    """An ``aiosmtpd`` server that accepts and records mail, or fails as scripted.

    :meth:`fail_next` makes the next MAIL, RCPT or DATA commands answer with a given reply
    (e.g. ``"451 4.3.0 Try again later"``); refused messages are counted in :attr:`refused`.
    """

    def __init__(self, *, port: int | None = None) -> None:
        self._requested_port = port
        self._lock = threading.Lock()
        self._mails: list[ReceivedMail] = []
        self._failures: dict[str, deque[str]] = {"MAIL": deque(), "RCPT": deque(), "DATA": deque()}
        self.refused: list[str] = []  # the replies that refused something, in order
        self._controller: Controller | None = None

    # lifecycle

    def start(self) -> Self:
        """Listen on a free port (or the one given) in a background thread."""
        last: Exception | None = None
        for _ in range(5):  # a "free" port can be taken between probing and binding
            port = self._requested_port or free_port()
            controller = Controller(
                _Handler(self), hostname=HOST, port=port, ready_timeout=5.0, enable_SMTPUTF8=True
            )
            try:
                controller.start()
            except (OSError, RuntimeError) as error:
                last = error
                continue
            self._controller = controller
            return self
        raise RuntimeError(f"SMTP receiver did not start: {last}")

    def stop(self) -> None:
        """Stop listening; what was recorded stays readable."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._controller is not None, "not started"
        return int(self._controller.port)

    @property
    def url(self) -> str:
        """``smtp://127.0.0.1:port``, as ``smtp_url`` expects it."""
        return f"smtp://{HOST}:{self.port}"

    # scripting

    def fail_next(self, reply: str, *, times: int = 1, stage: str = "DATA") -> None:
        """Answer the next ``times`` commands of ``stage`` (MAIL, RCPT or DATA) with ``reply``."""
        with self._lock:
            self._failures[stage.upper()].extend([reply] * times)

    # queries

    def mails(self) -> list[ReceivedMail]:
        """Every accepted message, in arrival order."""
        with self._lock:
            return list(self._mails)

    def by_message_id(self) -> dict[str, list[ReceivedMail]]:
        """Accepted messages grouped by their Message-ID header (``<key@consultations>``)."""
        grouped: dict[str, list[ReceivedMail]] = {}
        for mail in self.mails():
            grouped.setdefault(mail.message_id or "", []).append(mail)
        return grouped

    def key_counts(self) -> Counter[str]:
        """Accepted messages per idempotency key (the part of the Message-ID before the @)."""
        return Counter(m.idempotency_key or "" for m in self.mails())

    def count(self, key: str) -> int:
        """Accepted messages carrying this idempotency key."""
        return self.key_counts()[key]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Block until at least ``count`` messages were accepted; all of them."""
        return _wait(
            lambda: found if len(found := self.mails()) >= count else None,
            timeout,
            f"{count} emails",
        )

    def wait_for_keys(self, keys: Iterable[str], timeout: float = 5.0) -> Counter[str]:
        """Block until every key was accepted at least once; the counts per key."""
        wanted = set(keys)
        return _wait(
            lambda: c if wanted <= set(c := self.key_counts()) else None,
            timeout,
            f"emails with keys {sorted(wanted)}",
        )

    def clear(self) -> None:
        """Forget what was recorded and scripted."""
        with self._lock:
            self._mails.clear()
            self.refused.clear()
            for queue in self._failures.values():
                queue.clear()

    # serving (called on the controller's event loop thread)

    def _failure(self, stage: str) -> str | None:
        with self._lock:
            queue = self._failures[stage]
            if not queue:
                return None
            reply = queue.popleft()
            self.refused.append(reply)
            return reply

    def _record(self, envelope: Envelope) -> None:
        raw = envelope.original_content or cast(bytes, envelope.content)
        # parsed with local line endings, so decoded text parts have "\n" rather than CRLF
        unix = raw.replace(b"\r\n", b"\n")
        message = email.message_from_bytes(unix, policy=policy.default)
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message=message,
            received_at=time.monotonic(),
        )
        with self._lock:
            self._mails.append(mail)


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        failure = self.receiver._failure("MAIL")
        if failure:
            return failure
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        failure = self.receiver._failure("RCPT")
        if failure:
            return failure
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self.receiver._failure("DATA")
        if failure:
            return failure
        self.receiver._record(envelope)
        return "250 Message accepted for delivery"
