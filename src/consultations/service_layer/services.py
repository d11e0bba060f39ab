"""The application's write side: run a command (or a batch) as one atomic append."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from consultations.adapters.eventlog import EventLog
from consultations.domain.aggregates import of_stream
from consultations.domain.commands import CreateFeed, DomainCommand, ProposeAmendment, ProposeChange
from consultations.domain.errors import InvalidInput
from consultations.domain.working_calendar import Finding
from consultations.service_layer.handlers import MeetingDirectory, handle
from consultations.service_layer.unit_of_work import UnitOfWork
from consultations.service_layer.working_time import OutsideWorkingTime, WorkingTime


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
    warnings: tuple[str, ...] = ()  # about decisions that stand but may surprise


def _utc_now() -> datetime:
    return datetime.now(UTC)


# Values the application makes afresh for every request rather than the caller asking for
# them (``new_feed`` draws a feed id and a token): a retry is the same command without them.
_MADE_PER_REQUEST: Mapping[type, frozenset[str]] = {
    CreateFeed: frozenset({"feed_id", "token_sha256"}),
    ProposeChange: frozenset({"proposal_id"}),  # numbered by how many were made before
    ProposeAmendment: frozenset({"amendment_id"}),
}


def fingerprint(name: str, values: Mapping[str, Any]) -> str:
    """A digest of one request (its name and values) that its idempotency key is bound to."""
    text = json.dumps([name, values], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def command_fingerprint(command: DomainCommand) -> str:
    """:func:`fingerprint` of a command as the caller gave it."""
    made = _MADE_PER_REQUEST.get(type(command), frozenset())
    values = {k: v for k, v in dataclasses.asdict(command).items() if k not in made}
    return fingerprint(type(command).__name__, values)


class CommandService:
    """Runs commands against the log; every rejection leaves the log untouched.

    ``working_time``: the parties' working calendars, which what is planned is checked
    against (None: no checks); ``strict``: refuse, rather than warn about, a conflict.
    """

    def __init__(
        self,
        store: EventLog,
        directory: MeetingDirectory,
        clock: Callable[[], datetime] = _utc_now,
        *,
        working_time: WorkingTime | None = None,
        strict: bool = False,
    ) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock
        self.working_time = working_time
        self.strict = strict

    def execute(
        self,
        command: DomainCommand,
        provenance: Provenance,
        idempotency_key: str | None = None,
        *,
        strict: bool | None = None,
        request: str | None = None,
    ) -> Outcome:
        """Decide and append one command; a repeated idempotency key returns the first outcome.

        A key that was used for a different command raises IdempotencyKeyReused; ``request``
        is the :func:`fingerprint` the key is bound to when the caller's request is not the
        command itself (``track propose --plan`` picks the slot it plans). A meeting
        planned or moved onto a non-working day, outside office hours or over another
        meeting of a party is warned about, or with ``strict`` (default: the service's)
        refused with OutsideWorkingTime.
        """
        digest = None
        if idempotency_key is not None:
            digest = request or command_fingerprint(command)
            earlier = self.repeated(idempotency_key, digest)
            if earlier is not None:
                return earlier
        uow = UnitOfWork(self.store)
        aggregate_id = handle(uow, command, self.clock(), self.directory)
        unknown = self.unknown_countries(uow)
        if unknown:
            raise InvalidInput("country", unknown[0][1])
        found = self.working_time_conflicts(uow, strict=strict)
        warnings = (*uow.warnings, *(str(finding) for _, finding in found))
        metadata = provenance.metadata(type(command).__name__)
        positions = uow.commit(metadata, idempotency_key, digest)
        return Outcome(aggregate_id, positions, warnings=warnings)

    def repeated(self, idempotency_key: str, request: str) -> Outcome | None:
        """The first outcome of the request ``idempotency_key`` was used for, or None if new.

        ``request``: the request's :func:`fingerprint`; another request's raises
        IdempotencyKeyReused.
        """
        earlier = self.store.recorded_result(idempotency_key, request)
        if earlier is None:
            return None
        return Outcome(self._aggregate_at(earlier[0]), earlier, repeated=True)

    def unknown_countries(self, uow: UnitOfWork) -> list[tuple[str, str]]:
        """(party id, problem) for each country ``uow`` sets that no holidays data covers."""
        return [] if self.working_time is None else self.working_time.unknown_countries(uow)

    def working_time_conflicts(
        self, uow: UnitOfWork, *, strict: bool | None = None
    ) -> list[tuple[str, Finding]]:
        """The working-calendar conflicts of what ``uow`` plans: (meeting id, finding).

        With ``strict`` (default: the service's) any conflict raises OutsideWorkingTime.
        """
        if self.working_time is None:
            return []
        found = self.working_time.check_pending(uow)
        if found and (self.strict if strict is None else strict):
            raise OutsideWorkingTime(found)
        return found

    def new_unit_of_work(self) -> UnitOfWork:
        """A unit of work for a batch of commands (see ``plan_import``)."""
        return UnitOfWork(self.store)

    def _aggregate_at(self, position: int) -> str:
        (event,) = next(self.store.read(position - 1, batch_size=1))
        return of_stream(event.stream_id).id_of(event.stream_id)
