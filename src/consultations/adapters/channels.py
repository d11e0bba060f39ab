"""Delivery channels of the reminder daemon: console/log, SMTP email and Standard Webhooks.

Every channel takes one :class:`Notification` and either returns (delivered) or raises
:class:`DeliveryFailed`, which says whether a retry can help (``permanent``) and how long the
receiver asked to wait (``retry_after``). Delivery is at-least-once: the notification's
idempotency key travels with it (email ``Message-ID``, webhook ``webhook-id``) so receivers can
drop duplicates. Retry timing is :func:`~consultations.service_layer.retry.backoff`; the daemon
owns the retry loop and the dead letter state.

Channels are built from :class:`~consultations.settings.Settings` by
:func:`channels_from_settings`, which rejects unusable settings with a
:class:`~consultations.settings.SettingsError` naming the setting.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import smtplib
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.charset import Charset
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, parsedate_to_datetime
from typing import Any, Final, Protocol, TextIO
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from consultations.adapters.ical_feed import (
    FeedCalendar,
    FeedMeeting,
    calendar_method,
    render_calendar,
)
from consultations.domain.disclosure import BUSY, shows_details
from consultations.settings import Settings, SettingsError

LOGGER_NAME: Final = "consultations.reminders"
NOTIFICATION_TYPES: Final = frozenset(
    {"reminder.due", "cadence.at_risk", "cadence.missed", "meeting.awaiting_record"}
)
MESSAGE_ID_DOMAIN: Final = "consultations"
CALENDAR_FILENAME: Final = "meeting.ics"
SECRET_PREFIX: Final = "whsec_"
USER_AGENT: Final = "consultations-reminders/0.1"

_LOG = logging.getLogger(LOGGER_NAME)
_RESERVED_KEYS: Final = frozenset({"type", "idempotency_key", "subject"})
# RFC 5322 dot-atom-text: what may stand left of "@" in a Message-ID without quoting. Anything
# else (":" in particular) makes Python's email parser truncate or drop the header.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_MAX_KEY_LENGTH: Final = 200
_WHITESPACE = re.compile(r"\s+")
_NOT_SPACE = re.compile(r"[^\S ]+")  # whitespace other than the plain space
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_DELTA_SECONDS = re.compile(r"\d+")
_MAX_DISPLAY_NAME: Final = 100  # characters; keeps an address line far below SMTP's 998 octets
_UTF8: Final = Charset("utf-8")
_HEADER_LINE: Final = 76  # RFC 2047's limit for a line holding encoded words
# Raw header values written by build_message are already folded and encoded: never refold them.
_SMTP_POLICY: Final = policy.SMTP.clone(refold_source="none")


# --------------------------------------------------------------------------- the contract


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to deliver on every channel, with the key that makes redelivery harmless.

    ``idempotency_key`` must be RFC 5322 dot-atom text (letters, digits, ``-._`` and
    ``!#$%&'*+/=?^`{|}~``; no ``:``, spaces or ``@``), at most 200 characters, because it
    becomes the email ``Message-ID`` ``<key@consultations>`` verbatim. A hex digest is ideal.
    ``subject_data`` is merged into the webhook body, so it may not use the keys ``type``,
    ``idempotency_key`` or ``subject``, and its values must be JSON-native.
    """

    idempotency_key: str  # carried to the receiver: webhook-id, email Message-ID
    type: str  # "reminder.due" | "cadence.at_risk" | "cadence.missed" | "meeting.awaiting_record"
    subject: str  # one line, human readable
    body: str  # plain text, may be several lines
    subject_data: Mapping[str, Any]  # {"meeting": {...}} or {"window": {...}}
    calendar: bytes | None = None  # a one-meeting .ics to attach to emails (reminders)

    def __post_init__(self) -> None:
        key = self.idempotency_key
        if len(key) > _MAX_KEY_LENGTH or not _DOT_ATOM.fullmatch(key):
            raise ValueError(
                f"idempotency_key {key!r}: must be 1-{_MAX_KEY_LENGTH} characters of RFC 5322 "
                "dot-atom text (letters, digits, '-', '.', '_' …; no ':', '@' or spaces)"
            )
        if self.type not in NOTIFICATION_TYPES:
            raise ValueError(
                f"type {self.type!r}: expected one of {', '.join(sorted(NOTIFICATION_TYPES))}"
            )
        clashes = _RESERVED_KEYS.intersection(self.subject_data)
        if clashes:
            raise ValueError(f"subject_data: reserved key(s) {', '.join(sorted(clashes))}")
        try:
            json.dumps(self.subject_data, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"subject_data: not JSON-native: {error}") from None


class DeliveryFailed(Exception):
    """A channel could not deliver a notification.

    ``permanent=True``: never retry (goes to dead letter). ``retry_after``: seconds the
    receiver asked to wait (429/503 ``Retry-After``), else ``None``.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_failure, (self.message, self.permanent, self.retry_after))

    def __repr__(self) -> str:
        return (
            f"DeliveryFailed({self.message!r}, permanent={self.permanent}, "
            f"retry_after={self.retry_after})"
        )


def _rebuild_failure(message: str, permanent: bool, retry_after: float | None) -> DeliveryFailed:
    return DeliveryFailed(message, permanent=permanent, retry_after=retry_after)


class Channel(Protocol):
    """Somewhere a notification can be delivered."""

    name: str  # "console" | "email" | "webhook"
    # Cleared for restricted meetings' details; otherwise the dispatcher hands this channel
    # their busy-block form only (domain/disclosure.py). A channel without it is not cleared.
    cleared: bool

    def send(self, notification: Notification) -> None:
        """Deliver the notification or raise :class:`DeliveryFailed`."""
        ...


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); ``None`` if unusable.

    A date in the past gives ``0.0``. ``now`` (aware) defaults to the current time.
    """
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC of unknown origin; HTTP-dates are GMT
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def meeting_calendar(
    meeting: FeedMeeting, *, include_restricted: bool = False, stamp: datetime | None = None
) -> bytes:
    """A one-meeting ``.ics`` for :attr:`Notification.calendar`, rendered like the feeds.

    The calendar is named after the meeting only when its details are shown; a restricted
    meeting without ``include_restricted`` is a busy block, and so is the calendar's name.
    ``stamp`` (aware): when the message is built, its DTSTAMP (RFC 5545 §3.8.7.2: in an
    object sent with a METHOD, when the object was created); by default the meeting's last
    change, as in the feeds.
    """
    shown = shows_details(meeting.classification, cleared=include_restricted)
    calendar = FeedCalendar(
        name=meeting.title if shown else BUSY, include_restricted=include_restricted
    )
    return render_calendar(calendar, [meeting], stamp=stamp)


def message_id(idempotency_key: str) -> str:
    """The email ``Message-ID`` that carries an idempotency key: ``<key@consultations>``."""
    return f"<{idempotency_key}@{MESSAGE_ID_DOMAIN}>"


# --------------------------------------------------------------------------- console


class ConsoleChannel:
    """Writes ``[type] subject`` to a text stream (default stdout), once.

    The line is not logged at INFO as well: the daemon logs INFO to stderr, so on a terminal
    every notification would appear twice. It is logged at DEBUG, with its idempotency key.
    """

    name: str = "console"

    def __init__(self, stream: TextIO | None = None, *, cleared: bool = False) -> None:
        self._stream = stream
        self.cleared = cleared

    def send(self, notification: Notification) -> None:
        """Print one line; a stream that cannot be written is a transient failure."""
        line = f"[{notification.type}] {_one_line(notification.subject)}"
        _LOG.debug(
            "%s",
            line,
            extra={
                "idempotency_key": notification.idempotency_key,
                "notification_type": notification.type,
            },
        )
        stream = self._stream if self._stream is not None else sys.stdout
        try:
            try:
                print(line, file=stream, flush=True)
            except UnicodeEncodeError:  # e.g. an ASCII-only terminal: escape, do not fail
                encoding = getattr(stream, "encoding", None) or "ascii"
                safe = line.encode(encoding, "backslashreplace").decode(encoding)
                print(safe, file=stream, flush=True)
        except (OSError, ValueError) as error:  # closed stream, broken pipe, full disk
            raise DeliveryFailed(f"console: cannot write: {error}") from error

    def close(self) -> None:
        """Nothing to release."""


# --------------------------------------------------------------------------- email


class EmailChannel:
    """One SMTP message per notification to all recipients, one connection per message.

    ``url`` is ``smtp://host[:port]`` (port 25 by default); plain SMTP without authentication,
    as for a local relay. ``sender`` and ``recipients`` are ``a@b`` or ``Name <a@b>``.
    Replies 4xx and connection problems are transient, 5xx permanent. If some recipients
    accept and others refuse, the message counts as delivered (retrying would duplicate it
    for those who accepted) and the refusals are logged. ``cleared``: see :class:`Channel`.
    """

    name: str = "email"

    def __init__(
        self,
        url: str,
        sender: str,
        recipients: Sequence[str],
        timeout: float = 10.0,
        *,
        local_hostname: str | None = None,
        cleared: bool = False,
    ) -> None:
        self.cleared = cleared
        self.host, self.port = parse_smtp_url(url)
        self.sender_header, self.sender = _address(sender, "smtp_from")
        if isinstance(recipients, str) or not recipients:
            raise SettingsError("smtp_to: expected one or more addresses")
        parsed = [_address(recipient, "smtp_to") for recipient in recipients]
        self.recipient_headers = tuple(header for header, _ in parsed)
        self.recipients = tuple(address for _, address in parsed)
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.timeout = timeout
        self.local_hostname = local_hostname

    def build_message(self, notification: Notification) -> EmailMessage:
        """The message :meth:`send` submits (exposed for inspection and tests).

        The subject is :func:`header_text` of the notification's; display names are
        :func:`display_name_text` of the configured ones. Both are encoded here rather than by
        the ``email`` package, whose folding on Python 3.11/3.12 leaves a space between two
        encoded words, which RFC 2047 decoders drop (a subject ``Gyssagly maslahatlaşma``
        arrived as ``Gyssaglymaslahatlaşma``).
        """
        message = EmailMessage(policy=_SMTP_POLICY)
        message.set_raw("From", self.sender_header)
        message.set_raw("To", ",\r\n ".join(self.recipient_headers))
        subject = header_text(notification.subject)
        if _plain_header(subject):
            message["Subject"] = subject  # folded at spaces by the policy, losslessly
        else:
            message.set_raw("Subject", _encode_unstructured("Subject", subject))
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id(notification.idempotency_key)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message["X-Consultations-Type"] = notification.type
        message.set_content(notification.body, charset="utf-8", cte="quoted-printable")
        if notification.calendar is not None:
            # RFC 6047: the part's method parameter matches the object's METHOD, if any.
            method = calendar_method(notification.calendar)
            message.add_attachment(
                notification.calendar,
                maintype="text",
                subtype="calendar",
                filename=CALENDAR_FILENAME,
                params={"method": method, "charset": "utf-8"} if method else {"charset": "utf-8"},
            )
        return message

    def send(self, notification: Notification) -> None:
        """Submit the message; raise :class:`DeliveryFailed` unless the server accepted it."""
        message = self.build_message(notification)
        smtp = smtplib.SMTP(timeout=self.timeout, local_hostname=self.local_hostname)
        try:
            smtp.connect(self.host, self.port)
            refused = smtp.send_message(
                message, from_addr=self.sender, to_addrs=list(self.recipients)
            )
        except smtplib.SMTPRecipientsRefused as error:
            raise _refused(error.recipients) from error
        except smtplib.SMTPNotSupportedError as error:
            reason = f"email: server lacks a needed extension: {error}"
            raise DeliveryFailed(reason, permanent=True) from error
        except smtplib.SMTPResponseException as error:
            raise _smtp_failure(error.smtp_code, error.smtp_error) from error
        except (smtplib.SMTPException, OSError) as error:  # refused, reset, timeout, DNS
            raise DeliveryFailed(f"email: {self.host}:{self.port}: {error!r}") from error
        finally:
            _quit_quietly(smtp)
        if refused:
            _LOG.warning(
                "email %s delivered, but some recipients refused it: %s",
                notification.idempotency_key,
                {address: code for address, (code, _) in refused.items()},
            )

    def close(self) -> None:
        """Nothing to release: each message uses its own connection."""


def parse_smtp_url(url: str, setting: str = "smtp_url") -> tuple[str, int]:
    """Host and port of ``smtp://host[:port]``; :class:`SettingsError` naming ``setting``."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise SettingsError(f"{setting}: {url!r} is not a URL: {error}") from None
    if parts.scheme != "smtp":
        raise SettingsError(f"{setting}: expected smtp://host:port, got {url!r}")
    if not parts.hostname:
        raise SettingsError(f"{setting}: no host in {url!r}")
    if parts.username or parts.password:
        raise SettingsError(f"{setting}: credentials in the URL are not supported")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingsError(f"{setting}: expected smtp://host:port with nothing after it")
    return parts.hostname, port if port else smtplib.SMTP_PORT


def header_text(text: str) -> str:
    """What an email subject says for ``text``: one line, its ends trimmed.

    Line breaks, tabs and other whitespace become one space each run; runs of plain spaces
    inside the text are kept as they are.
    """
    return _NOT_SPACE.sub(" ", text).strip(" ")


def display_name_text(name: str) -> str:
    """What an email display name says for ``name``: words separated by single spaces.

    A display name is an RFC 5322 phrase, in which a run of whitespace means one space (and
    Python's parser reads it so), so runs are collapsed here and the ends trimmed.
    """
    return " ".join(name.split())


def _plain_header(text: str) -> bool:
    """Whether ``text`` can stand in a header unencoded (ASCII, nothing like an encoded word)."""
    return text.isascii() and "=?" not in text


def _encode_unstructured(name: str, text: str) -> str:
    """RFC 2047 encoded words for an unstructured header value, folded with CRLF.

    ``email.header.Header`` keeps the whitespace inside the encoded words, so a decoder that
    drops the folding between adjacent encoded words (as RFC 2047 says it must) loses nothing.
    """
    return Header(text, _UTF8, header_name=name).encode(linesep="\r\n", maxlinelen=_HEADER_LINE)


def _address(value: str, setting: str) -> tuple[str, str]:
    """``(header form, envelope address)`` of ``a@b`` or ``Name <a@b>``.

    A display name that is not plain ASCII becomes one RFC 2047 encoded word, never several:
    Python 3.11's address parser reads a space between two adjacent encoded words, which RFC
    2047 decoders drop, so only a single word reads the same everywhere.
    """
    found = getaddresses([value])
    if len(found) != 1:
        raise SettingsError(f"{setting}: {value!r} is not one email address")
    raw_name, address = found[0]
    local, _, domain = address.rpartition("@")
    if not local or not domain or _WHITESPACE.search(address):
        raise SettingsError(f"{setting}: {value!r} is not an email address")
    name = display_name_text(raw_name)
    if len(name) > _MAX_DISPLAY_NAME:
        raise SettingsError(f"{setting}: the display name is over {_MAX_DISPLAY_NAME} characters")
    if not name:
        return address, address
    if _plain_header(name):
        return formataddr((name, address)), address
    return f"{_UTF8.header_encode(name)} <{address}>", address


def _smtp_failure(code: int, text: bytes | str) -> DeliveryFailed:
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return DeliveryFailed(f"email: server replied {code} {reply}", permanent=500 <= code < 600)


def _refused(recipients: Mapping[str, tuple[int, bytes]]) -> DeliveryFailed:
    codes = {address: code for address, (code, _) in recipients.items()}
    permanent = all(500 <= code < 600 for code in codes.values())
    return DeliveryFailed(f"email: every recipient refused: {codes}", permanent=permanent)


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    """End the session; once the message is accepted, a failing QUIT must not fail delivery."""
    try:
        if smtp.sock is not None:
            smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


# --------------------------------------------------------------------------- webhook


class WebhookChannel:
    """POSTs JSON signed per Standard Webhooks; ``webhook-id`` is the idempotency key.

    Body: ``{"type", "idempotency_key", **subject_data, "subject"}``. 2xx is delivered;
    429/503 transient with the receiver's ``Retry-After``; 408 and other 5xx transient;
    redirects and other 4xx permanent; network errors and timeouts transient. ``timeout``
    applies to each request, also on a ``client`` passed in (which the caller then owns).
    ``cleared``: see :class:`Channel`.
    """

    name: str = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        *,
        cleared: bool = False,
    ) -> None:
        self.cleared = cleared
        self.url = parse_webhook_url(url)
        # Webhook URLs often carry a token in the path or query: messages name the origin only.
        self._where = _origin(self.url)
        self._signer = Webhook(_check_secret(secret))
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(follow_redirects=False)

    def payload(self, notification: Notification) -> str:
        """The exact JSON text that is signed and sent."""
        document = {
            "type": notification.type,
            "idempotency_key": notification.idempotency_key,
            **notification.subject_data,
            "subject": _one_line(notification.subject),
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    def headers(self, notification: Notification, body: str, now: datetime) -> dict[str, str]:
        """Standard Webhooks headers for ``body`` signed at ``now`` (aware)."""
        moment = now.astimezone(UTC)
        return {
            "webhook-id": notification.idempotency_key,
            "webhook-timestamp": str(math.floor(moment.timestamp())),
            "webhook-signature": self._signer.sign(notification.idempotency_key, moment, body),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }

    def send(self, notification: Notification) -> None:
        """POST the notification; raise :class:`DeliveryFailed` unless the receiver said 2xx."""
        body = self.payload(notification)
        headers = self.headers(notification, body, datetime.now(UTC))
        try:
            response = self._client.post(
                self.url, content=body.encode("utf-8"), headers=headers, timeout=self.timeout
            )
        except httpx.TransportError as error:  # connect, read, write, pool, timeouts, TLS
            raise DeliveryFailed(f"webhook: {self._where}: {error!r}") from error
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"webhook: {self._where}: {error!r}", permanent=True) from error
        _check_response(response, self._where)

    def close(self) -> None:
        """Close the HTTP client if this channel created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> WebhookChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def parse_webhook_url(url: str, setting: str = "webhook_url") -> str:
    """The URL if it is ``http(s)://host…``; :class:`SettingsError` naming ``setting``."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError as error:
        raise SettingsError(f"{setting}: {url!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise SettingsError(f"{setting}: expected an http:// or https:// URL, got {url!r}")
    if not parts.hostname:
        raise SettingsError(f"{setting}: no host in {url!r}")
    return text


def _check_secret(secret: str, setting: str = "webhook_secret") -> str:
    """The secret if it is ``whsec_<base64>`` of at least one byte; never echoes it."""
    if not secret.startswith(SECRET_PREFIX):
        raise SettingsError(f"{setting}: expected {SECRET_PREFIX}<base64>")
    encoded = secret[len(SECRET_PREFIX) :]
    bare = encoded.rstrip("=")
    try:
        if not _BASE64.fullmatch(encoded) or len(bare) % 4 == 1:
            raise binascii.Error
        key = base64.b64decode(bare + "=" * (-len(bare) % 4), validate=True)
    except binascii.Error:
        raise SettingsError(f"{setting}: the part after {SECRET_PREFIX} is not base64") from None
    if not key:
        raise SettingsError(f"{setting}: the key is empty")
    return secret


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _check_response(response: httpx.Response, where: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"webhook: {where} answered {status} {_excerpt(response)}".rstrip()
    if status in (429, 503):
        wait = retry_after_seconds(response.headers.get("retry-after"))
        raise DeliveryFailed(detail, retry_after=wait)
    if status == 408 or status >= 500:
        raise DeliveryFailed(detail)
    raise DeliveryFailed(detail, permanent=True)  # 1xx/3xx (no redirects followed), other 4xx


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return ""
    return _one_line(text)[:limit]


# --------------------------------------------------------------------------- wiring


def channels_from_settings(
    settings: Settings, console_stream: TextIO | None = None
) -> list[Channel]:
    """Console always; email when smtp_url+smtp_from+smtp_to are set; webhook when webhook_url is.

    Each is cleared for restricted details by its own setting (``console_restricted``,
    ``smtp_restricted``, ``webhook_restricted``), off by default.

    ``smtp_url`` without ``smtp_from`` or ``smtp_to``, and ``webhook_url`` without
    ``webhook_secret``, are errors; malformed URLs, addresses or secrets too. Every error is a
    :class:`SettingsError` whose message starts with the setting's name.
    """
    channels: list[Channel] = [ConsoleChannel(console_stream, cleared=settings.console_restricted)]
    if settings.smtp_url:
        if not settings.smtp_from:
            raise SettingsError("smtp_from: required when smtp_url is set")
        if not settings.smtp_to:
            raise SettingsError("smtp_to: required when smtp_url is set")
        channels.append(
            EmailChannel(
                settings.smtp_url,
                settings.smtp_from,
                settings.smtp_to,
                cleared=settings.smtp_restricted,
            )
        )
    elif settings.smtp_from or settings.smtp_to:
        _LOG.warning("smtp_from/smtp_to are set but smtp_url is not: email is off")
    if settings.webhook_url:
        if not settings.webhook_secret:
            raise SettingsError("webhook_secret: required when webhook_url is set")
        channels.append(
            WebhookChannel(
                settings.webhook_url, settings.webhook_secret, cleared=settings.webhook_restricted
            )
        )
    return channels


def close_channels(channels: Iterable[object]) -> None:
    """Release what channels hold (the webhook's HTTP client); ignores objects without close()."""
    for channel in channels:
        close = getattr(channel, "close", None)
        if callable(close):
            close()


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()
