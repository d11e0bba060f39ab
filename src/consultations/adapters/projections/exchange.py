"""The exchange with other instances: a row per peer, and one per proposal or amendment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.eventlog import RecordedEvent
from consultations.adapters.orm import amendments, peers, proposals
from consultations.adapters.projections.base import BatchByBatch, Replay
from consultations.domain.events import (
    AmendmentAccepted,
    AmendmentDeclined,
    AmendmentProposed,
    BundleAccepted,
    ChangeProposed,
    EntriesExported,
    PeerAdded,
    PeerRemoved,
    ProposalAccepted,
    ProposalDeclined,
)
from consultations.domain.exchange import Header
from consultations.domain.meeting_proposals import ACCEPTED, DECLINED, OPEN
from consultations.domain.wall_time import WallTime


class ExchangeProjection:
    """Rows of ``peers``, ``proposals`` and ``amendments``, in log order."""

    name: ClassVar[str] = "exchange"
    version: ClassVar[int] = 2
    tables: ClassVar[tuple[sa.Table, ...]] = (peers, proposals, amendments)
    reads: ClassVar[tuple[str, ...]] = ()  # projections whose tables it reads

    def handle(self, connection: Connection, batch: Sequence[RecordedEvent]) -> None:
        """Add, re-add and remove peers; record proposals, amendments, how they were settled."""
        for recorded in batch:
            event = recorded.event
            if isinstance(event, PeerAdded):
                _peer_added(connection, event, recorded.recorded_at)
            elif isinstance(event, EntriesExported):
                connection.execute(
                    peers.update()
                    .where(peers.c.peer_id == event.peer_id)
                    .values(sent=peers.c.sent + len(event.entries), sent_at=recorded.recorded_at)
                )
            elif isinstance(event, BundleAccepted):
                header = Header.parse(event.header)
                connection.execute(
                    peers.update()
                    .where(peers.c.peer_id == event.peer_id)
                    .values(
                        received=peers.c.received + len(event.entries),
                        received_at=recorded.recorded_at,
                        acknowledged=sa.case(
                            (peers.c.acknowledged < event.acknowledged, event.acknowledged),
                            else_=peers.c.acknowledged,
                        ),
                        schedule=dict(header.schedule),
                    )
                )
            elif isinstance(event, PeerRemoved):
                connection.execute(
                    peers.update()
                    .where(peers.c.peer_id == event.peer_id)
                    .values(removed_at=recorded.recorded_at)
                )
            elif isinstance(event, ChangeProposed):
                connection.execute(
                    proposals.insert().values(
                        proposal_id=event.proposal_id,
                        meeting_id=event.meeting_id,
                        proposer=event.proposer,
                        start_local=_local(event.start),
                        end_local=_local(event.end),
                        tz=event.tz,
                        venue=event.venue,
                        reason=event.reason,
                        status=OPEN,
                        proposed_at=recorded.recorded_at,
                    )
                )
            elif isinstance(event, ProposalAccepted | ProposalDeclined):
                connection.execute(
                    proposals.update()
                    .where(proposals.c.proposal_id == event.proposal_id)
                    .values(_settled(event, recorded.recorded_at))
                )
            elif isinstance(event, AmendmentProposed):
                connection.execute(
                    amendments.insert().values(
                        amendment_id=event.amendment_id,
                        track_id=event.track_id,
                        proposer=event.proposer,
                        changes=proposed_fields(event),
                        retire_on=event.retire_on,
                        reason=event.reason,
                        status=OPEN,
                        proposed_at=recorded.recorded_at,
                    )
                )
            elif isinstance(event, AmendmentAccepted | AmendmentDeclined):
                connection.execute(
                    amendments.update()
                    .where(amendments.c.amendment_id == event.amendment_id)
                    .values(_settled(event, recorded.recorded_at))
                )

    def replay(self, connection: Connection) -> Replay:
        """A rebuild handles the log batch after batch."""
        return BatchByBatch(self, connection)


def _peer_added(connection: Connection, event: PeerAdded, at: datetime) -> None:
    """A peer added, or added again: its key and address change, the exchange goes on."""
    updated = connection.execute(
        peers.update()
        .where(peers.c.peer_id == event.peer_id)
        .values(public_key=event.public_key, url=event.url, added_at=at, removed_at=None)
    )
    if not updated.rowcount:
        connection.execute(
            peers.insert().values(
                peer_id=event.peer_id,
                public_key=event.public_key,
                url=event.url,
                added_at=at,
                sent=0,
                acknowledged=0,
                received=0,
            )
        )


def _settled(
    event: ProposalAccepted | ProposalDeclined | AmendmentAccepted | AmendmentDeclined,
    at: datetime,
) -> dict[str, object]:
    """A proposal's or an amendment's row once the convener or creator settled it."""
    declined = isinstance(event, ProposalDeclined | AmendmentDeclined)
    return {
        "status": DECLINED if declined else ACCEPTED,
        "decision_reason": event.reason
        if isinstance(event, ProposalDeclined | AmendmentDeclined)
        else None,
        "decided_at": at,
    }


def proposed_fields(event: AmendmentProposed) -> dict[str, object]:
    """The track fields an amendment changes, by name, as stored (dates as ISO text)."""
    if event.amendment is None:
        return {}
    changed = {
        name: getattr(event.amendment, name)
        for name in event.amendment.__dataclass_fields__
        if name != "track_id" and getattr(event.amendment, name) is not None
    }
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in changed.items()
    }


def _local(moment: WallTime | None) -> str | None:
    return None if moment is None else moment.local.isoformat(timespec="seconds")
