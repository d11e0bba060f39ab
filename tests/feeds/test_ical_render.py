"""The iCalendar feed renderer: RFC 5545 bytes, read back by three independent parsers."""

from __future__ import annotations

import dataclasses
import os
import random
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import icalendar
import pytest

from consultations.adapters.ical_feed import (
    PRODID,
    FeedCalendar,
    FeedMeeting,
    _published_vevent,
    render_calendar,
)
from tests.feeds.conftest import Parse
from tests.support.libical import LibicalCheck

REPO = Path(__file__).resolve().parents[2]

# 40 characters of Turkmen, Azerbaijani and Russian: two-byte letters across fold points.
TITLE = "Türkmen–Azərbaýjan ylalaşyk — Переговоры"
AGENDA = (
    "Açylyş sözi; Azərbaycan Respublikasının Xarici İşlər Nazirliyi, Bakı",
    "Энергетическое сотрудничество: газопровод через Каспийское море",
    "Ýük daşamak we üstaşyr ulag geçelgeleri, Türkmenbaşy — Ələt bərəsi",
    "Gümrük: şəhadətnamələrin qarşılıqlı tanınması \\ žurnallar",
)


def meeting(**changes: Any) -> FeedMeeting:
    """A planned public meeting in Baku; ``changes`` override any field."""
    base = FeedMeeting(
        meeting_id="mtg-0001",
        title="Intergovernmental commission",
        status="planned",
        start_utc=datetime(2026, 5, 14, 6, 0, tzinfo=UTC),
        end_utc=datetime(2026, 5, 14, 12, 0, tzinfo=UTC),
        start_local="2026-05-14T10:00:00",
        end_local="2026-05-14T16:00:00",
        tz="Asia/Baku",
        venue="MFA, Shikhali Gurbanov 50; Baku",
        host="AZ-MFA",
        agenda=("Opening", "Energy"),
        track_id="trk-energy",
        track_title="Energy and transit",
        areas=("energy", "transport"),
        classification="public",
        sequence=0,
        created_at=datetime(2026, 1, 10, 9, 0, tzinfo=UTC),
        last_modified=datetime(2026, 1, 12, 15, 30, tzinfo=UTC),
        host_name="Ministry of Foreign Affairs of the Republic of Azerbaijan",
        host_email="protocol@mfa.example",
    )
    return dataclasses.replace(base, **changes)


def sample_meetings() -> list[FeedMeeting]:
    """Several meetings covering every status and classification, with multi-area sets."""
    day = timedelta(days=1)
    return [
        meeting(),
        meeting(
            meeting_id="mtg-0002",
            title=TITLE,
            agenda=AGENDA,
            venue="Ашхабад, МИД Туркменистана",
            host="TM-MFA",
            host_name="Türkmenistanyň Daşary işler ministrligi",
            host_email="bilateral.desk@mfa.example",
            tz="Asia/Ashgabat",
            areas=("trade", "energy", "customs", "transport", "culture"),
            classification="internal",
        ),
        meeting(
            meeting_id="mtg-0003",
            status="cancelled",
            sequence=2,
            start_utc=datetime(2026, 5, 15, 6, 0, tzinfo=UTC),
            end_utc=datetime(2026, 5, 15, 7, 0, tzinfo=UTC),
        ),
        meeting(meeting_id="mtg-0004", classification="restricted", title="Security talks"),
        meeting(meeting_id="mtg-0005", status="held", start_utc=meeting().start_utc - day),
        # Same start as mtg-0001: ordered by UID.
        meeting(meeting_id="mtg-0000", status="rescheduled", sequence=1),
    ]


def render(*meetings: FeedMeeting, **calendar: Any) -> bytes:
    """Render a feed named "AZ–TM consultations" unless ``calendar`` says otherwise."""
    return render_calendar(FeedCalendar(**{"name": "AZ–TM consultations", **calendar}), meetings)


def physical_lines(data: bytes) -> list[bytes]:
    """The CRLF-terminated lines of the output, without their terminators."""
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def content_lines(data: bytes) -> list[str]:
    """Unfolded content lines."""
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")[:-1]


# --- bytes ------------------------------------------------------------------------------------


def test_only_crlf_line_ends_and_the_last_line_too() -> None:
    data = render(*sample_meetings())
    assert data.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")


def test_no_line_is_longer_than_75_octets_and_folds_keep_characters_whole() -> None:
    data = render(*sample_meetings())
    lines = physical_lines(data)
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # a fold inside a multi-byte character would not decode
    continuations = [line.decode() for line in lines if line.startswith(b" ")]
    assert any(not line[1].isascii() for line in continuations), "no fold before a non-ASCII"


def test_calendar_properties_come_before_the_components() -> None:
    lines = content_lines(render(*sample_meetings(), include_restricted=True))
    first_event = lines.index("BEGIN:VEVENT")
    assert lines[:first_event] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:AZ–TM consultations",
        "NAME:AZ–TM consultations",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    assert lines[-1] == "END:VCALENDAR"
    assert not any(line.startswith("PRODID:") and line != f"PRODID:{PRODID}" for line in lines)


def test_every_event_has_the_properties_subscribers_need() -> None:
    calendar = icalendar.Calendar.from_ical(render(*sample_meetings()))
    events = calendar.walk("VEVENT")
    assert len(events) == len(sample_meetings())
    for event in events:
        for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "STATUS", "LAST-MODIFIED"):
            assert name in event, f"{event.get('UID')} lacks {name}"


def test_times_are_utc_and_the_local_time_is_in_the_description() -> None:
    data = render(meeting())
    lines = content_lines(data)
    assert "DTSTART:20260514T060000Z" in lines
    assert "DTEND:20260514T120000Z" in lines
    assert "DTSTAMP:20260112T153000Z" in lines
    assert "CREATED:20260110T090000Z" in lines
    assert b"VTIMEZONE" not in data
    assert b"TZID" not in data
    description = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]["DESCRIPTION"]
    assert str(description).splitlines() == [
        "Local time: 2026-05-14 10:00–16:00 (Asia/Baku)",
        "Venue: MFA, Shikhali Gurbanov 50; Baku",
        "Host: AZ-MFA",
        "Track: Energy and transit",
        "Agenda:",
        "1. Opening",
        "2. Energy",
    ]


def test_dtstamp_is_the_last_change_unless_a_stamp_is_given() -> None:
    feed = content_lines(render(meeting()))
    assert "DTSTAMP:20260112T153000Z" in feed
    assert "LAST-MODIFIED:20260112T153000Z" in feed
    sent = datetime(2026, 5, 13, 6, 0, 7, 123456, tzinfo=timezone(timedelta(hours=4)))
    stamped = content_lines(render_calendar(FeedCalendar("x"), [meeting()], stamp=sent))
    assert "DTSTAMP:20260513T020007Z" in stamped
    assert "LAST-MODIFIED:20260112T153000Z" in stamped  # still the log's
    assert "CREATED:20260110T090000Z" in stamped
    # Without a METHOD (no ORGANIZER known) DTSTAMP is the last revision (RFC 5545 §3.8.7.2).
    unaddressed = meeting(host_email=None)
    plain = content_lines(render_calendar(FeedCalendar("x"), [unaddressed], stamp=sent))
    assert not any(line.startswith("METHOD") for line in plain)
    assert "DTSTAMP:20260112T153000Z" in plain


# --- ORGANIZER and METHOD (RFC 5546 §3.2.1: PUBLISH needs one ORGANIZER per VEVENT) ----------


def organizers(data: bytes) -> list[str]:
    return [line for line in content_lines(data) if line.startswith("ORGANIZER")]


def test_the_host_secretariat_is_the_organizer() -> None:
    data = render(meeting())
    assert organizers(data) == [
        "ORGANIZER;CN=Ministry of Foreign Affairs of the Republic of Azerbaijan"
        ":mailto:protocol@mfa.example"
    ]
    assert "METHOD:PUBLISH" in content_lines(data)


@pytest.mark.parametrize(
    ("meetings", "include_restricted", "method"),
    [
        ([meeting()], False, True),
        ([], False, True),  # no event: nothing to break the rule
        (sample_meetings(), True, True),
        ([meeting(host_email=None)], False, False),  # no address: no ORGANIZER, so no METHOD
        ([meeting(host=None, host_name=None, host_email=None)], False, False),
        ([meeting(), meeting(meeting_id="mtg-0002", host_email=None)], False, False),
        # A busy block names nobody (the host is a detail), so the calendar has no METHOD.
        (sample_meetings(), False, False),
        ([meeting(classification="restricted")], True, True),
    ],
    ids=[
        "one", "empty", "sample-restricted-shown", "no-address", "no-host", "one-without",
        "busy-block", "restricted-shown",
    ],
)  # fmt: skip
def test_method_publish_only_when_every_event_has_an_organizer(
    meetings: list[FeedMeeting], include_restricted: bool, method: bool
) -> None:
    data = render(*meetings, include_restricted=include_restricted)
    lines = content_lines(data)
    assert ("METHOD:PUBLISH" in lines) is method
    assert not any(line.startswith("METHOD") and line != "METHOD:PUBLISH" for line in lines)
    if method:
        assert len(organizers(data)) == lines.count("BEGIN:VEVENT")


def test_a_busy_block_has_no_organizer() -> None:
    data = render(meeting(classification="restricted"))
    assert organizers(data) == []
    assert b"protocol@mfa.example" not in data
    assert b"Azerbaijan" not in data


def test_the_organizer_name_falls_back_to_the_party_id() -> None:
    assert organizers(render(meeting(host_name=None))) == [
        "ORGANIZER;CN=AZ-MFA:mailto:protocol@mfa.example"
    ]


def test_organizer_parameter_and_address_are_made_valid(parse: Parse) -> None:
    odd = meeting(
        host_name='MFA; "Protocol", dept:\r\n\tBaku\x07',
        host_email="bilateral/desk%1?x#y@mfa.example",
    )
    data = render(odd)
    (line,) = organizers(data)
    assert line == (
        "ORGANIZER;CN=\"MFA; 'Protocol', dept: Baku\""
        ":mailto:bilateral%2Fdesk%251%3Fx%23y@mfa.example"
    )
    event = parse(data).event("mtg-0001@consultations")
    assert event.organizer is not None
    assert event.organizer.lower() == "mailto:bilateral%2fdesk%251%3fx%23y@mfa.example"
    assert event.organizer_cn == "MFA; 'Protocol', dept: Baku"


def test_the_organizer_is_read_by_every_parser(parse: Parse) -> None:
    calendar = parse(render(*sample_meetings(), include_restricted=True))
    event = calendar.event("mtg-0002@consultations")
    assert event.organizer == "mailto:bilateral.desk@mfa.example"
    assert event.organizer_cn == "Türkmenistanyň Daşary işler ministrligi"
    assert {e.organizer for e in calendar.events} == {
        "mailto:bilateral.desk@mfa.example",
        "mailto:protocol@mfa.example",
    }


# --- libical: RFC 5546 restriction rules, as Evolution, GNOME Calendar and KDE apply them ------


@pytest.mark.parametrize(
    ("meetings", "include_restricted", "stamped"),
    [
        (sample_meetings(), True, False),
        (sample_meetings(), False, False),
        ([meeting()], False, True),
        ([meeting(host_email=None)], False, True),
        ([meeting(classification="restricted")], False, True),
        ([], False, False),
    ],
    ids=["restricted-shown", "busy-block", "one-stamped", "no-address", "busy-alone", "empty"],
)
def test_libical_finds_no_error(
    libical: LibicalCheck,
    meetings: list[FeedMeeting],
    include_restricted: bool,
    stamped: bool,
) -> None:
    stamp = datetime(2026, 5, 13, 6, tzinfo=UTC) if stamped else None
    calendar = FeedCalendar("AZ–TM consultations", include_restricted=include_restricted)
    assert libical(render_calendar(calendar, meetings, stamp=stamp)) == []


def test_libical_reports_a_publish_without_organizer(libical: LibicalCheck) -> None:
    """The checker works: the same calendar without its ORGANIZER lines fails the rule."""
    data = render(*sample_meetings(), include_restricted=True)
    assert b"METHOD:PUBLISH\r\n" in data
    stripped = re.sub(rb"ORGANIZER[^\r]*\r\n( [^\r]*\r\n)*", b"", data)
    assert b"ORGANIZER" not in stripped
    errors = libical(stripped)
    assert len(errors) == len(sample_meetings())  # one per event, each named by its UID
    for error in errors:
        assert re.fullmatch(
            r"mtg-000\d@consultations: Failed iTIP restrictions for ORGANIZER property\. "
            r"Expected 1 instances of the property and got 0",
            error,
        ), error


def test_a_meeting_past_local_midnight_states_both_dates() -> None:
    late = meeting(start_local="2026-05-14T22:00:00", end_local="2026-05-15T01:30:00")
    description = icalendar.Calendar.from_ical(render(late)).walk("VEVENT")[0]["DESCRIPTION"]
    assert str(description).startswith("Local time: 2026-05-14 22:00–2026-05-15 01:30 (Asia/Baku)")


def test_no_valarm_by_default() -> None:
    assert b"VALARM" not in render(*sample_meetings(), include_restricted=True)


@pytest.mark.parametrize(
    ("refresh", "expected"),
    [
        (timedelta(hours=1), "PT1H"),
        (timedelta(minutes=30), "PT30M"),
        (timedelta(days=1, hours=2), "P1DT2H"),
        (timedelta(days=7), "P7D"),
        (timedelta(seconds=90), "PT1M30S"),
    ],
)
def test_refresh_interval_and_published_ttl(refresh: timedelta, expected: str) -> None:
    lines = content_lines(render(meeting(), refresh=refresh))
    assert f"REFRESH-INTERVAL;VALUE=DURATION:{expected}" in lines
    assert f"X-PUBLISHED-TTL:{expected}" in lines


@pytest.mark.parametrize(
    ("changes", "calendar", "message"),
    [
        ({"start_utc": datetime(2026, 5, 14, 6)}, {}, "naive"),
        ({"last_modified": datetime(2026, 1, 12)}, {}, "naive"),
        ({"status": "postponed"}, {}, "status"),
        ({"classification": "secret"}, {}, "classification"),
        ({}, {"refresh": timedelta(0)}, "positive"),
    ],
)
def test_invalid_input_is_rejected(
    changes: dict[str, Any], calendar: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        render(meeting(**changes), **calendar)


# --- determinism ------------------------------------------------------------------------------


def test_a_meeting_id_may_appear_only_once() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        render(meeting(), meeting(title="Other"))


def test_the_same_input_gives_the_same_bytes() -> None:
    assert render(*sample_meetings()) == render(*sample_meetings())


def test_input_order_does_not_change_the_bytes() -> None:
    meetings = sample_meetings()
    expected = render(*meetings)
    for seed in range(5):
        shuffled = meetings[:]
        random.Random(seed).shuffle(shuffled)
        assert render(*shuffled) == expected
    reordered = [dataclasses.replace(m, areas=tuple(reversed(m.areas))) for m in meetings]
    assert render(*reordered) == expected


def test_events_are_ordered_by_start_then_uid() -> None:
    uids = [line for line in content_lines(render(*sample_meetings())) if line.startswith("UID:")]
    assert uids == [
        "UID:mtg-0005@consultations",
        "UID:mtg-0000@consultations",
        "UID:mtg-0001@consultations",
        "UID:mtg-0002@consultations",
        "UID:mtg-0004@consultations",
        "UID:mtg-0003@consultations",
    ]


def test_bytes_do_not_depend_on_the_hash_seed() -> None:
    """ics keeps events and categories in sets, whose order follows PYTHONHASHSEED."""
    code = (
        "import sys\n"
        "from tests.feeds.test_ical_render import render, sample_meetings\n"
        "sys.stdout.buffer.write(render(*sample_meetings()))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in (1, 2, 3)
    }
    assert outputs == {render(*sample_meetings())}


# --- read back by three parsers ---------------------------------------------------------------


def test_calendar_properties_are_understood(parse: Parse) -> None:
    properties = parse(render(meeting())).properties
    assert properties["prodid"] == PRODID
    assert properties["version"] == "2.0"
    assert properties["name"] == "AZ–TM consultations"


def test_multilingual_text_survives_exactly(parse: Parse) -> None:
    assert len(TITLE) == 40
    multilingual = sample_meetings()[1]
    event = parse(render(multilingual)).event("mtg-0002@consultations")
    assert event.summary == TITLE
    assert event.location == "Ашхабад, МИД Туркменистана"
    assert event.description == "\n".join(
        [
            "Local time: 2026-05-14 10:00–16:00 (Asia/Ashgabat)",
            "Venue: Ашхабад, МИД Туркменистана",
            "Host: TM-MFA",
            "Track: Energy and transit",
            "Agenda:",
            *(f"{number}. {item}" for number, item in enumerate(AGENDA, 1)),
        ]
    )
    assert event.categories == ["culture", "customs", "energy", "trade", "transport"]
    assert event.classification == "PRIVATE"


def test_text_special_characters_are_escaped(parse: Parse) -> None:
    tricky = meeting(
        title="Trade, customs; transit \\ ports",
        venue="Hall A; floor 2, room \\3",
        agenda=("Line one\nline two", "Tab\tand, comma"),
    )
    event = parse(render(tricky)).event("mtg-0001@consultations")
    assert event.summary == "Trade, customs; transit \\ ports"
    assert event.location == "Hall A; floor 2, room \\3"
    assert event.description is not None
    assert "1. Line one\nline two\n2. Tab\tand, comma" in event.description


def test_control_characters_are_dropped_and_line_breaks_kept(parse: Parse) -> None:
    event = parse(render(meeting(title="A\r\nB\rC\u2028D\x00\x07E"))).event(
        "mtg-0001@consultations"
    )
    assert event.summary == "A\nB\nC\nDE"


def test_times_uid_sequence_and_status(parse: Parse) -> None:
    event = parse(render(meeting())).event("mtg-0001@consultations")
    assert event.start == datetime(2026, 5, 14, 6, 0, tzinfo=UTC)
    assert event.end == datetime(2026, 5, 14, 12, 0, tzinfo=UTC)
    assert event.last_modified == datetime(2026, 1, 12, 15, 30, tzinfo=UTC)
    assert event.sequence == 0
    assert event.status == "CONFIRMED"
    assert event.classification == "PUBLIC"
    assert event.alarms == 0


def test_a_reschedule_keeps_the_uid_and_raises_sequence_and_last_modified(parse: Parse) -> None:
    before = meeting()
    after = meeting(
        status="rescheduled",
        sequence=1,
        start_utc=before.start_utc + timedelta(days=1),
        end_utc=before.end_utc + timedelta(days=1),
        start_local="2026-05-15T10:00:00",
        end_local="2026-05-15T16:00:00",
        last_modified=before.last_modified + timedelta(days=3),
    )
    old = parse(render(before)).event("mtg-0001@consultations")
    new = parse(render(after)).event("mtg-0001@consultations")
    assert new.sequence > old.sequence
    assert old.last_modified is not None
    assert new.last_modified is not None
    assert new.last_modified > old.last_modified
    assert new.start == old.start + timedelta(days=1)
    assert new.status == "CONFIRMED"
    assert new.description is not None
    assert new.description.startswith("Local time: 2026-05-15 10:00–16:00")


def test_a_cancelled_meeting_stays_as_cancelled(parse: Parse) -> None:
    cancelled = meeting(status="cancelled", sequence=3)
    event = parse(render(cancelled)).event("mtg-0001@consultations")
    assert event.status == "CANCELLED"
    assert event.sequence == 3
    assert event.summary == "Intergovernmental commission"
    assert "TRANSP:TRANSPARENT" in content_lines(render(cancelled))


def test_a_restricted_meeting_is_a_busy_block_without_details(parse: Parse) -> None:
    secret = meeting(classification="restricted", title="Security talks", sequence=1)
    data = render(secret)
    event = parse(data).event("mtg-0001@consultations")
    assert event.summary == "Busy"
    assert (event.description, event.location, event.categories) == (None, None, [])
    assert event.classification == "CONFIDENTIAL"
    assert (event.start, event.end, event.sequence) == (secret.start_utc, secret.end_utc, 1)
    assert event.status == "CONFIRMED"
    assert "TRANSP:OPAQUE" in content_lines(data)
    for detail in ("Security", "MFA", "AZ-MFA", "Energy", "energy", "Asia/Baku"):
        assert detail.encode() not in data


def test_a_restricted_meeting_shows_its_details_when_the_feed_includes_them(parse: Parse) -> None:
    secret = meeting(classification="restricted", title="Security talks")
    event = parse(render(secret, include_restricted=True)).event("mtg-0001@consultations")
    assert event.summary == "Security talks"
    assert event.location == secret.venue
    assert event.description is not None
    assert "Host: AZ-MFA" in event.description
    assert event.categories == ["energy", "transport"]
    assert event.classification == "CONFIDENTIAL"


def test_the_whole_sample_is_read_alike(parse: Parse) -> None:
    calendar = parse(render(*sample_meetings()))
    assert [event.uid for event in calendar.events] == [
        f"mtg-000{n}@consultations" for n in (5, 0, 1, 2, 4, 3)
    ]
    assert all(event.alarms == 0 for event in calendar.events)


def test_an_empty_feed_is_valid(parse: Parse) -> None:
    data = render()
    assert parse(data).events == []
    assert re.fullmatch(rb"BEGIN:VCALENDAR\r\n(.+\r\n)+END:VCALENDAR\r\n", data)


def test_a_kept_event_is_rendered_afresh_when_what_the_feed_shows_of_it_changes() -> None:
    """Rendered events are kept per process; a kept one never stands in for a changed one."""
    _published_vevent.cache_clear()
    before = render(meeting())
    moved = meeting(title="Moved to Baku", venue="Baku", sequence=2)
    after = render(moved)
    assert b"SUMMARY:Moved to Baku" in after
    assert b"SEQUENCE:2" in after
    assert b"Moved to Baku" not in before
    assert render(meeting(classification="restricted"), include_restricted=True) != render(
        meeting(classification="restricted")
    )
    kept = _published_vevent.cache_info().currsize
    assert kept >= 3
    _published_vevent.cache_clear()
    assert render(moved) == after  # rendered afresh, the same bytes
