"""Calendar feed definitions, looked up by the SHA-256 of their token, with content versions.

Each feed carries the log position and time of the latest event that may have changed what
it shows (``content_position``, ``content_changed_at``), so the feed server can answer a
conditional request from the feed's own row. An event counts for a feed when:

* it is a meeting's event and the meeting is in the feed's scope (its track, an area of its
  track, its host or a party of its track: what ``read_models`` selects; every meeting for
  ``all``);
* it changes a meeting's host: every party feed (the previous host is no longer known);
* it replaces a party's record (received from the party's own instance), or it is any
  other event except party, area, feed, proposal and instance (identity, peer, exchange)
  events (tracks: a title, areas or parties change what feeds show and who is in them):
  every feed.

A feed's version is the latest of its creation and the events after it that count for it.
A batch of events is judged by the state at its end, taking for each meeting its last event
in the batch; this gives the same versions however the log is cut into batches (a track or
host change that moves a meeting between scopes counts itself for every feed, or every party
feed, after the meeting's earlier events), which is what lets a rebuild treat the whole log
as one batch at its end. Erring towards counting an event only costs a subscriber one
download.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.database import chunks
from consultations.adapters.eventlog import RecordedEvent
from consultations.adapters.orm import feeds, schedule
from consultations.adapters.projections.base import Replay
from consultations.adapters.scopes import in_scope
from consultations.domain.aggregates import MEETING
from consultations.domain.events import (
    AmendmentEvent,
    AreaRegistered,
    FeedCreated,
    FeedRevoked,
    InstanceEvent,
    MeetingAmended,
    MinutesRecorded,
    PartyEvent,
    PartyRegistered,
    ProposalEvent,
)

SCOPED_KINDS = ("track", "area", "party")  # any other scope (``all``) shows every meeting
_FEEDS = sa.select(feeds.c.feed_id, feeds.c.scope)


class Change(NamedTuple):
    """Where and when an event that counts for some feeds was recorded."""

    position: int
    recorded_at: datetime


class FeedProjection:
    """One row per feed; revocation stamps ``revoked_at``; changes raise content versions."""

    name: ClassVar[str] = "feeds"
    version: ClassVar[int] = 2  # 2: content_position and content_changed_at
    tables: ClassVar[tuple[sa.Table, ...]] = (feeds,)
    reads: ClassVar[tuple[str, ...]] = ("tracks", "schedule")  # projections whose tables it reads

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Insert created feeds, stamp revoked ones, in log order; then raise content versions."""
        _write_definitions(connection, batch)
        meetings, every_feed, party_feeds = _sort_out(batch)
        if not meetings and every_feed is None:
            return
        rows = connection.execute(_FEEDS).all()
        if not rows:
            return
        versions: dict[str, Change | None] = {}
        members: dict[str, set[str]] = {}  # scope → the batch's meetings in it
        for feed_id, scope in rows:
            if _kind(scope) in SCOPED_KINDS:
                if scope not in members:
                    members[scope] = _in_scope(connection, list(meetings), scope)
                counted = [meetings[m] for m in members[scope]]
            else:
                counted = list(meetings.values())
            versions[feed_id] = _latest(every_feed, party_feeds, scope, counted)
        _raise_versions(connection, versions)

    def replay(self, connection: Connection) -> Replay:
        """A rebuild writes definitions as it goes and raises versions once, at the end.

        The end reads the final schedule instead of the schedule after each batch.
        """
        return _Replay(connection)


@dataclass
class _Replay:
    """A rebuild in progress: the last event for every feed and the last host change so far."""

    connection: Connection
    every_feed: Change | None = None
    party_feeds: Change | None = None

    def feed(self, batch: Sequence[RecordedEvent]) -> None:
        """Write the batch's feed definitions; remember what counts for every (party) feed."""
        _write_definitions(self.connection, batch)
        _, every_feed, party_feeds = _sort_out(batch)
        self.every_feed = _later(self.every_feed, every_feed)
        self.party_feeds = _later(self.party_feeds, party_feeds)

    def finish(self) -> None:
        """Raise every feed's version as one batch of the whole log would."""
        rows = self.connection.execute(_FEEDS).all()
        versions = {
            feed_id: _latest(
                self.every_feed,
                self.party_feeds,
                scope,
                [_last_meeting_change(self.connection, scope)],
            )
            for feed_id, scope in rows
        }
        _raise_versions(self.connection, versions)


def _write_definitions(connection: Connection, batch: Sequence[RecordedEvent]) -> None:
    """Insert created feeds and stamp revoked ones, in log order."""
    for recorded in batch:
        event = recorded.event
        if isinstance(event, FeedCreated):
            connection.execute(
                feeds.insert().values(
                    feed_id=event.feed_id,
                    name=event.name,
                    scope=event.scope,
                    include_restricted=event.include_restricted,
                    days_back=event.days_back,
                    days_ahead=event.days_ahead,
                    token_sha256=event.token_sha256,
                    created_at=recorded.recorded_at,
                    # Everything logged so far is in the feed from the start.
                    content_position=recorded.position,
                    content_changed_at=recorded.recorded_at,
                )
            )
        elif isinstance(event, FeedRevoked):
            connection.execute(
                feeds.update()
                .where(feeds.c.feed_id == event.feed_id)
                .values(revoked_at=recorded.recorded_at)
            )


def _sort_out(
    batch: Sequence[RecordedEvent],
) -> tuple[dict[str, Change], Change | None, Change | None]:
    """(each meeting's last event, the last event for every feed, the last host change)."""
    meetings: dict[str, Change] = {}
    every_feed: Change | None = None
    party_feeds: Change | None = None
    for recorded in batch:
        event = recorded.event
        if isinstance(event, PartyRegistered) and recorded.stream_version > 1:
            # A replaced record (the party's own instance's): the host's name may change.
            every_feed = Change(recorded.position, recorded.recorded_at)
            continue
        if isinstance(
            event,
            FeedCreated
            | FeedRevoked
            | PartyEvent
            | AreaRegistered
            | InstanceEvent
            | ProposalEvent
            | AmendmentEvent
            | MinutesRecorded,
        ):
            continue  # nothing a feed shows
        change = Change(recorded.position, recorded.recorded_at)
        if not MEETING.owns(recorded.stream_id):
            every_feed = change
            continue
        meetings[MEETING.id_of(recorded.stream_id)] = change
        if isinstance(event, MeetingAmended) and event.host is not None:
            party_feeds = change
    return meetings, every_feed, party_feeds


def _kind(scope: str) -> str:
    return scope.partition(":")[0]


def _later(first: Change | None, second: Change | None) -> Change | None:
    if first is None or (second is not None and second.position > first.position):
        return second
    return first


def _latest(
    every_feed: Change | None,
    party_feeds: Change | None,
    scope: str,
    counted: Iterable[Change | None],
) -> Change | None:
    """The latest of the changes that count for a feed with this scope."""
    latest = every_feed
    if _kind(scope) == "party":
        latest = _later(latest, party_feeds)
    for change in counted:
        latest = _later(latest, change)
    return latest


def _raise_versions(connection: Connection, versions: dict[str, Change | None]) -> None:
    """Move each feed's version to its change, unless it is already later (creation)."""
    parameters = [
        {"b_feed_id": feed_id, "b_position": change.position, "b_changed_at": change.recorded_at}
        for feed_id, change in versions.items()
        if change is not None
    ]
    if not parameters:
        return
    connection.execute(
        feeds.update()
        .where(
            feeds.c.feed_id == sa.bindparam("b_feed_id"),
            sa.or_(
                feeds.c.content_position.is_(None),
                feeds.c.content_position < sa.bindparam("b_position"),
            ),
        )
        .values(
            content_position=sa.bindparam("b_position"),
            content_changed_at=sa.bindparam("b_changed_at"),
        ),
        parameters,
    )


def _in_scope(connection: Connection, meeting_ids: Sequence[str], scope: str) -> set[str]:
    """Those of the meetings that are in the scope now."""
    kind, _, value = scope.partition(":")
    found: set[str] = set()
    for chunk in chunks(meeting_ids):
        query = sa.select(schedule.c.meeting_id).where(
            schedule.c.meeting_id.in_(chunk), in_scope(kind, value)
        )
        found.update(connection.execute(query).scalars())
    return found


def _last_meeting_change(connection: Connection, scope: str) -> Change | None:
    """The last event of any meeting in the scope now (the schedule's latest position)."""
    kind, _, value = scope.partition(":")
    query: sa.Select[Any] = (
        sa.select(schedule.c.last_position, schedule.c.last_modified)
        .where(in_scope(kind, value))
        .order_by(schedule.c.last_position.desc())
        .limit(1)
    )
    row = connection.execute(query).first()
    return None if row is None else Change(row.last_position, row.last_modified)
