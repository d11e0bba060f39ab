"""RFC 5546 (iTIP) on real feeds: the reference plan, every scope, read by four parsers.

Under ``METHOD:PUBLISH`` every VEVENT needs exactly one ORGANIZER (§3.2.1). The host's
secretariat is the ORGANIZER when its party has an e-mail address; a calendar in which some
event has none (no address, or a "Busy" block, which names nobody) has no METHOD at all.
libical's ``restriction_check`` is the judge; icalendar, ical and ical.js must still read it.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime

import pytest
import tomli_w
from sqlalchemy.engine import Engine

from consultations.adapters.read_models import ReadModels
from consultations.domain.feeds import parse_scope
from consultations.service_layer.feeds import FeedPublisher, FeedSpec
from consultations.service_layer.plan_import import import_plan
from tests.feeds.conftest import Parse, parse_icalendar
from tests.projections.support import ANALYST, EXAMPLE, wire
from tests.support.libical import LibicalCheck

TODAY = datetime(2026, 11, 28, 12, tzinfo=UTC)  # the day the reference plan was written
EMAILS = {"TM-MFA": "bilateral.desk@mfa-tm.example", "AZ-MFA": "protocol@mfa-az.example"}
SCOPES = [
    "all",
    "track:political-consultations",
    "track:pipeline-security-tf",
    "area:energy",
    "area:security",
    "party:AZ-MFA",
    "party:TM-MFA",
]


def plan(emails: dict[str, str]) -> bytes:
    """The reference plan, with these parties' addresses added."""
    document = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    for party_id, email in emails.items():
        document["parties"][party_id]["email"] = email
    return tomli_w.dumps(document).encode()


def publisher(engine: Engine, emails: dict[str, str]) -> FeedPublisher:
    import_plan(wire(engine), plan(emails), ANALYST)
    return FeedPublisher(ReadModels(engine), lambda: TODAY)


@pytest.fixture
def feeds(migrated_engine: Engine) -> FeedPublisher:
    return publisher(migrated_engine, EMAILS)


def render(feeds: FeedPublisher, scope: str, include_restricted: bool) -> bytes:
    spec = FeedSpec("f1", f"Consultations: {scope}", parse_scope(scope), include_restricted)
    return feeds.render(spec)


def lines(data: bytes) -> list[str]:
    return data.decode().replace("\r\n ", "").split("\r\n")


@pytest.mark.parametrize("include_restricted", [False, True], ids=["default", "restricted"])
@pytest.mark.parametrize("scope", SCOPES)
def test_every_feed_passes_libical_restriction_check(
    feeds: FeedPublisher, libical: LibicalCheck, scope: str, include_restricted: bool
) -> None:
    data = render(feeds, scope, include_restricted)
    content = lines(data)
    events = content.count("BEGIN:VEVENT")
    assert events > 0
    organizers = [line for line in content if line.startswith("ORGANIZER")]
    busy = content.count("SUMMARY:Busy")
    assert len(organizers) == events - busy
    assert ("METHOD:PUBLISH" in content) is (busy == 0)
    assert libical(data) == []


@pytest.mark.parametrize("scope", ["all", "party:TM-MFA"])
def test_every_feed_is_read_by_the_other_parsers(
    feeds: FeedPublisher, parse: Parse, scope: str
) -> None:
    data = render(feeds, scope, include_restricted=True)
    calendar = parse(data)
    expected = parse_icalendar(data)  # the same events, whichever parser
    assert [event.uid for event in calendar.events] == [event.uid for event in expected.events]
    organizers = {event.organizer for event in calendar.events}
    assert organizers <= {f"mailto:{email}" for email in EMAILS.values()}
    assert None not in organizers
    names = {event.organizer_cn for event in calendar.events}
    assert all(name and name.startswith("Ministry of Foreign Affairs") for name in names)


def test_a_feed_with_a_busy_block_has_no_method_and_still_passes(
    feeds: FeedPublisher, libical: LibicalCheck
) -> None:
    data = render(feeds, "track:pipeline-security-tf", include_restricted=False)
    content = lines(data)
    assert "SUMMARY:Busy" in content
    assert not any(line.startswith(("METHOD", "ORGANIZER")) for line in content)
    assert b"mfa-az.example" not in data
    assert b"mfa-tm.example" not in data
    assert libical(data) == []


def test_without_addresses_feeds_have_no_method_or_organizer(
    migrated_engine: Engine, libical: LibicalCheck, parse: Parse
) -> None:
    feeds = publisher(migrated_engine, {})
    for scope in ("all", "party:AZ-MFA"):
        data = render(feeds, scope, include_restricted=True)
        content = lines(data)
        assert not any(line.startswith(("METHOD", "ORGANIZER")) for line in content)
        assert libical(data) == []
        assert parse(data).events


def test_one_party_without_an_address_takes_the_method_off_its_feeds_only(
    migrated_engine: Engine, libical: LibicalCheck
) -> None:
    feeds = publisher(migrated_engine, {"AZ-MFA": EMAILS["AZ-MFA"]})
    mixed = render(feeds, "all", include_restricted=True)
    assert "METHOD:PUBLISH" not in lines(mixed)
    assert any(line.startswith("ORGANIZER") for line in lines(mixed))
    assert libical(mixed) == []


def test_the_checker_catches_a_publish_feed_without_organizers(
    feeds: FeedPublisher, libical: LibicalCheck
) -> None:
    """What the code did before: METHOD:PUBLISH and no ORGANIZER, an error for each event."""
    data = render(feeds, "all", include_restricted=True)
    stripped = re.sub(rb"ORGANIZER[^\r]*\r\n( [^\r]*\r\n)*", b"", data)  # with its folds
    assert b"ORGANIZER" not in stripped
    assert b"METHOD:PUBLISH\r\n" in stripped
    assert parse_icalendar(stripped).events  # still a well-formed calendar
    errors = libical(stripped)
    assert len(errors) == lines(data).count("BEGIN:VEVENT")
    assert all(
        error.endswith(
            "Failed iTIP restrictions for ORGANIZER property. "
            "Expected 1 instances of the property and got 0"
        )
        for error in errors
    ), errors
