"""Calendar feeds: create and revoke subscriptions, and publish their iCalendar bytes.

A stored feed's validators come from its own row: the feeds projection keeps the position
and time of the last event that may have changed what the feed shows, so a conditional
request costs the token lookup and nothing else. An ad hoc feed (an export), or a stored one
not versioned yet (right after migrating), falls back to a fingerprint of its meetings (one
aggregate query). Either way the ETag is strong: the bytes are a function of the renderer,
the feed, the day and the events up to that position.

The version is read before the meetings, never after: a change in between gives new bytes
under the older ETag, which the next request replaces (a 200), never old bytes under a new
ETag, which a 304 would keep.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from consultations.adapters.read_models import FeedWindow, ReadModels, ScheduleFilter
from consultations.domain.commands import CreateFeed
from consultations.domain.feeds import Scope, parse_scope

if TYPE_CHECKING:  # the renderer imports ics: only the commands that render feeds load it
    from consultations.adapters.ical_feed import FeedMeeting

# Bump when render_calendar's output for the same rows changes (2: direct VEVENT writer;
# 3: ORGANIZER from the host's address, METHOD only when every event has one).
RENDERER_VERSION = "3"
CANCELLED_KEPT = timedelta(days=30)
TOKEN_BYTES = 32  # 256 bits of randomness


def hash_token(token: str) -> str:
    """The stored form of a feed token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_feed(scope: str, name: str | None, include_restricted: bool) -> tuple[str, CreateFeed]:
    """A fresh secret token and the command that creates its feed (only the hash goes in)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    command = CreateFeed(
        feed_id=secrets.token_hex(4),
        scope=scope,
        token_sha256=hash_token(token),
        name=name,
        include_restricted=include_restricted,
    )
    return token, command


@dataclass(frozen=True, slots=True)
class ContentVersion:
    """The last event that may have changed what a stored feed shows (feeds projection)."""

    position: int
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """What to publish: a feed definition (stored, or ad hoc for an export)."""

    feed_id: str
    name: str
    scope: Scope
    include_restricted: bool = False
    days_back: int = 90
    days_ahead: int = 730
    version: ContentVersion | None = None  # None: ad hoc, or not yet projected

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FeedSpec:
        """The spec of a ``feeds`` row, with its content version when it has one."""
        position, changed_at = row.get("content_position"), row.get("content_changed_at")
        version = None
        if position is not None and changed_at is not None:
            version = ContentVersion(position, changed_at)
        return cls(
            row["feed_id"], row["name"], parse_scope(row["scope"]), row["include_restricted"],
            row["days_back"], row["days_ahead"], version,
        )  # fmt: skip

    def filter(self) -> ScheduleFilter:
        """The schedule filter of the scope."""
        value = self.scope.value
        kind = self.scope.kind
        return ScheduleFilter(
            track_id=value if kind == "track" else None,
            area_id=value if kind == "area" else None,
            party_id=value if kind == "party" else None,
        )

    def window(self, today: date) -> FeedWindow:
        """The span shown on ``today`` (UTC days)."""
        midnight = datetime.combine(today, time(), tzinfo=UTC)
        return FeedWindow(
            start=midnight - timedelta(days=self.days_back),
            end=midnight + timedelta(days=self.days_ahead + 1),
            cancelled_since=midnight - CANCELLED_KEPT,
        )


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP validators of a feed's current content."""

    etag: str  # quoted, strong
    last_modified: datetime


class FeedPublisher:
    """Turns feed definitions and the read models into iCalendar bytes and validators."""

    def __init__(self, read_models: ReadModels, clock: Callable[[], datetime]) -> None:
        self.read_models = read_models
        self.clock = clock

    def lookup(self, token: str) -> FeedSpec | None:
        """The live feed of a token (None for unknown or revoked ones)."""
        row = self.read_models.feed_by_token(hash_token(token))
        return None if row is None else FeedSpec.from_row(row)

    def validators(self, spec: FeedSpec) -> Validators:
        """ETag and Last-Modified of the feed as it would be rendered now.

        No query for a spec with a content version; otherwise one aggregate query.
        """
        today = self.clock().astimezone(UTC).date()
        if spec.version is not None:
            content = f"at {spec.version.position}"
            latest: datetime | None = spec.version.changed_at
        else:
            count, position, latest, tracks = self.read_models.feed_fingerprint(
                spec.filter(), spec.window(today)
            )
            content = f"{count} up to {position}, tracks {tracks}"
        definition = replace(spec, version=None)
        key = "|".join(map(str, (RENDERER_VERSION, definition, today, content)))
        # The window slides at midnight: content may change then without a new event.
        day_start = datetime.combine(today, time(), tzinfo=UTC)
        return Validators(
            etag=f'"{hashlib.sha256(key.encode()).hexdigest()[:40]}"',
            last_modified=max(latest or day_start, day_start),
        )

    def render(self, spec: FeedSpec) -> bytes:
        """The feed's iCalendar bytes now."""
        from consultations.adapters.ical_feed import FeedCalendar, render_calendar  # noqa: PLC0415

        today = self.clock().astimezone(UTC).date()
        meetings = self.read_models.feed_meetings(spec.filter(), spec.window(today))
        calendar = FeedCalendar(name=spec.name, include_restricted=spec.include_restricted)
        return render_calendar(calendar, meetings)


def feed_meeting(row: dict[str, Any]) -> FeedMeeting:
    """The renderer's view of a schedule row (with its ``areas``)."""
    from consultations.adapters.ical_feed import FeedMeeting  # noqa: PLC0415

    return FeedMeeting(
        meeting_id=row["meeting_id"],
        title=row["title"],
        status=row["status"],
        start_utc=row["start_utc"],
        end_utc=row["end_utc"],
        start_local=row["start_local"],
        end_local=row["end_local"],
        tz=row["tz"],
        venue=row["venue"],
        host=row["host"],
        agenda=tuple(row["agenda"]),
        track_id=row["track_id"],
        track_title=row["track_title"],
        areas=tuple(row["areas"]),
        classification=row["classification"],
        sequence=row["sequence"],
        created_at=row["created_at"],
        last_modified=row["last_modified"],
        host_name=row.get("host_name"),
        host_email=row.get("host_email"),
    )
