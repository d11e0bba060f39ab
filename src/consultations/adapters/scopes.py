"""The one rule for which meetings are in a track's, an area's or a party's scope.

A meeting is in ``track:T`` when it belongs to track T; in ``area:A`` when its track covers
area A; in ``party:P`` when P hosts it or is a party of its track (participants default to
those). ``all`` holds every meeting. Schedules, reports and feeds filter with it, and the
feeds projection asks it which feeds a changed meeting counts for.

``peer:P`` is what the instance of party P is sent (``docs/exchange.md``): the meetings of the
tracks P is a party of (:func:`tracks_of`), and the ad-hoc meetings P hosts or takes part in.
Unlike ``party:P`` it leaves out a meeting P hosts in a track it is not a party of: that
track is not shared with P, so neither are its meetings. An import checks the meetings a
peer sends with the same rule (``domain.exchange.in_peer_scope``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from consultations.adapters.orm import schedule, track_areas, track_parties


def tracks_of(party: str | None) -> sa.Select[Any]:
    """The ids of the tracks ``party`` is a party of."""
    return sa.select(track_parties.c.track_id).where(track_parties.c.party_id == party)


def in_scope(kind: str, value: str | None) -> sa.ColumnElement[bool]:
    """A condition on ``schedule`` rows: the meeting is in the scope ``kind:value``."""
    if kind == "track":
        return schedule.c.track_id == value
    if kind == "area":
        covering = sa.select(track_areas.c.track_id).where(track_areas.c.area_id == value)
        return schedule.c.track_id.in_(covering)
    if kind == "party":
        return sa.or_(schedule.c.host == value, schedule.c.track_id.in_(tracks_of(value)))
    if kind == "peer":
        # Ids hold only [A-Za-z0-9._-], which JSON writes as they are: '"P"' is an element.
        listed = sa.cast(schedule.c.participants, sa.Text).contains(f'"{value}"', autoescape=True)
        ad_hoc = sa.and_(schedule.c.track_id.is_(None), sa.or_(schedule.c.host == value, listed))
        return sa.or_(schedule.c.track_id.in_(tracks_of(value)), ad_hoc)
    if kind == "all":
        return sa.true()
    raise ValueError(f"unknown scope kind {kind!r}")
