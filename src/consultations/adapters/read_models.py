"""Queries on the read tables. Nothing here reads the event log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters.database import chunks
from consultations.adapters.orm import (
    action_items,
    amendments,
    areas,
    feeds,
    minutes,
    parties,
    party_closures,
    peers,
    proposals,
    schedule,
    track_areas,
    track_parties,
    tracks,
)
from consultations.adapters.scopes import in_scope, tracks_of
from consultations.domain.compliance import RECORD_PENDING
from consultations.domain.events import minutes_id
from consultations.domain.meetings import MAX_MEETING_LENGTH
from consultations.domain.vocabulary import MeetingStatus
from consultations.domain.wall_time import format_wall_time
from consultations.domain.working_calendar import Busy, Closure, PartyCalendar, parties_of

if TYPE_CHECKING:  # the renderer imports ics: only the commands that render feeds load it
    from consultations.adapters.ical_feed import FeedMeeting

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FeedWindow:
    """The span of a feed: meetings starting in [start, end); cancelled ones since a date."""

    start: datetime
    end: datetime
    cancelled_since: datetime


@dataclass(frozen=True, slots=True)
class ScheduleFilter:
    """Which meetings a schedule query returns (every field optional)."""

    date_from: date | None = None  # local start date, inclusive
    date_to: date | None = None  # local start date, inclusive
    track_id: str | None = None
    area_id: str | None = None
    party_id: str | None = None
    # With date_from: also the earlier meetings still planned or rescheduled, whose record
    # (held or cancelled) is still to be made.
    unrecorded_before: bool = False


class ReadModels:
    """Read access to the projections of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _rows(self, query: sa.Select[Any]) -> list[Row]:
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def parties(self) -> list[Row]:
        """All parties, by id."""
        return self._rows(sa.select(parties).order_by(parties.c.party_id))

    def closures(self, party_id: str | None = None) -> list[Row]:
        """Closures recorded for a party (or every party), by party and first day."""
        query = sa.select(party_closures).order_by(
            party_closures.c.party_id, party_closures.c.first_day, party_closures.c.position
        )
        if party_id is not None:
            query = query.where(party_closures.c.party_id == party_id)
        return self._rows(query)

    def party_calendars(self) -> dict[str, PartyCalendar]:
        """Every party's working calendar (zone, country, closures), by id."""
        closed: dict[str, list[Closure]] = {}
        for row in self.closures():
            closure = Closure(row["first_day"], row["last_day"], row["reason"])
            closed.setdefault(row["party_id"], []).append(closure)
        return {
            row["party_id"]: PartyCalendar(
                row["party_id"], row["tz"], row["country"], tuple(closed.get(row["party_id"], ()))
            )
            for row in self.parties()
        }

    def busy(self, start_utc: datetime, end_utc: datetime) -> list[Busy]:
        """The meetings, cancelled ones aside, that overlap ``start_utc``..``end_utc``."""
        query = (
            sa.select(schedule)
            .where(
                schedule.c.start_utc < end_utc,
                # None lasts longer: this bounds the range read through the index on the
                # start, which would otherwise run back to the first meeting.
                schedule.c.start_utc >= start_utc - MAX_MEETING_LENGTH,
                schedule.c.end_utc > start_utc,
                schedule.c.status != MeetingStatus.CANCELLED.value,
            )
            .order_by(schedule.c.start_utc, schedule.c.meeting_id)
        )
        return [busy_of(row) for row in self._rows(query)]

    def areas(self) -> list[Row]:
        """All areas, by id."""
        return self._rows(sa.select(areas).order_by(areas.c.area_id))

    def tracks(self, track_id: str | None = None, area_id: str | None = None) -> list[Row]:
        """Tracks with their areas and parties as lists, by id."""
        query = sa.select(tracks).order_by(tracks.c.track_id)
        if track_id is not None:
            query = query.where(tracks.c.track_id == track_id)
        if area_id is not None:
            query = query.where(
                tracks.c.track_id.in_(
                    sa.select(track_areas.c.track_id).where(track_areas.c.area_id == area_id)
                )
            )
        rows = self._rows(query)
        links = self._links([row["track_id"] for row in rows])
        for row in rows:
            row["areas"], row["parties"] = links.get(row["track_id"], ([], []))
        return rows

    def _links(self, track_ids: Sequence[str]) -> dict[str, tuple[list[str], list[str]]]:
        found: dict[str, tuple[list[str], list[str]]] = {t: ([], []) for t in track_ids}
        with self.engine.connect() as connection:
            for track_id, area_id in connection.execute(
                sa.select(track_areas).order_by(track_areas.c.area_id)
            ):
                if track_id in found:
                    found[track_id][0].append(area_id)
            for track_id, party_id in connection.execute(
                sa.select(track_parties).order_by(track_parties.c.party_id)
            ):
                if track_id in found:
                    found[track_id][1].append(party_id)
        return found

    def schedule(self, where: ScheduleFilter | None = None) -> list[Row]:
        """Meetings in start order, with their track's title."""
        return self._rows(_schedule_query(where or ScheduleFilter()))

    def meeting(self, meeting_id: str) -> Row | None:
        """One meeting's schedule row with its track's title and areas (None if unknown).

        Also ``host_name`` and ``host_email``: the host party's, None without a host.
        """
        rows = self._rows(
            _with_host(_schedule_query(ScheduleFilter())).where(schedule.c.meeting_id == meeting_id)
        )
        if not rows:
            return None
        track_id = rows[0]["track_id"]
        rows[0]["areas"] = self._links([track_id])[track_id][0] if track_id else []
        return rows[0]

    def meetings(self, meeting_ids: Iterable[str]) -> dict[str, Row]:
        """The schedule rows of these meetings, by id (unknown ids are left out)."""
        found: dict[str, Row] = {}
        for chunk in chunks(meeting_ids):
            for row in self._rows(sa.select(schedule).where(schedule.c.meeting_id.in_(chunk))):
                found[row["meeting_id"]] = row
        return found

    def feed_meetings(self, where: ScheduleFilter, window: FeedWindow) -> list[FeedMeeting]:
        """The meetings a feed shows, as the renderer takes them, in no set order.

        Only the columns the feed shows are read, straight into ``FeedMeeting`` (no row
        dictionaries: this is the bulk of a cold feed request); the renderer orders them.
        """
        from consultations.adapters.ical_feed import FeedMeeting  # noqa: PLC0415

        query = _with_host(
            _feed_query(where, window)
            .with_only_columns(*_FEED_COLUMNS, tracks.c.title.label("track_title"))
            .order_by(None)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        links = self._links(sorted({row.track_id for row in rows if row.track_id}))
        no_areas: tuple[str, ...] = ()
        areas = {track_id: tuple(found[0]) for track_id, found in links.items()}
        return [
            FeedMeeting(
                meeting_id, title, status, start_utc, end_utc, start_local, end_local, tz,
                venue, host, tuple(agenda), track_id, track_title,
                areas.get(track_id, no_areas) if track_id else no_areas,
                classification, sequence, created_at, last_modified, host_name, host_email,
            )
            for (
                meeting_id, title, status, start_utc, end_utc, start_local, end_local, tz,
                venue, host, agenda, track_id, classification, sequence, created_at,
                last_modified, track_title, host_name, host_email,
            ) in rows
        ]  # fmt: skip

    def feed_fingerprint(
        self, where: ScheduleFilter, window: FeedWindow
    ) -> tuple[int, int, datetime | None, int]:
        """(count, latest position, latest change time, tracks' versions) of a feed's meetings.

        Positions only grow along the log, so any change to a meeting in the feed, or one
        entering it, raises the latest position; one leaving it changes the count. The sum
        of the tracks' versions moves with any track change (titles and areas are shown).
        """
        inner = (
            _feed_query(where, window)
            .with_only_columns(schedule.c.last_position, schedule.c.last_modified)
            .order_by(None)
            .subquery()
        )
        summary = sa.select(
            sa.func.count(),
            sa.func.max(inner.c.last_position),
            sa.func.max(inner.c.last_modified),
            sa.select(sa.func.coalesce(sa.func.sum(tracks.c.version), 0)).scalar_subquery(),
        )
        with self.engine.connect() as connection:
            count, position, latest, track_versions = connection.execute(summary).one()
        return int(count), int(position or 0), latest, int(track_versions)

    def feed_by_token(self, token_sha256: str) -> Row | None:
        """The live (not revoked) feed with this token hash."""
        query = sa.select(feeds).where(
            feeds.c.token_sha256 == token_sha256, feeds.c.revoked_at.is_(None)
        )
        rows = self._rows(query)
        return rows[0] if rows else None

    def shared_with(self, peer: str) -> dict[str, list[str]]:
        """The ids of what the instance of ``peer`` is sent (``peer:P``), by aggregate name.

        The tracks it is a party of, the meetings in its scope, the proposals about these
        meetings and the minutes of them, and the amendments of these tracks.
        """
        tracks_shared = tracks_of(peer)
        meetings = sa.select(schedule.c.meeting_id).where(in_scope("peer", peer))
        queries = {
            "track": tracks_shared.order_by("track_id"),
            "meeting": meetings.order_by("meeting_id"),
            "proposal": sa.select(proposals.c.proposal_id)
            .where(proposals.c.meeting_id.in_(meetings))
            .order_by("proposal_id"),
            "amendment": sa.select(amendments.c.amendment_id)
            .where(amendments.c.track_id.in_(tracks_shared))
            .order_by("amendment_id"),
        }
        minuted = (
            sa.select(minutes.c.meeting_id, minutes.c.party_id)
            .where(minutes.c.meeting_id.in_(meetings))
            .order_by(minutes.c.meeting_id, minutes.c.party_id)
        )
        with self.engine.connect() as connection:
            ids = {name: list(connection.execute(q).scalars()) for name, q in queries.items()}
            ids["minutes"] = [minutes_id(m, p) for m, p in connection.execute(minuted)]
            return ids

    def minutes(self, meeting_id: str | None = None) -> list[Row]:
        """Each party's own minutes (of one meeting), by meeting and party."""
        query = sa.select(minutes).order_by(minutes.c.meeting_id, minutes.c.party_id)
        if meeting_id is not None:
            query = query.where(minutes.c.meeting_id == meeting_id)
        return self._rows(query)

    def joint_schedule(self, peer: str) -> list[Row]:
        """The schedule rows of the meetings shared with ``peer`` (scope ``peer:P``)."""
        return self._rows(sa.select(schedule).where(in_scope("peer", peer)))

    def proposals(self, meeting_id: str | None = None) -> list[Row]:
        """Proposals (of one meeting), open ones first, then by when they were made."""
        query = sa.select(proposals).order_by(
            (proposals.c.status != "open"), proposals.c.proposed_at, proposals.c.proposal_id
        )
        if meeting_id is not None:
            query = query.where(proposals.c.meeting_id == meeting_id)
        return self._rows(query)

    def proposals_made_by(self, party: str) -> int:
        """How many proposals ``party`` has made (each numbers the next)."""
        return self._count(proposals, proposals.c.proposer == party)

    def amendments(self, track_id: str | None = None) -> list[Row]:
        """Amendments (of one track), open ones first, then by when they were proposed."""
        query = sa.select(amendments).order_by(
            (amendments.c.status != "open"), amendments.c.proposed_at, amendments.c.amendment_id
        )
        if track_id is not None:
            query = query.where(amendments.c.track_id == track_id)
        return self._rows(query)

    def amendments_made_by(self, party: str) -> int:
        """How many amendments ``party`` has proposed (each numbers the next)."""
        return self._count(amendments, amendments.c.proposer == party)

    def _count(self, table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
        query = sa.select(sa.func.count()).select_from(table).where(condition)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def peers(self) -> list[Row]:
        """Every peer ever registered (removed ones too), by id."""
        return self._rows(sa.select(peers).order_by(peers.c.peer_id))

    def feeds(self) -> list[Row]:
        """Every feed, newest first (token hashes are not returned)."""
        columns = [c for c in feeds.c if c.name != "token_sha256"]
        return self._rows(sa.select(*columns).order_by(feeds.c.created_at.desc(), feeds.c.feed_id))

    def action_items(self) -> list[Row]:
        """Action items with their meeting's title, track and classification, by due date."""
        query = (
            sa.select(
                action_items,
                schedule.c.title.label("meeting_title"),
                schedule.c.track_id,
                schedule.c.classification,
            )
            .join(schedule, schedule.c.meeting_id == action_items.c.meeting_id)
            .order_by(action_items.c.due, action_items.c.item_id)
        )
        return self._rows(query)

    def ids(self, kind: str) -> list[str]:
        """Every id of one kind (party, area, track, meeting, feed), sorted; [] for others."""
        column = _ID_COLUMNS.get(kind)
        if column is None:
            return []
        with self.engine.connect() as connection:
            return list(connection.execute(sa.select(column).order_by(column)).scalars())

    def previous_host(self, track_id: str) -> str | None:
        """Host of the track's latest meeting (by start) that was not cancelled."""
        query = (
            sa.select(schedule.c.host)
            .where(
                schedule.c.track_id == track_id,
                schedule.c.status != MeetingStatus.CANCELLED.value,
                schedule.c.host.is_not(None),
            )
            .order_by(schedule.c.start_utc.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()


def busy_of(row: Row) -> Busy:
    """A schedule row as another meeting its parties are busy with."""
    start = datetime.fromisoformat(row["start_local"])
    return Busy(
        row["meeting_id"],
        row["start_utc"],
        row["end_utc"],
        frozenset(parties_of(row["participants"], row["host"])),
        f"{format_wall_time(start)} {row['tz']}",
    )


_ID_COLUMNS: dict[str, sa.Column[str]] = {
    "party": parties.c.party_id,
    "area": areas.c.area_id,
    "track": tracks.c.track_id,
    "meeting": schedule.c.meeting_id,
    "feed": feeds.c.feed_id,
    "peer": peers.c.peer_id,
    "proposal": proposals.c.proposal_id,
}

_FEED_COLUMNS = tuple(
    schedule.c[name]
    for name in (
        "meeting_id", "title", "status", "start_utc", "end_utc", "start_local", "end_local",
        "tz", "venue", "host", "agenda", "track_id", "classification", "sequence", "created_at",
        "last_modified",
    )
)  # fmt: skip


def _schedule_query(where: ScheduleFilter) -> sa.Select[Any]:
    """Meetings matching ``where``, in start order, with their track's title and priority."""
    query = (
        sa.select(schedule, tracks.c.title.label("track_title"), tracks.c.priority)
        .outerjoin(tracks, tracks.c.track_id == schedule.c.track_id)
        .order_by(schedule.c.start_utc, schedule.c.meeting_id)
    )
    if where.date_from is not None:
        since = schedule.c.start_local >= where.date_from.isoformat()
        if where.unrecorded_before:
            since = sa.or_(since, schedule.c.status.in_(sorted(RECORD_PENDING)))
        query = query.where(since)
    if where.date_to is not None:
        query = query.where(
            schedule.c.start_local < (where.date_to + timedelta(days=1)).isoformat()
        )
    for kind, value in (
        ("track", where.track_id),
        ("area", where.area_id),
        ("party", where.party_id),
    ):
        if value is not None:
            query = query.where(in_scope(kind, value))
    return query


def _with_host(query: sa.Select[Any]) -> sa.Select[Any]:
    """``query`` (on ``schedule``) with the host party's ``host_name`` and ``host_email``."""
    return query.outerjoin(parties, parties.c.party_id == schedule.c.host).add_columns(
        parties.c.name.label("host_name"), parties.c.email.label("host_email")
    )


def _feed_query(where: ScheduleFilter, window: FeedWindow) -> sa.Select[Any]:
    """The meetings of a feed: in its window; cancelled ones only while recent."""
    return _schedule_query(where).where(
        schedule.c.start_utc >= window.start,
        schedule.c.start_utc < window.end,
        sa.or_(
            schedule.c.status != MeetingStatus.CANCELLED.value,
            schedule.c.start_utc >= window.cancelled_since,
        ),
    )
