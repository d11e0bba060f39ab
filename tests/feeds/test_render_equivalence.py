"""The direct VEVENT writer gives exactly the bytes of the ``ics``-only reference renderer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from consultations.adapters import ical_feed
from consultations.adapters.ical_feed import FeedCalendar, FeedMeeting, render_calendar
from tests.feeds import reference_render

# Letters of one to four UTF-8 octets, spaces, TEXT specials, line breaks and controls.
ALPHABET = st.sampled_from(
    list('aZ09 ,;:\\"\t\n\r\x00\x07\x0b\x1f\x7f\x85\u2028\u2029') + list("əüýşçöğİЖжЯ–—€中文😀𝄞")
)
TEXT = st.text(ALPHABET, max_size=120) | st.text(max_size=60)
IDS = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=70)
OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=5)), timezone(timedelta(hours=-3, minutes=-30))]
)
MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=OFFSETS
)
# A few fixed starts make ties, which are ordered by UID.
STARTS = MOMENTS | st.sampled_from([datetime(2026, 5, 14, 6, tzinfo=UTC)])
LOCAL = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1))
# Addresses the domain accepts, with the characters a mailto: URI must percent-encode.
EMAILS = st.builds(
    "{}@{}.example".format,
    st.text("abcXYZ019.!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=20),
    st.text("abc019-", min_size=1, max_size=10),
)


@st.composite
def meetings(draw: st.DrawFn, meeting_id: str) -> FeedMeeting:
    """Any valid meeting with this id."""
    start = draw(STARTS)
    start_local = draw(LOCAL)
    return FeedMeeting(
        meeting_id=meeting_id,
        title=draw(TEXT),
        status=draw(st.sampled_from(["planned", "rescheduled", "held", "cancelled"])),
        start_utc=start,
        end_utc=start + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))),
        start_local=start_local.isoformat(timespec="seconds"),
        end_local=(start_local + draw(st.timedeltas(timedelta(0), timedelta(days=2)))).isoformat(
            timespec="seconds"
        ),
        tz=draw(st.sampled_from(["Asia/Baku", "Asia/Ashgabat", "UTC"])),
        venue=draw(st.none() | TEXT),
        host=draw(st.none() | IDS),
        agenda=tuple(draw(st.lists(TEXT, max_size=4))),
        track_id=draw(st.none() | IDS),
        track_title=draw(st.none() | TEXT),
        areas=tuple(draw(st.lists(TEXT, max_size=4))),
        classification=draw(st.sampled_from(["public", "internal", "restricted"])),
        sequence=draw(st.integers(0, 10**6)),
        created_at=draw(MOMENTS),
        last_modified=draw(MOMENTS),
        host_name=draw(st.none() | TEXT),
        host_email=draw(st.none() | st.none() | EMAILS),
    )


@st.composite
def feeds(draw: st.DrawFn) -> tuple[FeedCalendar, list[FeedMeeting]]:
    """A calendar and up to six meetings with distinct ids."""
    ids = draw(st.lists(IDS, max_size=6, unique=True))
    calendar = FeedCalendar(
        name=draw(TEXT),
        include_restricted=draw(st.booleans()),
        refresh=draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=9))),
    )
    return calendar, [draw(meetings(meeting_id)) for meeting_id in ids]


@settings(max_examples=300, deadline=None)
@given(feeds(), st.none() | st.none() | MOMENTS)
def test_the_same_bytes_as_the_ics_reference(
    feed: tuple[FeedCalendar, list[FeedMeeting]], stamp: datetime | None
) -> None:
    calendar, meetings = feed
    assert render_calendar(calendar, meetings, stamp=stamp) == reference_render.render_calendar(
        calendar, meetings, stamp=stamp
    )


@settings(max_examples=500, deadline=None)
@given(st.text(ALPHABET, max_size=400) | st.text(max_size=200) | st.text("ab", max_size=300))
def test_folding_matches_the_character_by_character_walk(text: str) -> None:
    line = "DESCRIPTION:" + text.replace("\r", "").replace("\n", "")
    assert ical_feed._fold(line) == "\r\n".join(reference_render._fold(line))
