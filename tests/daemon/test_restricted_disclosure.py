"""A restricted meeting's details leave the process only on channels cleared for them.

A real ``daemon --once --feeds-dir`` process sends a reminder for a restricted meeting, and a
nudge to record another that has ended, to an SMTP server and a webhook receiver on
127.0.0.1, prints to its console and writes feed files. Every byte that leaves it (the SMTP
DATA, the webhook's headers and body, the feed files, stdout and stderr) is searched for the meeting's title, venue and agenda, raw and
decoded (RFC 2047 headers, quoted-printable and base64 parts, folded and escaped iCalendar
text, JSON). Uncleared channels must show none of them; cleared ones must show them, which
proves the search finds what is there.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from consultations.domain.commands import AddTrack, PlanMeeting, RegisterParty
from consultations.domain.disclosure import (
    BUSY,
    for_channel,
    meeting_for_channel,
    redact_meeting,
)
from consultations.service_layer.feeds import new_feed
from consultations.settings import Settings, SettingsError
from tests.daemon.processes import Processes
from tests.daemon.receivers import SmtpReceiver, WebhookReceiver
from tests.projections.support import ANALYST, wire

SECRET = "whsec_" + base64.b64encode(b"restricted-disclosure-test-key!!").decode()
TITLE = "Zephyrine Quokka Ýörite Accord"
VENUE = "Vermilion Annex; Şäher, Aşgabat"
AGENDA = ("Obsidian Pelican Protocol", "Gümüş Marmoset, Bakı")
# Searched for one by one: a word survives where a whole phrase may be folded or split.
NEEDLES = ("Zephyrine", "Quokka", "Ýörite", "Vermilion", "Obsidian", "Pelican", "Gümüş", "Marmoset")
SETTINGS = ("CONSOLE_RESTRICTED", "SMTP_RESTRICTED", "WEBHOOK_RESTRICTED", "FEEDS_DIR_RESTRICTED")
NUDGE = "meeting.awaiting_record"


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET) as receiver:
        yield receiver


def plan_restricted_meeting(engine: Engine) -> None:
    """Two restricted meetings and a full feed.

    One 30 minutes from now (its one-hour reminder is due), one that ended three days ago
    and was never recorded (its nudge is due).
    """
    service = wire(engine)
    now = datetime.now(UTC)
    service.execute(RegisterParty(party_id="AZ-MFA", name="MFA of Azerbaijan", tz="UTC"), ANALYST)
    service.execute(
        AddTrack(track_id="sec", title="Track sec", kind="consultation", cadence="quarter",
                 start=now.date() - timedelta(days=10), tz="UTC", parties=("AZ-MFA",),
                 reminders=("PT1H",)),
        ANALYST,
    )  # fmt: skip
    ended = (now - timedelta(days=3)).replace(tzinfo=None, second=0, microsecond=0)
    service.execute(
        PlanMeeting(meeting_id="m-secret-past", title=TITLE, start=ended, track_id="sec", venue=VENUE,
                    agenda=AGENDA, classification="restricted"),
        ANALYST,
    )  # fmt: skip
    start = (now + timedelta(minutes=30)).replace(tzinfo=None, second=0, microsecond=0)
    service.execute(
        PlanMeeting(meeting_id="m-secret", title=TITLE, start=start, track_id="sec", venue=VENUE, agenda=AGENDA,
                    classification="restricted"),
        ANALYST,
    )  # fmt: skip
    _, feed = new_feed("all", "Everything", include_restricted=True)
    service.execute(feed, ANALYST)


def ical_text(data: bytes) -> str:
    """iCalendar bytes unfolded and unescaped, as a calendar client reads the values."""
    text = data.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "")
    for escaped, plain in (("\\n", "\n"), ("\\N", "\n"), ("\\,", ","), ("\\;", ";")):
        text = text.replace(escaped, plain)
    return text.replace("\\\\", "\\")


def mail_texts(message: EmailMessage) -> list[str]:
    """Every header decoded (RFC 2047) and every part decoded (base64, quoted-printable)."""
    texts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        texts += [f"{name}: {value}" for name, value in part.items()]
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        decoded = payload.decode("utf-8")
        texts.append(ical_text(payload) if part.get_content_type() == "text/calendar" else decoded)
    return texts


@pytest.mark.parametrize("cleared", [False, True], ids=["uncleared", "cleared"])
def test_every_byte_that_leaves_the_daemon(  # noqa: PLR0917 (fixtures)
    cleared: bool,
    migrated_engine: Engine,
    database_url: str,
    smtp: SmtpReceiver,
    hooks: WebhookReceiver,
    processes: Processes,
    tmp_path: Path,
) -> None:
    plan_restricted_meeting(migrated_engine)
    feeds_dir = tmp_path / "feeds"
    feeds_dir.mkdir()
    env = {
        "CONSULTATIONS_DATABASE_URL": database_url,
        "CONSULTATIONS_WEBHOOK_URL": hooks.url,
        "CONSULTATIONS_WEBHOOK_SECRET": SECRET,
        "CONSULTATIONS_SMTP_URL": smtp.url,
        "CONSULTATIONS_SMTP_FROM": "reminders@mfa.example",
        "CONSULTATIONS_SMTP_TO": "desk@mfa.example",
    }
    if cleared:
        env |= {f"CONSULTATIONS_{name}": "true" for name in SETTINGS}
    daemon = processes.run(
        "daemon", env, "daemon", "--once", "--feeds-dir", str(feeds_dir), timeout=90
    )
    assert daemon.returncode == 0, daemon.describe()

    (mail,) = [m for m in smtp.mails() if m.message["X-Consultations-Type"] == "reminder.due"]
    (hook,) = [h for h in hooks.deliveries() if h.json()["type"] == "reminder.due"]
    (nudge_mail,) = [m for m in smtp.mails() if m.message["X-Consultations-Type"] == NUDGE]
    (nudge_hook,) = [h for h in hooks.deliveries() if h.json()["type"] == NUDGE]
    (feed_file,) = feeds_dir.glob("*.ics")
    console_bytes = daemon.stdout_path.read_bytes() + daemon.stderr_path.read_bytes()
    console = console_bytes.decode("utf-8")
    sent = {
        "smtp": [mail.raw, nudge_mail.raw],
        "webhook": [
            *(
                b"".join(f"{k}: {v}\r\n".encode() for k, v in h.headers.items())
                for h in (hook, nudge_hook)
            ),
            hook.body,
            nudge_hook.body,
        ],
        "feed file": [feed_file.read_bytes()],
        "console": [console_bytes],
    }
    readable = {
        "smtp": mail_texts(mail.message) + mail_texts(nudge_mail.message),
        "webhook": [
            *(json.dumps(h.json(), ensure_ascii=False) for h in (hook, nudge_hook)),
            *hook.headers.values(),
            *nudge_hook.headers.values(),
        ],
        "feed file": [ical_text(feed_file.read_bytes())],
        "console": [console],
    }

    for channel, blobs in sent.items():
        found = [
            needle
            for needle in NEEDLES
            if any(needle.encode() in blob for blob in blobs)
            or any(needle in text for text in readable[channel])
        ]
        if cleared:
            assert found, f"the search found nothing on cleared channel {channel}"
        else:
            assert found == [], f"{channel} leaked {found}"

    subject = str(mail.message["Subject"])
    calendar = ical_text(next(iter(mail.message.iter_attachments())).get_content().encode())
    feed = ical_text(feed_file.read_bytes())
    if cleared:
        assert TITLE in subject
        assert VENUE in subject
        assert all(text in calendar and text in feed for text in (TITLE, VENUE, *AGENDA))
        assert hook.json()["meeting"]["title"] == TITLE
        assert hook.json()["meeting"]["venue"] == VENUE
        assert TITLE in console
        assert VENUE in console
        assert TITLE in str(nudge_mail.message["Subject"])
        assert nudge_hook.json()["meeting"]["title"] == TITLE
    else:
        assert subject.startswith(f"Reminder: {BUSY} on ")
        assert f"SUMMARY:{BUSY}" in calendar
        assert f"X-WR-CALNAME:{BUSY}" in calendar
        assert f"SUMMARY:{BUSY}" in feed
        assert hook.json()["meeting"]["title"] == BUSY
        assert hook.json()["meeting"]["classification"] == "restricted"
        assert f"Reminder: {BUSY} on " in console
        assert str(nudge_mail.message["Subject"]).startswith(f"Awaiting record: {BUSY} on ")
        assert nudge_hook.json()["meeting"]["title"] == BUSY
        assert f"Awaiting record: {BUSY} on " in console


def test_redaction_keeps_when_and_drops_everything_else() -> None:
    meeting = {
        "meeting_id": "m1", "title": TITLE, "venue": VENUE, "agenda": list(AGENDA),
        "start_local": "2027-03-10T13:00:00", "tz": "Asia/Baku", "offset": "PT1H",
        "classification": "restricted", "added_later": "Obsidian",
    }  # fmt: skip
    redacted = redact_meeting(meeting)
    assert redacted == {
        "meeting_id": "m1", "title": BUSY, "venue": None, "agenda": [],
        "start_local": "2027-03-10T13:00:00", "tz": "Asia/Baku", "offset": "PT1H",
        "classification": "restricted", "added_later": None,
    }  # fmt: skip
    assert meeting_for_channel(meeting, cleared=True) == meeting
    for classification in ("public", "internal"):
        shown = {**meeting, "classification": classification}
        assert meeting_for_channel(shown, cleared=False) == shown
    for unknown in (None, "secret"):
        assert (
            meeting_for_channel({**meeting, "classification": unknown}, cleared=False)["title"]
            == BUSY
        )
    window = {"window": {"track": "sec", "title": "Track sec", "held": 0}}
    assert for_channel(window, cleared=False) == window
    assert for_channel({"meeting": meeting}, cleared=False) == {"meeting": redacted}


def test_clearance_settings_are_off_by_default_and_must_be_true_or_false(tmp_path: Path) -> None:
    absent = tmp_path / "none.toml"
    default = Settings.load(environ={}, file=absent)
    flags = ("console_restricted", "smtp_restricted", "webhook_restricted", "feeds_dir_restricted")
    assert [getattr(default, name) for name in flags] == [False] * 4
    on = Settings.load(environ={"CONSULTATIONS_SMTP_RESTRICTED": "true"}, file=absent)
    assert on.smtp_restricted
    assert not on.webhook_restricted
    file = tmp_path / "consultations.toml"
    file.write_text("[consultations]\nwebhook_restricted = true\n", encoding="utf-8")
    assert Settings.load(environ={}, file=file).webhook_restricted
    with pytest.raises(SettingsError, match=r"^console_restricted: expected true or false"):
        Settings.load(environ={"CONSULTATIONS_CONSOLE_RESTRICTED": "maybe"}, file=absent)
