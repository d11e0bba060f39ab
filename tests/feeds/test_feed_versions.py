"""Feed content versions: the ETag moves with every change a feed shows, from one lookup."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters.eventlog import Append
from consultations.adapters.orm import feeds
from consultations.bootstrap import Application, bootstrap
from consultations.domain.commands import (
    AddTrack,
    AmendMeeting,
    AmendTrack,
    CancelMeeting,
    PlanMeeting,
    RegisterArea,
    RegisterParty,
    RescheduleMeeting,
    RevokeFeed,
)
from consultations.domain.errors import DomainError
from consultations.domain.events import (
    AmendmentDeclined,
    AmendmentProposed,
    ChangeProposed,
    TrackAmended,
)
from consultations.service_layer.feeds import FeedPublisher, FeedSpec, new_feed
from consultations.settings import Settings
from tests.projections.support import ANALYST

TODAY = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SCOPES = ("all", "track:t-energy", "area:culture", "party:P-B", "party:P-C")


@dataclass
class World:
    """Two tracks, three parties, an ad hoc meeting and one feed per scope."""

    app: Application
    publisher: FeedPublisher
    tokens: dict[str, str]  # scope → token

    def spec(self, scope: str) -> FeedSpec:
        found = self.publisher.lookup(self.tokens[scope])
        assert found is not None
        return found

    def etags(self) -> dict[str, str]:
        return {scope: self.publisher.validators(self.spec(scope)).etag for scope in self.tokens}

    def contents(self) -> dict[str, bytes]:
        return {scope: self.publisher.render(self.spec(scope)) for scope in self.tokens}

    def run(self, command: Any) -> None:
        self.app.commands.execute(command, ANALYST)


@pytest.fixture
def world(database_url: str, migrated_engine: Engine) -> Iterator[World]:
    app = bootstrap(Settings.load(database_url))
    app.projector.ensure_current(app.engine)

    def run(command: Any) -> None:
        app.commands.execute(command, ANALYST)

    for party, tz in (("P-A", "Asia/Baku"), ("P-B", "Asia/Ashgabat"), ("P-C", "Europe/Vienna")):
        run(RegisterParty(party_id=party, name=f"Party {party}", tz=tz))
    for area in ("energy", "culture"):
        run(RegisterArea(area_id=area, name=area.title()))
    run(_track("t-energy", parties=("P-A", "P-B"), areas=("energy",)))
    run(_track("t-culture", parties=("P-A", "P-C"), areas=("culture",)))
    start = datetime(2026, 7, 1, 10, 0)
    run(
        PlanMeeting(
            meeting_id="m-energy", title="Energy", start=start, track_id="t-energy", host="P-A"
        )
    )
    run(
        PlanMeeting(
            meeting_id="m-culture", title="Culture", start=start, track_id="t-culture", host="P-C"
        )
    )
    run(PlanMeeting(meeting_id="m-adhoc", title="Ad hoc", start=start, tz="Asia/Baku", host="P-B"))
    tokens = {}
    for scope in SCOPES:
        token, command = new_feed(scope, None, include_restricted=True)
        run(command)
        tokens[scope] = token
    yield World(app, FeedPublisher(app.read_models, lambda: TODAY), tokens)
    app.close()


def _track(track_id: str, parties: tuple[str, ...], areas: tuple[str, ...]) -> AddTrack:
    return AddTrack(
        track_id=track_id, title=track_id.title(), kind="consultation", cadence="year", start=date(2026, 1, 1), tz="Asia/Baku",
        parties=parties, areas=areas,
    )  # fmt: skip


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {scope for scope in before if before[scope] != after[scope]}


@pytest.mark.parametrize(
    ("meeting_id", "shown_in"),
    [
        ("m-energy", {"all", "track:t-energy", "party:P-B"}),  # P-B is a party of t-energy
        ("m-culture", {"all", "area:culture", "party:P-C"}),
        ("m-adhoc", {"all", "party:P-B"}),  # its host
    ],
)
def test_a_change_moves_the_etags_of_the_feeds_showing_the_meeting_and_no_other(
    world: World, meeting_id: str, shown_in: set[str]
) -> None:
    etags, contents = world.etags(), world.contents()
    world.run(
        RescheduleMeeting(meeting_id=meeting_id, start=datetime(2026, 7, 2, 11, 0), reason="visit")
    )
    assert _changed(contents, world.contents()) == shown_in
    assert _changed(etags, world.etags()) == shown_in


def test_a_new_host_moves_the_old_and_the_new_hosts_feeds(world: World) -> None:
    etags, contents = world.etags(), world.contents()
    world.run(AmendMeeting(meeting_id="m-adhoc", host="P-C"))
    assert {"party:P-B", "party:P-C"} <= _changed(contents, world.contents())
    assert _changed(contents, world.contents()) <= _changed(etags, world.etags())
    assert b"m-adhoc@" not in world.contents()["party:P-B"]


def test_a_track_change_moves_every_etag(world: World) -> None:
    etags = world.etags()
    world.run(AmendTrack(track_id="t-culture", areas=("energy",)))
    assert _changed(etags, world.etags()) == set(SCOPES)
    assert b"m-culture@" not in world.contents()["area:culture"]


def test_feeds_parties_and_areas_leave_the_etags_alone(world: World) -> None:
    etags = world.etags()
    world.run(RegisterParty(party_id="P-D", name="Party D", tz="Asia/Baku"))
    world.run(RegisterArea(area_id="water", name="Water"))
    world.run(new_feed("party:P-B", "another", include_restricted=False)[1])
    world.run(RevokeFeed(feed_id=world.spec("party:P-C").feed_id, reason="rotated"))
    del world.tokens["party:P-C"]
    assert world.etags() == {scope: etags[scope] for scope in world.tokens}


def test_proposals_and_amendments_leave_the_etags_alone(world: World) -> None:
    # Only the changes they lead to, made by the meeting's or the track's own commands, show.
    etags = world.etags()
    world.app.store.append_many(
        [
            Append("proposal-P-B-1", 0, [ChangeProposed("P-B-1", "m-energy", "P-B", None, None,
                                                        None, "Ashgabat", "closer")]),
            Append("amendment-P-B-1", 0, [
                AmendmentProposed("P-B-1", "t-energy", "P-B", TrackAmended("t-energy", title="E"),
                                  None, "shorter"),
                AmendmentDeclined("P-B-1", "t-energy", "no"),
            ]),
        ]
    )  # fmt: skip
    assert world.etags() == etags


def test_the_etag_moves_at_midnight_and_with_the_feed_definition(world: World) -> None:
    spec = world.spec("all")
    tomorrow = FeedPublisher(world.app.read_models, lambda: TODAY + timedelta(days=1))
    assert tomorrow.validators(spec).etag != world.publisher.validators(spec).etag
    renamed = FeedSpec(spec.feed_id, "renamed", spec.scope, version=spec.version)
    assert world.publisher.validators(renamed).etag != world.publisher.validators(spec).etag


def test_the_validators_of_a_stored_feed_take_only_the_token_lookup(world: World) -> None:
    statements: list[str] = []

    def record(*args: Any) -> None:
        if args[2] != "BEGIN":  # SQLite's explicit transaction start
            statements.append(args[2])

    sa.event.listen(world.app.engine, "before_cursor_execute", record)
    try:
        spec = world.publisher.lookup(world.tokens["area:culture"])
        assert spec is not None
        validators = world.publisher.validators(spec)
    finally:
        sa.event.remove(world.app.engine, "before_cursor_execute", record)
    assert len(statements) == 1, statements
    assert spec.version is not None
    assert validators.last_modified == max(spec.version.changed_at, TODAY.replace(hour=0, minute=0))


def test_a_feed_without_a_version_yet_falls_back_to_a_fingerprint(world: World) -> None:
    """E.g. right after migrating, before the feeds projection's rebuild fills the columns."""
    with world.app.engine.begin() as connection:
        connection.execute(feeds.update().values(content_position=None, content_changed_at=None))
    spec = world.spec("track:t-energy")
    assert spec.version is None
    etag = world.publisher.validators(spec).etag
    assert world.publisher.validators(world.spec("track:t-energy")).etag == etag
    world.run(RescheduleMeeting(meeting_id="m-energy", start=datetime(2026, 7, 9, 10, 0)))
    moved = world.spec("track:t-energy")
    assert moved.version is not None
    assert world.publisher.validators(moved).etag != etag


def test_an_ad_hoc_feed_fingerprint_moves_with_a_track_title(world: World) -> None:
    spec = FeedSpec("export", "export", world.spec("area:culture").scope)
    etag = world.publisher.validators(spec).etag
    world.run(AmendTrack(track_id="t-culture", title="Culture and arts"))
    assert world.publisher.validators(spec).etag != etag


def test_last_modified_never_goes_back_and_follows_the_change(world: World) -> None:
    before = world.spec("track:t-energy").version
    world.run(CancelMeeting(meeting_id="m-energy", reason="postponed"))
    after = world.spec("track:t-energy").version
    assert before is not None
    assert after is not None
    assert after.position > before.position
    assert after.changed_at >= before.changed_at


def test_a_rebuild_gives_the_versions_the_appends_gave(world: World) -> None:
    world.run(AmendTrack(track_id="t-culture", parties=("P-B",)))
    world.run(RescheduleMeeting(meeting_id="m-culture", start=datetime(2026, 7, 3, 10, 0)))
    world.run(AmendMeeting(meeting_id="m-adhoc", host="P-C"))
    world.run(RevokeFeed(feed_id=world.spec("party:P-B").feed_id, reason="rotated"))
    world.run(RescheduleMeeting(meeting_id="m-energy", start=datetime(2026, 7, 4, 10, 0)))
    incremental = feed_rows(world.app.engine)
    world.app.projector.rebuild(world.app.engine)
    assert feed_rows(world.app.engine) == incremental
    del world.tokens["party:P-B"]
    etags = world.etags()
    world.run(RescheduleMeeting(meeting_id="m-culture", start=datetime(2026, 7, 5, 10, 0)))
    assert _changed(etags, world.etags()) == {"all", "area:culture", "party:P-C"}  # its host


def feed_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every feeds row, by id."""
    with engine.connect() as connection:
        query = sa.select(feeds).order_by(feeds.c.feed_id)
        return [dict(row) for row in connection.execute(query).mappings()]


def test_whenever_a_feed_shows_something_else_its_etag_differs(world: World) -> None:
    """Random edits: new content always comes with a new ETag (the strong-ETag promise)."""
    rng = random.Random(20261128)
    meetings = ["m-energy", "m-culture", "m-adhoc"]
    seen: dict[str, dict[str, bytes]] = {scope: {} for scope in SCOPES}  # ETag → content
    for step in range(40):
        meeting_id = rng.choice(meetings)
        when = datetime(2026, 7, 1, 10, 0) + timedelta(days=rng.randrange(60))
        commands: list[Any] = [
            RescheduleMeeting(meeting_id=meeting_id, start=when),
            AmendMeeting(meeting_id=meeting_id, host=rng.choice(["P-A", "P-B", "P-C", ""])),
            AmendMeeting(
                meeting_id="m-adhoc", host=rng.choice(["P-A", "P-B", "P-C", ""])
            ),  # no track
            AmendMeeting(
                meeting_id=meeting_id, title=f"Title {step}", venue=rng.choice(["", "Baku"])
            ),
            AmendMeeting(
                meeting_id=meeting_id, classification=rng.choice(["public", "restricted"])
            ),
            AmendTrack(
                track_id=rng.choice(["t-energy", "t-culture"]),
                title=f"Track {step}",
                areas=tuple(rng.sample(["energy", "culture"], rng.randint(1, 2))),
                parties=tuple(rng.sample(["P-A", "P-B", "P-C"], rng.randint(1, 3))),
            ),
            PlanMeeting(
                meeting_id=f"m-new-{step}",
                title="New",
                start=when,
                track_id=rng.choice(["t-energy", "t-culture"]),
            ),
        ]
        command = rng.choice(commands)
        if isinstance(command, PlanMeeting):
            meetings.append(command.meeting_id)
        with contextlib.suppress(DomainError):  # a refused command changes nothing
            world.run(command)
        etags, contents = world.etags(), world.contents()
        for scope in SCOPES:
            assert seen[scope].setdefault(etags[scope], contents[scope]) == contents[scope], (
                f"step {step}: {command} gave {scope} new content under an old ETag"
            )
    incremental = feed_rows(world.app.engine)
    world.app.projector.rebuild(world.app.engine)
    assert feed_rows(world.app.engine) == incremental
