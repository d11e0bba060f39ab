"""Delivery channels against real servers on 127.0.0.1: aiosmtpd and a Standard Webhooks receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import pickle
import random
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from consultations.adapters.channels import (
    Channel,
    ConsoleChannel,
    DeliveryFailed,
    EmailChannel,
    Notification,
    WebhookChannel,
    channels_from_settings,
    close_channels,
    meeting_calendar,
    retry_after_seconds,
)
from consultations.adapters.ical_feed import FeedMeeting
from consultations.service_layer.retry import backoff
from consultations.settings import Settings, SettingsError
from tests.daemon.receivers import Reply, SmtpReceiver, WebhookReceiver, free_port

SECRET = "whsec_" + base64.b64encode(b"consultations-test-secret-32byte").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-else-s-secret-32-bytes!").decode()
SENDER = "reminders@mfa.example"
RECIPIENTS = ("desk-az@mfa.example", "desk-tm@mfa.example")
# A bound for local servers to answer and mail to arrive, not a speed requirement: generous,
# since CI shares a loaded machine. Tests about timeouts use their own short ones and decide
# from the failure's cause, not from a stopwatch.
TIMEOUT = 30.0

TURKMEN_SUBJECT = "Ýatlatma: Aşgabat — Bakı syýasy maslahatlaşmalary ertir sagat 10:00-da başlanýar"
AZERBAIJANI_SUBJECT = (
    "Xatırlatma: Bakı–Aşqabad siyasi məsləhətləşmələri sabah saat 10:00-da başlayır"
)


def meeting(**changes: Any) -> FeedMeeting:
    values: dict[str, Any] = {
        "meeting_id": "mtg-0001",
        "title": "Siyasi məsləhətləşmələr / Syýasy maslahatlaşmalar",
        "status": "planned",
        "start_utc": datetime(2026, 5, 14, 6, 0, tzinfo=UTC),
        "end_utc": datetime(2026, 5, 14, 12, 0, tzinfo=UTC),
        "start_local": "2026-05-14T10:00:00",
        "end_local": "2026-05-14T16:00:00",
        "tz": "Asia/Baku",
        "venue": "XİN, Şıxəli Qurbanov 50, Bakı",
        "host": "AZ-MFA",
        "agenda": ("Açılış", "Energetika"),
        "track_id": "trk-political",
        "track_title": "Political consultations",
        "areas": ("politics",),
        "classification": "public",
        "sequence": 0,
        "created_at": datetime(2026, 1, 10, 9, 0, tzinfo=UTC),
        "last_modified": datetime(2026, 1, 12, 15, 30, tzinfo=UTC),
        "host_name": "Azərbaycan Respublikasının Xarici İşlər Nazirliyi",
        "host_email": "protocol@mfa.example",
    }
    values.update(changes)
    return FeedMeeting(**values)


def reminder(key: str = "rem-3f2a9c-P1D-email", **changes: Any) -> Notification:
    values: dict[str, Any] = {
        "idempotency_key": key,
        "type": "reminder.due",
        "subject": AZERBAIJANI_SUBJECT,
        "body": "Görüş: sabah 10:00 (Asia/Baku)\nMəkan: XİN, Bakı\nGündəlik: açılış, energetika",
        "subject_data": {
            "meeting": {
                "id": "mtg-0001",
                "title": "Siyasi məsləhətləşmələr",
                "start": "2026-05-14T06:00:00Z",
                "tz": "Asia/Baku",
            }
        },
        "calendar": meeting_calendar(meeting()),
    }
    values.update(changes)
    return Notification(**values)


def at_risk(key: str = "cad-trk-political-2026H1-at-risk") -> Notification:
    return Notification(
        idempotency_key=key,
        type="cadence.at_risk",
        subject="Cadence at risk: Political consultations, 2026 H1",
        body="No meeting is planned in the window ending 2026-06-30.",
        subject_data={
            "window": {
                "track": "trk-political",
                "start": "2026-01-01",
                "end": "2026-06-30",
                "required": 1,
                "held": 0,
                "planned": 0,
            }
        },
    )


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET) as receiver:
        yield receiver


@pytest.fixture
def webhook(hooks: WebhookReceiver) -> Iterator[WebhookChannel]:
    with WebhookChannel(hooks.url, SECRET, timeout=TIMEOUT) as channel:
        yield channel


def email_channel(url: str) -> EmailChannel:
    return EmailChannel(url, SENDER, RECIPIENTS, timeout=TIMEOUT)


def dead_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    return free_port()


# --------------------------------------------------------------------------- Notification


def test_notification_rejects_a_key_that_cannot_be_a_message_id() -> None:
    for bad in ("", "rem:mtg-1:P1D", "has space", "a@b", "<x>", "x" * 201, "dot..dot", ".x"):
        with pytest.raises(ValueError, match="idempotency_key"):
            reminder(key=bad)


def test_notification_rejects_unknown_types_reserved_keys_and_non_json_values() -> None:
    with pytest.raises(ValueError, match="type"):
        reminder(type="reminder.sent")
    with pytest.raises(ValueError, match="reserved"):
        reminder(subject_data={"type": "x"})
    with pytest.raises(ValueError, match="JSON"):
        reminder(subject_data={"meeting": {"start": datetime(2026, 5, 14, tzinfo=UTC)}})
    with pytest.raises(ValueError, match="JSON"):
        reminder(subject_data={"meeting": {"score": float("nan")}})


# --------------------------------------------------------------------------- console


def test_console_prints_one_line_and_does_not_log_it_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The daemon logs INFO to stderr: a line logged at INFO too showed twice on a terminal.
    stream = io.StringIO()
    channel = ConsoleChannel(stream)
    with caplog.at_level(logging.DEBUG, logger="consultations.reminders"):
        channel.send(reminder(subject="Reminder:\nsplit  subject"))
        channel.send(at_risk())
    assert stream.getvalue().splitlines() == [
        "[reminder.due] Reminder: split subject",
        "[cadence.at_risk] Cadence at risk: Political consultations, 2026 H1",
    ]
    logged = [r for r in caplog.records if r.name == "consultations.reminders"]
    assert [r.getMessage() for r in logged] == stream.getvalue().splitlines()
    assert all(r.levelno == logging.DEBUG for r in logged)
    assert logged[0].idempotency_key == "rem-3f2a9c-P1D-email"  # type: ignore[attr-defined]


def test_console_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleChannel().send(at_risk())
    assert capsys.readouterr().out == (
        "[cadence.at_risk] Cadence at risk: Political consultations, 2026 H1\n"
    )


def test_console_escapes_what_an_ascii_stream_cannot_encode() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    ConsoleChannel(stream).send(reminder(subject="Bakı"))
    assert raw.getvalue() == b"[reminder.due] Bak\\u0131\n"


def test_console_closed_stream_is_a_transient_failure() -> None:
    stream = io.StringIO()
    stream.close()
    with pytest.raises(DeliveryFailed) as failure:
        ConsoleChannel(stream).send(at_risk())
    assert not failure.value.permanent


# --------------------------------------------------------------------------- email


def test_email_one_message_per_notification_to_all_recipients(smtp: SmtpReceiver) -> None:
    channel = email_channel(smtp.url)
    channel.send(reminder("rem-1"))
    channel.send(at_risk("cad-1"))
    mails = smtp.wait_for(2, timeout=TIMEOUT)
    assert len(mails) == 2
    assert smtp.key_counts() == {"rem-1": 1, "cad-1": 1}
    first, second = mails
    assert first.mail_from == SENDER
    assert first.rcpt_tos == RECIPIENTS
    assert first.message_id == "<rem-1@consultations>"
    assert second.message_id == "<cad-1@consultations>"
    assert str(first.message["From"]) == SENDER
    assert str(first.message["To"]) == ", ".join(RECIPIENTS)
    assert str(first.message["Auto-Submitted"]) == "auto-generated"
    assert str(first.message["X-Consultations-Type"]) == "reminder.due"
    assert first.message["Date"] is not None
    body = first.message.get_body(("plain",))
    assert body is not None
    assert body.get_content().splitlines() == reminder().body.splitlines()
    assert second.subject == "Cadence at risk: Political consultations, 2026 H1"
    assert not list(second.message.iter_attachments())  # no calendar given, none attached


def test_email_calendar_attachment_parses(smtp: SmtpReceiver) -> None:
    notification = reminder()
    email_channel(smtp.url).send(notification)
    (mail,) = smtp.wait_for(1, timeout=TIMEOUT)
    (attachment,) = mail.message.iter_attachments()
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_param("charset") == "utf-8"
    assert attachment.get_filename() == "meeting.ics"
    payload = attachment.get_payload(decode=True)
    assert payload == notification.calendar
    calendar = icalendar.Calendar.from_ical(payload)
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == "mtg-0001@consultations"
    assert str(event["SUMMARY"]) == "Siyasi məsləhətləşmələr / Syýasy maslahatlaşmalar"
    assert event.decoded("DTSTART") == datetime(2026, 5, 14, 6, 0, tzinfo=UTC)


def test_email_calendar_without_a_method_has_no_method_parameter(smtp: SmtpReceiver) -> None:
    notification = reminder(calendar=meeting_calendar(meeting(host_email=None)))
    assert notification.calendar is not None
    assert b"METHOD" not in notification.calendar  # no ORGANIZER known: no iTIP method
    email_channel(smtp.url).send(notification)
    (mail,) = smtp.wait_for(1, timeout=TIMEOUT)
    (attachment,) = mail.message.iter_attachments()
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") is None  # RFC 6047: it must match the object
    assert attachment.get_param("charset") == "utf-8"


def test_the_meeting_calendar_is_stamped_when_given_a_time() -> None:
    sent = datetime(2026, 5, 13, 6, 0, 5, tzinfo=UTC)
    stamped = meeting_calendar(meeting(), stamp=sent)
    assert b"\r\nDTSTAMP:20260513T060005Z\r\n" in stamped
    assert b"\r\nLAST-MODIFIED:20260112T153000Z\r\n" in stamped
    assert b"\r\nORGANIZER;CN=" in stamped
    assert b"\r\nDTSTAMP:20260112T153000Z\r\n" in meeting_calendar(meeting())


@pytest.mark.parametrize("subject", [TURKMEN_SUBJECT, AZERBAIJANI_SUBJECT])
def test_email_utf8_subject_and_body_survive(smtp: SmtpReceiver, subject: str) -> None:
    body = f"{subject}\n\nŞäher: Aşgabat; Şəhər: Bakı; ÝÜŇÖÄŽ ƏĞÇŞÖÜI ı\n" + "uzyn setir " * 40
    email_channel(smtp.url).send(reminder(subject=subject, body=body))
    (mail,) = smtp.wait_for(1, timeout=TIMEOUT)
    assert mail.subject == subject
    assert max(len(line) for line in mail.raw.splitlines()) <= 998  # folded/encoded for SMTP
    text = mail.message.get_body(("plain",))
    assert text is not None
    assert text.get_content().rstrip("\n") == body.rstrip("\n")


def test_email_server_answering_451_is_transient(smtp: SmtpReceiver) -> None:
    smtp.fail_next("451 4.3.0 Mailbox temporarily unavailable")
    with pytest.raises(DeliveryFailed) as failure:
        email_channel(smtp.url).send(reminder())
    assert not failure.value.permanent
    assert failure.value.retry_after is None
    assert "451" in str(failure.value)
    assert smtp.mails() == []
    email_channel(smtp.url).send(reminder())  # the retry goes through
    assert smtp.key_counts() == {"rem-3f2a9c-P1D-email": 1}


def test_email_server_answering_550_is_permanent(smtp: SmtpReceiver) -> None:
    smtp.fail_next("550 5.7.1 Message rejected by policy")
    with pytest.raises(DeliveryFailed) as failure:
        email_channel(smtp.url).send(reminder())
    assert failure.value.permanent
    assert "550" in str(failure.value)
    assert smtp.mails() == []


@pytest.mark.parametrize(
    ("stage", "reply", "permanent"),
    [
        ("MAIL", "451 4.7.1 Greylisted, try later", False),
        ("MAIL", "553 5.7.1 Sender not allowed", True),
        ("RCPT", "450 4.2.1 Mailbox busy", False),
        ("RCPT", "550 5.1.1 No such user", True),
    ],
)
def test_email_refusals_at_envelope_stage(
    smtp: SmtpReceiver, stage: str, reply: str, permanent: bool
) -> None:
    smtp.fail_next(reply, stage=stage, times=len(RECIPIENTS))
    with pytest.raises(DeliveryFailed) as failure:
        email_channel(smtp.url).send(reminder())
    assert failure.value.permanent is permanent
    assert smtp.mails() == []


def test_email_some_recipients_refused_still_counts_as_delivered(
    smtp: SmtpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    smtp.fail_next("550 5.1.1 No such user", stage="RCPT")  # the first recipient only
    with caplog.at_level(logging.WARNING, logger="consultations.reminders"):
        email_channel(smtp.url).send(reminder())
    (mail,) = smtp.wait_for(1, timeout=TIMEOUT)
    assert mail.rcpt_tos == RECIPIENTS[1:]
    assert "refused" in caplog.text


def test_email_display_names_in_headers_bare_addresses_in_envelope(smtp: SmtpReceiver) -> None:
    channel = EmailChannel(
        smtp.url,
        "Consultations <reminders@mfa.example>",
        ['"Desk, AZ" <desk-az@mfa.example>', "desk-tm@mfa.example"],
        timeout=TIMEOUT,
    )
    channel.send(at_risk())
    (mail,) = smtp.wait_for(1, timeout=TIMEOUT)
    assert mail.mail_from == "reminders@mfa.example"
    assert mail.rcpt_tos == RECIPIENTS
    assert str(mail.message["From"]) == "Consultations <reminders@mfa.example>"
    assert [a.addr_spec for a in mail.message["To"].addresses] == list(RECIPIENTS)


def test_email_server_down_is_transient() -> None:
    with pytest.raises(DeliveryFailed) as failure:
        email_channel(f"smtp://127.0.0.1:{dead_port()}").send(reminder())
    assert not failure.value.permanent
    # Refused at once, not waited out: the cause is the refusal, not a timeout.
    assert isinstance(failure.value.__cause__, ConnectionRefusedError), failure.value


def test_email_server_that_never_greets_times_out_transiently() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        channel = EmailChannel(f"smtp://127.0.0.1:{port}", SENDER, RECIPIENTS, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(DeliveryFailed) as failure:
            channel.send(reminder())
    assert not failure.value.permanent
    assert "timed out" in str(failure.value)  # it gave up waiting for the greeting
    assert time.monotonic() - started < TIMEOUT  # a bound against hanging, not a speed test


# --------------------------------------------------------------------------- webhook


def test_webhook_delivers_a_verified_signed_body(
    hooks: WebhookReceiver, webhook: WebhookChannel
) -> None:
    notification = reminder()
    before = int(time.time())
    webhook.send(notification)
    after = int(time.time())
    (delivery,) = hooks.deliveries()
    assert delivery.verified is True
    assert delivery.status == 200
    assert delivery.webhook_id == notification.idempotency_key
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["webhook-signature"].startswith("v1,")
    assert before <= int(delivery.headers["webhook-timestamp"]) <= after  # when it was sent
    assert delivery.json() == {
        "type": "reminder.due",
        "idempotency_key": notification.idempotency_key,
        "meeting": dict(notification.subject_data["meeting"]),
        "subject": AZERBAIJANI_SUBJECT,
    }
    # the signature is over "id.timestamp.body" exactly as the Standard Webhooks spec says
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{delivery.webhook_id}.{delivery.headers['webhook-timestamp']}.".encode()
    expected = hmac.new(key, signed + delivery.body, hashlib.sha256).digest()
    assert delivery.headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


def test_webhook_window_body(hooks: WebhookReceiver, webhook: WebhookChannel) -> None:
    webhook.send(at_risk())
    (delivery,) = hooks.accepted()
    body = delivery.json()
    assert body["type"] == "cadence.at_risk"
    assert body["idempotency_key"] == "cad-trk-political-2026H1-at-risk"
    assert body["window"]["track"] == "trk-political"
    assert body["window"]["end"] == "2026-06-30"
    assert set(body) == {"type", "idempotency_key", "window", "subject"}


def test_webhook_redelivery_carries_the_same_id(
    hooks: WebhookReceiver, webhook: WebhookChannel
) -> None:
    webhook.send(reminder("rem-a"))
    webhook.send(reminder("rem-a"))
    webhook.send(reminder("rem-b"))
    assert hooks.accepted_counts() == {"rem-a": 2, "rem-b": 1}
    assert hooks.count("rem-a") == 2


def test_webhook_receiver_with_another_secret_rejects_it() -> None:
    with (
        WebhookReceiver(secret=OTHER_SECRET) as strict,
        WebhookChannel(strict.url, SECRET, timeout=TIMEOUT) as channel,
    ):
        with pytest.raises(DeliveryFailed) as failure:
            channel.send(reminder())
        (delivery,) = strict.deliveries()
    assert delivery.verified is False
    assert delivery.status == 401
    assert failure.value.permanent  # 401: other 4xx
    assert strict.accepted_counts() == {}
    # and straight through the library: the right secret verifies, a wrong one or a
    # tampered body does not
    assert Webhook(SECRET).verify(delivery.body, dict(delivery.headers))["type"] == "reminder.due"
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER_SECRET).verify(delivery.body, dict(delivery.headers))
    tampered = delivery.body.replace(b"reminder.due", b"cadence.missed")
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, dict(delivery.headers))


def test_webhook_429_with_retry_after_seconds(
    hooks: WebhookReceiver, webhook: WebhookChannel
) -> None:
    hooks.script(Reply(429, {"Retry-After": "7"}))
    with pytest.raises(DeliveryFailed) as failure:
        webhook.send(reminder())
    assert not failure.value.permanent
    assert failure.value.retry_after == 7.0
    webhook.send(reminder())
    assert hooks.counts() == {"rem-3f2a9c-P1D-email": 2}
    assert hooks.accepted_counts() == {"rem-3f2a9c-P1D-email": 1}


def test_webhook_503_with_http_date(hooks: WebhookReceiver, webhook: WebhookChannel) -> None:
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=120)
    hooks.script(Reply(503, {"Retry-After": format_datetime(until, usegmt=True)}))
    before = datetime.now(UTC)
    with pytest.raises(DeliveryFailed) as failure:
        webhook.send(reminder())
    after = datetime.now(UTC)
    assert not failure.value.permanent
    assert failure.value.retry_after is not None
    # The seconds from the answer to that date: bracketed by the moments around the send.
    bounds = ((until - after).total_seconds(), (until - before).total_seconds())
    assert bounds[0] <= failure.value.retry_after <= bounds[1]


@pytest.mark.parametrize("header", [None, "soon", "-5", "1.5"])
def test_webhook_503_without_a_usable_retry_after(
    hooks: WebhookReceiver, webhook: WebhookChannel, header: str | None
) -> None:
    hooks.script(Reply(503, {"Retry-After": header} if header else {}))
    with pytest.raises(DeliveryFailed) as failure:
        webhook.send(reminder())
    assert not failure.value.permanent
    assert failure.value.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422, 302])
def test_webhook_client_errors_and_redirects_are_permanent(
    hooks: WebhookReceiver, webhook: WebhookChannel, status: int
) -> None:
    hooks.script(Reply(status, {"Location": "http://127.0.0.1:1/elsewhere"}, b"no such hook"))
    with pytest.raises(DeliveryFailed) as failure:
        webhook.send(reminder())
    assert failure.value.permanent
    assert failure.value.retry_after is None
    assert str(status) in str(failure.value)
    assert len(hooks.deliveries()) == 1  # no redirect was followed


@pytest.mark.parametrize("status", [500, 502, 504, 408])
def test_webhook_server_errors_are_transient(
    hooks: WebhookReceiver, webhook: WebhookChannel, status: int
) -> None:
    hooks.script(status)
    with pytest.raises(DeliveryFailed) as failure:
        webhook.send(reminder())
    assert not failure.value.permanent
    assert failure.value.retry_after is None


def test_webhook_failures_do_not_reveal_the_url_path_or_query(hooks: WebhookReceiver) -> None:
    hooks.script(404)
    url = hooks.url + "/T0KEN-in-path?token=s3cret"
    with (
        WebhookChannel(url, SECRET, timeout=TIMEOUT) as channel,
        pytest.raises(DeliveryFailed) as failure,
    ):
        channel.send(reminder())
    assert f"http://127.0.0.1:{hooks.port} answered 404" in str(failure.value)
    assert "T0KEN" not in str(failure.value)
    assert "s3cret" not in str(failure.value)
    assert hooks.deliveries()[0].path == "/hooks/T0KEN-in-path?token=s3cret"


def test_delivery_failed_survives_pickling() -> None:
    original = DeliveryFailed("webhook: 429", retry_after=7.0)
    copy = pickle.loads(pickle.dumps(original))
    assert (str(copy), copy.permanent, copy.retry_after) == ("webhook: 429", False, 7.0)


def test_webhook_connection_refused_is_transient() -> None:
    url = f"http://127.0.0.1:{dead_port()}/hooks"
    with (
        WebhookChannel(url, SECRET, timeout=TIMEOUT) as channel,
        pytest.raises(DeliveryFailed) as failure,
    ):
        channel.send(reminder())
    assert not failure.value.permanent
    assert failure.value.retry_after is None


def test_webhook_slow_receiver_times_out_transiently(hooks: WebhookReceiver) -> None:
    hooks.hold()  # the receiver answers only once the sender has given up
    started = time.monotonic()
    try:
        with (
            WebhookChannel(hooks.url, SECRET, timeout=0.3) as channel,
            pytest.raises(DeliveryFailed) as failure,
        ):
            channel.send(reminder())
    finally:
        hooks.release()
    assert not failure.value.permanent
    assert isinstance(failure.value.__cause__, httpx.TimeoutException), failure.value
    assert len(hooks.deliveries()) == 1  # it got there, and was never answered in time
    assert time.monotonic() - started < TIMEOUT  # a bound against hanging, not a speed test


def test_webhook_uses_a_client_passed_in_and_leaves_it_open(hooks: WebhookReceiver) -> None:
    with httpx.Client() as client:
        channel = WebhookChannel(hooks.url, SECRET, client=client)
        channel.send(at_risk())
        channel.close()
        assert not client.is_closed
    assert hooks.accepted_counts() == {"cad-trk-political-2026H1-at-risk": 1}


def test_retry_after_parsing() -> None:
    now = datetime(2026, 5, 14, 6, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(" 120 ", now) == 120.0
    assert retry_after_seconds("Thu, 14 May 2026 06:01:30 GMT", now) == 90.0
    assert retry_after_seconds("Thu, 14 May 2026 05:00:00 GMT", now) == 0.0  # in the past
    assert retry_after_seconds(None, now) is None
    assert retry_after_seconds("", now) is None
    assert retry_after_seconds("tomorrow", now) is None
    assert retry_after_seconds("-1", now) is None


# --------------------------------------------------------------------------- backoff


def test_backoff_ceiling_grows_exponentially_then_caps() -> None:
    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    top = Top()
    assert [backoff(n, rng=top) for n in range(1, 9)] == [
        30.0,
        60.0,
        120.0,
        240.0,
        480.0,
        960.0,
        1920.0,
        3600.0,
    ]
    assert backoff(10_000, rng=top) == 3600.0  # no overflow
    assert backoff(3, base=1.0, cap=10.0, rng=top) == 4.0


def test_backoff_is_full_jitter_within_bounds() -> None:
    rng = random.Random(1)
    for attempt in range(1, 15):
        ceiling = min(3600.0, 30.0 * 2 ** (attempt - 1))
        samples = [backoff(attempt, rng=rng) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) - min(samples) > ceiling / 2  # spread over the whole range
    means = [sum(backoff(n, rng=rng) for _ in range(500)) / 500 for n in (1, 3, 5)]
    assert means[0] < means[1] < means[2]


def test_backoff_is_deterministic_with_a_seeded_rng() -> None:
    first = [backoff(n, rng=random.Random(42)) for n in range(1, 10)]
    second = [backoff(n, rng=random.Random(42)) for n in range(1, 10)]
    assert first == second
    assert 0.0 <= backoff(1) <= 30.0  # the default source works too


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff(0)
    with pytest.raises(ValueError, match="base"):
        backoff(1, base=0)


# --------------------------------------------------------------------------- settings


def names(channels: list[Channel]) -> list[str]:
    return [channel.name for channel in channels]


def test_console_only_by_default() -> None:
    assert names(channels_from_settings(Settings())) == ["console"]


def test_email_and_webhook_when_configured() -> None:
    smtp_settings = Settings(
        smtp_url="smtp://mail.example:2525", smtp_from=SENDER, smtp_to=RECIPIENTS
    )
    channels = channels_from_settings(smtp_settings)
    assert names(channels) == ["console", "email"]
    assert isinstance(channels[1], EmailChannel)
    assert (channels[1].host, channels[1].port, channels[1].recipients) == (
        "mail.example",
        2525,
        RECIPIENTS,
    )
    both = Settings(
        smtp_url="smtp://mail.example",
        smtp_from=SENDER,
        smtp_to=RECIPIENTS,
        webhook_url="https://hooks.example/consultations",
        webhook_secret=SECRET,
    )
    channels = channels_from_settings(both)
    assert names(channels) == ["console", "email", "webhook"]
    assert isinstance(channels[1], EmailChannel)
    assert channels[1].port == 25
    close_channels(channels)
    only_hook = Settings(webhook_url="http://127.0.0.1:9/h", webhook_secret=SECRET)
    channels = channels_from_settings(only_hook)
    assert names(channels) == ["console", "webhook"]
    close_channels(channels)


def test_smtp_addresses_without_url_leave_email_off() -> None:
    assert names(channels_from_settings(Settings(smtp_from=SENDER, smtp_to=RECIPIENTS))) == [
        "console"
    ]


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        (Settings(webhook_url="https://hooks.example/x"), "webhook_secret"),
        (Settings(webhook_url="https://hooks.example/x", webhook_secret="abc"), "webhook_secret"),
        (Settings(webhook_url="https://h.example/x", webhook_secret="whsec_!!!"), "webhook_secret"),
        (Settings(webhook_url="https://h.example/x", webhook_secret="whsec_"), "webhook_secret"),
        (
            Settings(webhook_url="https://h.example/x", webhook_secret="whsec_abcde"),
            "webhook_secret",
        ),
        (Settings(webhook_url="ftp://hooks.example/x", webhook_secret=SECRET), "webhook_url"),
        (Settings(webhook_url="hooks.example/x", webhook_secret=SECRET), "webhook_url"),
        (Settings(webhook_url="https://", webhook_secret=SECRET), "webhook_url"),
        (Settings(webhook_url="http://h.example:99999/", webhook_secret=SECRET), "webhook_url"),
        (
            Settings(smtp_url="http://mail.example", smtp_from=SENDER, smtp_to=RECIPIENTS),
            "smtp_url",
        ),
        (Settings(smtp_url="smtp://", smtp_from=SENDER, smtp_to=RECIPIENTS), "smtp_url"),
        (
            Settings(smtp_url="smtp://m.example:smtp", smtp_from=SENDER, smtp_to=RECIPIENTS),
            "smtp_url",
        ),
        (
            Settings(smtp_url="smtp://u:p@m.example:25", smtp_from=SENDER, smtp_to=RECIPIENTS),
            "smtp_url",
        ),
        (Settings(smtp_url="mail.example:25", smtp_from=SENDER, smtp_to=RECIPIENTS), "smtp_url"),
        (Settings(smtp_url="smtp://mail.example:25", smtp_to=RECIPIENTS), "smtp_from"),
        (Settings(smtp_url="smtp://mail.example:25", smtp_from=SENDER), "smtp_to"),
        (
            Settings(smtp_url="smtp://m.example", smtp_from="nobody", smtp_to=RECIPIENTS),
            "smtp_from",
        ),
        (Settings(smtp_url="smtp://m.example", smtp_from=SENDER, smtp_to=("a b@x",)), "smtp_to"),
    ],
)
def test_unusable_settings_name_the_setting(settings: Settings, setting: str) -> None:
    with pytest.raises(SettingsError) as error:
        channels_from_settings(settings)
    assert str(error.value).startswith(f"{setting}:")
    assert "consultations-test-secret" not in str(error.value)


def test_settings_from_the_environment_drive_real_deliveries(
    smtp: SmtpReceiver, hooks: WebhookReceiver
) -> None:
    environ = {
        "CONSULTATIONS_SMTP_URL": smtp.url,
        "CONSULTATIONS_SMTP_FROM": SENDER,
        "CONSULTATIONS_SMTP_TO": ", ".join(RECIPIENTS),
        "CONSULTATIONS_WEBHOOK_URL": hooks.url,
        "CONSULTATIONS_WEBHOOK_SECRET": SECRET,
    }
    settings = Settings.load(environ=environ, file=Path("/nonexistent/consultations.toml"))
    console = io.StringIO()
    channels = channels_from_settings(settings, console_stream=console)
    try:
        for channel in channels:
            channel.send(reminder("rem-env"))
    finally:
        close_channels(channels)
    assert console.getvalue() == f"[reminder.due] {AZERBAIJANI_SUBJECT}\n"
    assert smtp.wait_for_keys({"rem-env"}, timeout=TIMEOUT) == {"rem-env": 1}
    assert hooks.wait_for_ids({"rem-env"}, timeout=TIMEOUT) == {"rem-env": 1}
    assert json.loads(hooks.accepted()[0].body)["meeting"]["id"] == "mtg-0001"
