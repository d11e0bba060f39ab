"""Which meeting details may leave the process: one rule for every outbound channel.

A ``restricted`` meeting's details (title, venue, agenda, host, track, anything else about
it) go only to a channel configured as cleared for them. Every other channel gets the busy
block the feeds show for restricted meetings: the title ``Busy``, the meeting's id, times
and zone, and its classification; everything else emptied. The redaction keeps a fixed list
of fields and empties all the others, so a field added to a meeting later is withheld until
it is deliberately listed here. A meeting whose classification is missing or unknown counts
as restricted.

Cadence alerts describe a track's window (its title, counts and dates), never a meeting:
:func:`for_channel` passes them through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from consultations.domain.vocabulary import Classification

BUSY: Final = "Busy"  # the SUMMARY of a restricted meeting in a feed that excludes them
RESTRICTED: Final = Classification.RESTRICTED.value
_SHOWN: Final = frozenset(c.value for c in Classification) - {RESTRICTED}
# What a busy block shows: when, and which (opaque) meeting; never what or where.
_KEPT: Final = frozenset(
    {
        "meeting_id", "status", "start_utc", "end_utc", "start_local", "end_local", "tz",
        "offset", "due_at", "sequence", "created_at", "last_modified", "classification",
    }
)  # fmt: skip


def shows_details(classification: object, *, cleared: bool) -> bool:
    """Whether a meeting of ``classification`` may be shown in full on a channel.

    ``cleared``: the channel is configured as cleared for restricted details.
    """
    return cleared or classification in _SHOWN


def redact_meeting(meeting: Mapping[str, Any]) -> dict[str, Any]:
    """The busy-block form of a meeting mapping: same keys, details emptied.

    ``title`` becomes :data:`BUSY`; the keys in the busy block keep their values; every other
    value becomes ``None``, or an empty list for lists and tuples (so consumers that iterate
    them still work). ``classification`` is set to ``restricted``.
    """
    redacted: dict[str, Any] = {}
    for key, value in meeting.items():
        if key in _KEPT:
            redacted[key] = value
        elif key == "title":
            redacted[key] = BUSY
        elif isinstance(value, list | tuple):
            redacted[key] = []
        else:
            redacted[key] = None
    redacted["classification"] = RESTRICTED
    return redacted


def meeting_for_channel(meeting: Mapping[str, Any], *, cleared: bool) -> dict[str, Any]:
    """The meeting as a channel may see it: in full, or as a busy block."""
    if shows_details(meeting.get("classification"), cleared=cleared):
        return dict(meeting)
    return redact_meeting(meeting)


def for_channel(subject: Mapping[str, Any], *, cleared: bool) -> dict[str, Any]:
    """A notification's subject data as a channel may see it.

    ``{"meeting": {...}}`` goes through :func:`meeting_for_channel`; anything else (a cadence
    window) is about a track and passes unchanged.
    """
    meeting = subject.get("meeting")
    if isinstance(meeting, Mapping):
        return {**subject, "meeting": meeting_for_channel(meeting, cleared=cleared)}
    return dict(subject)
