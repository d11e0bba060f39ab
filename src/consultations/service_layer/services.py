"""The application's write side: run a command (or a batch) as one atomic append."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from consultations.adapters.eventlog import EventLog
from consultations.domain.aggregates import of_stream
from consultations.domain.commands import DomainCommand
from consultations.service_layer.handlers import MeetingDirectory, handle
from consultations.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who asked, why and through what: stored in every event's metadata."""

    actor: str
    source: str = "cli"
    reason: str | None = None

    def metadata(self, command: str) -> dict[str, Any]:
        """Metadata for the events of one command invocation (one correlation id)."""
        data: dict[str, Any] = {
            "actor": self.actor,
            "source": self.source,
            "command": command,
            "correlation_id": uuid.uuid4().hex,
        }
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command did: the aggregate it addressed and the positions it appended."""

    aggregate_id: str
    positions: list[int]
    repeated: bool = False


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CommandService:
    """Runs commands against the log; every rejection leaves the log untouched."""

    def __init__(
        self,
        store: EventLog,
        directory: MeetingDirectory,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock

    def execute(
        self,
        command: DomainCommand,
        provenance: Provenance,
        idempotency_key: str | None = None,
    ) -> Outcome:
        """Decide and append one command; a repeated idempotency key returns the first outcome."""
        if idempotency_key is not None:
            earlier = self.store.recorded_result(idempotency_key)
            if earlier is not None:
                return Outcome(self._aggregate_at(earlier[0]), earlier, repeated=True)
        uow = UnitOfWork(self.store)
        aggregate_id = handle(uow, command, self.clock(), self.directory)
        positions = uow.commit(provenance.metadata(type(command).__name__), idempotency_key)
        return Outcome(aggregate_id, positions)

    def new_unit_of_work(self) -> UnitOfWork:
        """A unit of work for a batch of commands (see ``plan_import``)."""
        return UnitOfWork(self.store)

    def _aggregate_at(self, position: int) -> str:
        (event,) = next(self.store.read(position - 1, batch_size=1))
        return of_stream(event.stream_id).id_of(event.stream_id)
