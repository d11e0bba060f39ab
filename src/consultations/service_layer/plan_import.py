"""`plan import`: bring the log in line with a TOML plan, atomically and idempotently.

The file says what should be true (parties, areas, tracks, meetings). Each entry becomes
the commands that close the gap with the log (add, amend, retire, plan, reschedule, hold,
cancel), all decided in one unit of work. Any problem anywhere: nothing is written and
every problem is reported with its location. A file already in the log appends nothing.
The format is documented in docs/plan-format.md.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from consultations.domain import areas, meetings, parties, tracks
from consultations.domain.commands import (
    AddTrack,
    AmendMeeting,
    AmendTrack,
    CancelMeeting,
    DomainCommand,
    NewActionItem,
    PlanMeeting,
    RecordMeetingHeld,
    RegisterArea,
    RegisterParty,
    RescheduleMeeting,
    RetireTrack,
)
from consultations.domain.errors import DomainError, NotAllowed
from consultations.domain.vocabulary import MeetingStatus
from consultations.service_layer.handlers import handle
from consultations.service_layer.services import CommandService, Provenance
from consultations.service_layer.unit_of_work import UnitOfWork

MAX_FILE_BYTES = 16 * 1024 * 1024
SECTIONS = ("parties", "areas", "tracks", "meetings")
PARTY_KEYS = {"name", "tz", "departments"}
AREA_KEYS = {"name"}
TRACK_KEYS = {
    "title", "kind", "cadence", "required", "start", "tz", "parties", "areas", "priority",
    "duration", "reminders", "host_rotation", "retired",
}  # fmt: skip
MEETING_KEYS = {
    "track", "title", "start", "end", "duration", "tz", "fold", "kind", "venue", "host",
    "participants", "agenda", "classification", "status", "reason", "held_start", "held_end",
    "attendance", "outcomes", "actions",
}  # fmt: skip
STATUSES = ("planned", "held", "cancelled")


class PlanProblems(Exception):
    """The plan cannot be imported; ``problems`` lists each as ``location: problem``."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the plan")
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import appended (or, in a dry run, would append), by event type."""

    events: Counter[str]
    positions: list[int] = field(default_factory=list)
    dry_run: bool = False

    @property
    def total(self) -> int:
        """Number of events appended (or that would be)."""
        return sum(self.events.values())


def import_plan(
    service: CommandService, content: bytes, provenance: Provenance, *, dry_run: bool = False
) -> ImportReport:
    """Import a TOML plan: decide everything first, then append it all in one transaction."""
    document = _parse(content)
    uow = service.new_unit_of_work()
    now = service.clock()
    problems: list[str] = []
    for location, build in _entries(document, problems):
        try:
            for command in build(uow):
                handle(uow, command, now, service.directory)
        except DomainError as error:
            problems.append(f"{location}.{error.field}: {error.problem}")
    if problems:
        raise PlanProblems(problems)
    counts = Counter(type(event).__name__ for events in uow.pending.values() for event in events)
    if dry_run:
        return ImportReport(counts, dry_run=True)
    positions = uow.commit(provenance.metadata("ImportPlan"))
    return ImportReport(counts, positions)


def _parse(content: bytes) -> Mapping[str, Any]:
    if len(content) > MAX_FILE_BYTES:
        raise PlanProblems([f"file: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"])
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PlanProblems([f"file: not UTF-8 text (byte {error.start})"]) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PlanProblems([f"file: not valid TOML: {error}"]) from None
    unknown = sorted(set(document) - set(SECTIONS))
    if unknown:
        raise PlanProblems(
            [f"{key}: unknown section; expected {', '.join(SECTIONS)}" for key in unknown]
        )
    return document


Builder = Any  # Callable[[UnitOfWork], list[DomainCommand]]; raises DomainError


def _entries(document: Mapping[str, Any], problems: list[str]) -> Iterator[tuple[str, Builder]]:
    """Yield (location, builder) per entry, in dependency order; collect shape problems."""
    specs: dict[str, list[tuple[str, Any]]] = {}
    for section, keys, reader in (
        ("parties", PARTY_KEYS, _party),
        ("areas", AREA_KEYS, _area),
        ("tracks", TRACK_KEYS, _track),
        ("meetings", MEETING_KEYS, _meeting),
    ):
        table = document.get(section, {})
        if not isinstance(table, dict):
            problems.append(f"{section}: expected a table of entries keyed by id")
            continue
        specs[section] = []
        for key, entry in table.items():
            location = f"{section}.{key}"
            if not isinstance(entry, dict):
                problems.append(f"{location}: expected a table")
                continue
            fields = _Fields(location, entry, problems)
            for unknown in sorted(set(entry) - keys):
                problems.append(f"{location}.{unknown}: unknown key")
            spec = reader(key, fields)
            if fields.ok:
                specs[section].append((location, spec))
    # Meetings in time order, so host rotation follows the calendar.
    specs.get("meetings", []).sort(key=lambda item: item[1].plan.start)
    for section in SECTIONS:
        yield from specs.get(section, [])


class _Fields:
    """Typed access to one TOML table; type problems are collected, not raised."""

    def __init__(self, location: str, entry: Mapping[str, Any], problems: list[str]) -> None:
        self.location, self.entry, self.problems, self.ok = location, entry, problems, True

    def _get(self, key: str, kind: type, what: str, required: bool) -> Any:
        if key not in self.entry:
            if required:
                self._problem(key, "is required")
            return None
        value = self.entry[key]
        wrong = not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool)
        if kind is date and isinstance(value, datetime):
            wrong = True
        if wrong:
            self._problem(key, f"expected {what}, got {_describe(value)}")
            return None
        return value

    def _problem(self, key: str, problem: str) -> None:
        self.problems.append(f"{self.location}.{key}: {problem}")
        self.ok = False

    def text(self, key: str, *, required: bool = False) -> str | None:
        return cast(str | None, self._get(key, str, "text", required))

    def integer(self, key: str) -> int | None:
        return cast(int | None, self._get(key, int, "a whole number", False))

    def day(self, key: str, *, required: bool = False) -> date | None:
        return cast(date | None, self._get(key, date, "a date such as 2026-05-14", required))

    def local_time(self, key: str, *, required: bool = False) -> datetime | None:
        value = self._get(key, datetime, "a local date-time such as 2026-05-14T10:00:00", required)
        if value is not None and value.tzinfo is not None:
            self._problem(key, "must be a local date-time without an offset; the zone is `tz`")
            return None
        return cast(datetime | None, value)

    def texts(self, key: str) -> tuple[str, ...] | None:
        value = self._get(key, list, "a list of text", False)
        if value is None:
            return None
        if not all(isinstance(item, str) for item in value):
            self._problem(key, "expected a list of text")
            return None
        return tuple(value)

    def actions(self, key: str) -> tuple[NewActionItem, ...]:
        value = self._get(key, list, "a list of {text, owner, due} tables", False) or []
        items = []
        for number, item in enumerate(value, start=1):
            where = _Fields(f"{self.location}.{key}[{number}]", item, self.problems)
            if not isinstance(item, dict):
                self._problem(f"{key}[{number}]", "expected a table {text, owner, due}")
                continue
            text, owner, due = (
                where.text("text", required=True),
                where.text("owner", required=True),
                where.day("due", required=True),
            )
            for unknown in sorted(set(item) - {"text", "owner", "due"}):
                where._problem(unknown, "unknown key")
            if where.ok and text is not None and owner is not None and due is not None:
                items.append(NewActionItem(text, owner, due))
            self.ok = self.ok and where.ok
        return tuple(items)


def _describe(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"


# --- entries: what the file asks for, and the commands that bring the log in line ---------


def _party(party_id: str, fields: _Fields) -> Builder:
    command = RegisterParty(
        party_id, fields.text("name", required=True) or "", fields.text("tz", required=True) or "",
        fields.texts("departments") or (),
    )  # fmt: skip

    def build(uow: UnitOfWork) -> list[DomainCommand]:
        current = parties.fold(cast(Any, uow.events(parties.stream_id(party_id))))
        if current is None:
            return [command]
        for name in ("name", "tz", "departments"):
            if getattr(current, name) != getattr(command, name):
                raise _Unchangeable(name, getattr(current, name), "parties")
        return []

    return build


def _area(area_id: str, fields: _Fields) -> Builder:
    command = RegisterArea(area_id, fields.text("name", required=True) or "")

    def build(uow: UnitOfWork) -> list[DomainCommand]:
        current = areas.fold(cast(Any, uow.events(areas.stream_id(area_id))))
        if current is None:
            return [command]
        if current.name != command.name:
            raise _Unchangeable("name", current.name, "areas")
        return []

    return build


def _track(track_id: str, fields: _Fields) -> Builder:
    values = {
        "title": fields.text("title", required=True),
        "kind": fields.text("kind", required=True),
        "cadence": fields.text("cadence", required=True),
        "start": fields.day("start", required=True),
        "tz": fields.text("tz", required=True),
        "parties": fields.texts("parties"),
        "areas": fields.texts("areas"),
        "priority": fields.text("priority"),
        "required": fields.integer("required"),
        "default_duration": fields.text("duration"),
        "reminders": fields.texts("reminders"),
        "host_rotation": fields.texts("host_rotation"),
    }
    retired = fields.day("retired")

    def build(uow: UnitOfWork) -> list[DomainCommand]:
        current = tracks.fold(cast(Any, uow.events(tracks.stream_id(track_id))))
        given = {name: value for name, value in values.items() if value is not None}
        commands: list[DomainCommand] = (
            [AddTrack(track_id, **cast(dict[str, Any], given))]
            if current is None
            else [AmendTrack(track_id, **cast(dict[str, Any], given))]
        )
        if retired is not None:
            if current is None or current.retired_on is None:
                commands.append(RetireTrack(track_id, retired))
            elif current.retired_on != retired:
                raise _Unchangeable("retired", current.retired_on, "tracks")
        return commands

    return build


@dataclass(frozen=True, slots=True)
class _MeetingSpec:
    plan: PlanMeeting
    classification: str | None  # None when the file leaves it out: unchanged on amendment
    status: str
    reason: str | None
    held: RecordMeetingHeld

    def __call__(self, uow: UnitOfWork) -> list[DomainCommand]:
        plan = self.plan
        current = meetings.fold(cast(Any, uow.events(meetings.stream_id(plan.meeting_id))))
        commands: list[DomainCommand] = []
        if current is None:
            commands.append(plan)
        elif current.status in (MeetingStatus.PLANNED, MeetingStatus.RESCHEDULED):
            if self._moved(current):
                commands.append(
                    RescheduleMeeting(
                        plan.meeting_id, plan.start, plan.end, plan.duration, plan.tz, plan.fold
                    )
                )
            commands.append(
                AmendMeeting(
                    plan.meeting_id,
                    plan.title,
                    plan.venue,
                    plan.host,
                    plan.participants or None,
                    plan.agenda or None,
                    self.classification,
                )
            )
        was_open = current is None or not current.is_closed
        if was_open and self.status == "held":
            commands.append(self.held)
        elif was_open and self.status == "cancelled":
            commands.append(CancelMeeting(plan.meeting_id, self.reason or ""))
        return commands

    def _moved(self, current: meetings.Meeting) -> bool:
        plan = self.plan
        if plan.start != current.start or (plan.tz is not None and plan.tz != current.tz):
            return True
        if plan.end is not None:
            return plan.end != current.end
        return plan.duration is not None  # compared by the domain: same end → no event


def _meeting(meeting_id: str, fields: _Fields) -> _MeetingSpec:
    fold = fields.integer("fold")
    classification = fields.text("classification")
    plan = PlanMeeting(
        meeting_id=meeting_id,
        title=fields.text("title", required=True) or "",
        start=fields.local_time("start", required=True) or datetime(2000, 1, 1),
        track_id=fields.text("track"),
        end=fields.local_time("end"),
        duration=fields.text("duration"),
        tz=fields.text("tz"),
        fold=fold,
        kind=fields.text("kind"),
        venue=fields.text("venue"),
        host=fields.text("host"),
        participants=fields.texts("participants") or (),
        agenda=fields.texts("agenda") or (),
        classification=classification or "internal",
    )
    status = fields.text("status") or "planned"
    if status not in STATUSES:
        fields._problem("status", f"expected one of {', '.join(STATUSES)}, got {status!r}")
    reason = fields.text("reason")
    if status == "cancelled" and not reason:
        fields._problem("reason", "is required when status is cancelled")
    held = RecordMeetingHeld(
        meeting_id,
        on=fields.local_time("held_start"),
        end=fields.local_time("held_end"),
        fold=fold,
        attendance=fields.texts("attendance") or (),
        outcomes=fields.texts("outcomes") or (),
        action_items=fields.actions("actions"),
    )
    return _MeetingSpec(plan, classification, status, reason, held)


class _Unchangeable(NotAllowed):
    def __init__(self, name: str, recorded: object, section: str) -> None:
        super().__init__(
            name, f"differs from the recorded {recorded!r}; {section} cannot be changed by import"
        )
