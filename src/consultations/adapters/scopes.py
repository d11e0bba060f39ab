"""The one rule for which meetings are in a track's, an area's or a party's scope.

A meeting is in ``track:T`` when it belongs to track T; in ``area:A`` when its track covers
area A; in ``party:P`` when P hosts it or is a party of its track (participants default to
those). ``all`` holds every meeting. Schedules, reports and feeds filter with it, and the
feeds projection asks it which feeds a changed meeting counts for.
"""

from __future__ import annotations

import sqlalchemy as sa

from consultations.adapters.orm import schedule, track_areas, track_parties


def in_scope(kind: str, value: str | None) -> sa.ColumnElement[bool]:
    """A condition on ``schedule`` rows: the meeting is in the scope ``kind:value``."""
    if kind == "track":
        return schedule.c.track_id == value
    if kind == "area":
        covering = sa.select(track_areas.c.track_id).where(track_areas.c.area_id == value)
        return schedule.c.track_id.in_(covering)
    if kind == "party":
        taking_part = sa.select(track_parties.c.track_id).where(track_parties.c.party_id == value)
        return sa.or_(schedule.c.host == value, schedule.c.track_id.in_(taking_part))
    if kind == "all":
        return sa.true()
    raise ValueError(f"unknown scope kind {kind!r}")
