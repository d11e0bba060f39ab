"""`plan import`: bring the log in line with a TOML plan, atomically and idempotently.

The file says what should be true (parties, areas, tracks, meetings). Each entry becomes
the commands that close the gap with the log (add, amend, retire, plan, reschedule, hold,
cancel), all decided in one unit of work. Any problem anywhere: nothing is written and
every problem is reported with its location. A file already in the log appends nothing.
The format is documented in docs/plan-format.md.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import tomli

from consultations.domain import meetings, tracks
from consultations.domain.aggregates import AREA, MEETING, PARTY, TRACK, Aggregate
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
from consultations.domain.errors import DomainError, InvalidInput, NotAllowed
from consultations.domain.validation import validate_id
from consultations.service_layer.handlers import handle
from consultations.service_layer.services import CommandService, Provenance
from consultations.service_layer.unit_of_work import UnitOfWork

MAX_FILE_BYTES = 16 * 1024 * 1024
SECTIONS = ("parties", "areas", "tracks", "meetings")
PARTY_KEYS = {"name", "tz", "departments", "email"}
AREA_KEYS = {"name"}
TRACK_KEYS = {
    "title", "kind", "cadence", "required", "start", "tz", "parties", "areas", "priority",
    "duration", "reminders", "host_rotation", "retired",
}  # fmt: skip
MEETING_KEYS = {
    "track", "title", "start", "end", "duration", "tz", "fold", "kind", "venue", "host",
    "participants", "agenda", "classification", "status", "reason", "held_start", "held_end",
    "attendance", "outcomes", "actions", "reminders",
}  # fmt: skip
STATUSES = ("planned", "held", "cancelled")
HELD_KEYS = ("held_start", "held_end", "attendance", "outcomes", "actions")
# Where the domain names a field differently from the file; "id" is the entry itself.
_TRACK_FIELDS = {"party": "parties", "area": "areas", "rotation": "host_rotation"}
_FILE_KEYS: dict[type, dict[str, str]] = {
    AddTrack: _TRACK_FIELDS,
    AmendTrack: _TRACK_FIELDS,
    RetireTrack: {"on": "retired"},
    RecordMeetingHeld: {
        "on": "held_start", "end": "held_end", "action": "actions", "owner": "actions",
        "outcome": "outcomes",
    },
}  # fmt: skip


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
    entries = list(_entries(document, problems))
    # Every entry's stream at once: a new one costs no query of its own to learn it is new.
    uow.preload(_streams_named(document))
    for location, build in entries:
        command: DomainCommand | None = None
        try:
            for command in build(uow, now):
                handle(uow, command, now, service.directory)
        except DomainError as error:
            problems.append(f"{_where(location, command, error.field)}: {error.problem}")
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
    content = content.removeprefix(codecs.BOM_UTF8)  # as some Windows editors save UTF-8
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        raise PlanProblems(
            [f"file: not UTF-8 text (line {line}, byte {error.start}); save it as UTF-8"]
        ) from None
    try:
        document = tomli.loads(text)  # tomllib's code, compiled
    except tomli.TOMLDecodeError as error:
        raise PlanProblems([f"file: not valid TOML: {error}"]) from None
    except RecursionError:
        raise PlanProblems(["file: not valid TOML: arrays or tables nested too deeply"]) from None
    if not document:
        raise PlanProblems([f"file: empty; expected tables {', '.join(SECTIONS)}"])
    return document


_AGGREGATE_OF: dict[str, Aggregate[Any]] = {
    "parties": PARTY,
    "areas": AREA,
    "tracks": TRACK,
    "meetings": MEETING,
}


def _streams_named(document: Mapping[str, Any]) -> Iterator[str]:
    """The streams of the plan's entries (those with valid ids: the others are problems)."""
    for section, aggregate in _AGGREGATE_OF.items():
        table = document.get(section)
        if isinstance(table, dict):
            for key in table:
                try:
                    validate_id(key)
                except InvalidInput:
                    continue
                yield aggregate.stream_id(key)


# Returns the commands that bring the log in line with one entry; raises DomainError.
Builder = Callable[[UnitOfWork, datetime], list[DomainCommand]]


def _where(location: str, command: DomainCommand | None, name: str) -> str:
    """The file location of a domain error about ``name`` raised while handling ``command``."""
    key = _FILE_KEYS.get(type(command), {}).get(name, name)
    if isinstance(command, RecordMeetingHeld) and name == "on" and command.on is None:
        key = "status"  # held at the planned start, which is in the future
    return location if key == "id" else f"{location}.{key}"


def _quoted(key: str) -> str:
    """A table key as TOML would need it written (bare if possible)."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    return json.dumps(key, ensure_ascii=not key.isprintable())  # one line, readable if possible


def _entries(document: Mapping[str, Any], problems: list[str]) -> Iterator[tuple[str, Builder]]:
    """Yield (location, builder) per entry, in dependency order; collect shape problems."""
    for key in sorted(set(document) - set(SECTIONS)):
        problems.append(f"{_quoted(key)}: unknown section; expected {', '.join(SECTIONS)}")
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
            location = f"{section}.{_quoted(key)}"
            if not isinstance(entry, dict):
                problems.append(f"{location}: expected a table")
                continue
            values = _Fields(location, entry, problems)
            try:
                validate_id(key)  # before the id is used to look anything up
            except InvalidInput as error:
                problems.append(f"{location}: {error.problem}")
                values.ok = False
            for unknown in sorted(set(entry) - keys):
                values.problem(_quoted(unknown), "unknown key")
            spec = reader(key, values)
            if values.ok:
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
                self.problem(key, "is required")
            return None
        value = self.entry[key]
        wrong = not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool)
        if kind is date and isinstance(value, datetime):
            wrong = True
        if wrong:
            self.problem(key, f"expected {what}, got {_describe(value)}")
            return None
        return value

    def problem(self, key: str, problem: str) -> None:
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
            self.problem(key, "must be a local date-time without an offset; the zone is `tz`")
            return None
        return cast(datetime | None, value)

    def texts(self, key: str) -> tuple[str, ...] | None:
        value = self._get(key, list, "a list of text", False)
        if value is None:
            return None
        if not all(isinstance(item, str) for item in value):
            self.problem(key, "expected a list of text")
            return None
        return tuple(value)

    def identifier(self, key: str, *, required: bool = False) -> str | None:
        """Text naming a party, area or track: checked before it is looked up."""
        value = self.text(key, required=required)
        return None if value is None else (self._ids(key, (value,)) or (None,))[0]

    def identifiers(self, key: str) -> tuple[str, ...] | None:
        value = self.texts(key)
        return None if value is None else self._ids(key, value)

    def _ids(self, key: str, values: tuple[str, ...]) -> tuple[str, ...] | None:
        for value in values:
            try:
                validate_id(value, key)
            except InvalidInput as error:
                self.problem(key, error.problem)
                return None
        return values

    def actions(self, key: str) -> tuple[NewActionItem, ...]:
        value = self._get(key, list, "a list of {text, owner, due} tables", False) or []
        items = []
        for number, item in enumerate(value, start=1):
            where = _Fields(f"{self.location}.{key}[{number}]", item, self.problems)
            if not isinstance(item, dict):
                self.problem(f"{key}[{number}]", "expected a table {text, owner, due}")
                continue
            text, owner, due = (
                where.text("text", required=True),
                where.identifier("owner", required=True),
                where.day("due", required=True),
            )
            for unknown in sorted(set(item) - {"text", "owner", "due"}):
                where.problem(_quoted(unknown), "unknown key")
            if where.ok and text is not None and owner is not None and due is not None:
                items.append(NewActionItem(text=text, owner=owner, due=due))
            self.ok = self.ok and where.ok
        return tuple(items)


def _describe(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"


# --- entries: what the file asks for, and the commands that bring the log in line ---------


def _party(party_id: str, fields: _Fields) -> Builder:
    command = RegisterParty(
        party_id=party_id,
        name=fields.text("name", required=True) or "",
        tz=fields.text("tz", required=True) or "",
        departments=fields.texts("departments") or (),
        email=fields.text("email"),
    )

    def build(uow: UnitOfWork, now: datetime) -> list[DomainCommand]:
        current = uow.state(PARTY, party_id)
        if current is None:
            return [command]
        (wanted,) = PARTY.decide(None, command, now)  # compared in their stored form
        # An e-mail left out of the file leaves the recorded one as it is.
        compared = ("name", "tz", "departments") + (("email",) if command.email else ())
        for name in compared:
            if getattr(current, name) != getattr(wanted, name):
                raise _Unchangeable(name, getattr(current, name), "a party")
        return []

    return build


def _area(area_id: str, fields: _Fields) -> Builder:
    command = RegisterArea(area_id=area_id, name=fields.text("name", required=True) or "")

    def build(uow: UnitOfWork, now: datetime) -> list[DomainCommand]:
        current = uow.state(AREA, area_id)
        if current is None:
            return [command]
        (wanted,) = AREA.decide(None, command, now)
        if current.name != wanted.name:
            raise _Unchangeable("name", current.name, "an area")
        return []

    return build


def _track(track_id: str, fields: _Fields) -> Builder:
    values = {
        "title": fields.text("title", required=True),
        "kind": fields.text("kind", required=True),
        "cadence": fields.text("cadence", required=True),
        "start": fields.day("start", required=True),
        "tz": fields.text("tz", required=True),
        "parties": fields.identifiers("parties"),
        "areas": fields.identifiers("areas"),
        "priority": fields.text("priority"),
        "required": fields.integer("required"),
        "default_duration": fields.text("duration"),
        "reminders": fields.texts("reminders"),
        "host_rotation": fields.identifiers("host_rotation"),
    }
    retired = fields.day("retired")

    def build(uow: UnitOfWork, now: datetime) -> list[DomainCommand]:
        current = uow.state(TRACK, track_id)
        given = cast(dict[str, Any], {k: v for k, v in values.items() if v is not None})
        if current is None:
            commands: list[DomainCommand] = [AddTrack(track_id=track_id, **given)]
        elif current.retired_on is None:
            commands = [AmendTrack(track_id=track_id, **given)]
        else:
            _require_unchanged(current, AmendTrack(track_id=track_id, **given), now)
            commands = []
        if current is not None and current.retired_on is not None and retired is None:
            raise NotAllowed(
                "retired", f"is {current.retired_on} in the log; retiring cannot be undone"
            )
        if retired is not None:
            if current is None or current.retired_on is None:
                commands.append(RetireTrack(track_id=track_id, on=retired))
            elif current.retired_on != retired:
                raise _Unchangeable("retired", current.retired_on, "a retirement date")
        return commands

    return build


def _require_unchanged(track: tracks.Track, amendment: AmendTrack, now: datetime) -> None:
    """A retired track cannot be amended: the file must still describe it as it is."""
    unretired = dataclasses.replace(track, retired_on=None)
    for event in TRACK.decide(unretired, amendment, now):  # the amendment it would be
        name = next(
            f.name
            for f in dataclasses.fields(event)
            if f.name != "track_id" and getattr(event, f.name) is not None
        )
        raise NotAllowed(
            "duration" if name == "default_duration" else name,
            f"the track was retired on {track.retired_on}; it cannot be amended",
        )


@dataclass(frozen=True, slots=True)
class _MeetingSpec:
    plan: PlanMeeting
    classification: str | None  # None when the file leaves it out: unchanged on amendment
    status: str
    reason: str | None
    held: RecordMeetingHeld

    def __call__(self, uow: UnitOfWork, now: datetime) -> list[DomainCommand]:
        plan = self.plan
        current = uow.state(MEETING, plan.meeting_id)
        commands: list[DomainCommand] = []
        if current is None:
            commands.append(plan)
        elif current.is_closed:  # a file that still says "planned" merely lags behind
            if self.status not in ("planned", current.status.value):
                raise NotAllowed(
                    "status", f"is {current.status.value} in the log; that cannot be changed"
                )
        else:
            if self._moved(current):
                move = RescheduleMeeting(
                    meeting_id=plan.meeting_id,
                    start=plan.start,
                    end=plan.end,
                    duration=plan.duration,
                    tz=plan.tz,
                    fold=plan.fold,
                )
                # A planned meeting's `reason` says why it moved.
                reason = self.reason if self.status == "planned" else None
                commands.append(dataclasses.replace(move, reason=reason))
            commands.append(
                AmendMeeting(
                    meeting_id=plan.meeting_id,
                    title=plan.title,
                    venue=plan.venue,
                    host=plan.host,
                    participants=plan.participants or None,
                    agenda=plan.agenda or None,
                    classification=self.classification,
                    reminders=plan.reminders,
                )
            )
        was_open = current is None or not current.is_closed
        if was_open and self.status == "held":
            commands.append(self.held)
        elif was_open and self.status == "cancelled":
            commands.append(CancelMeeting(meeting_id=plan.meeting_id, reason=self.reason or ""))
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
        track_id=fields.identifier("track"),
        end=fields.local_time("end"),
        duration=fields.text("duration"),
        tz=fields.text("tz"),
        fold=fold,
        kind=fields.text("kind"),
        venue=fields.text("venue"),
        host=fields.identifier("host"),
        participants=fields.identifiers("participants") or (),
        agenda=fields.texts("agenda") or (),
        classification=classification or "internal",
        reminders=fields.texts("reminders"),
    )
    status = fields.text("status") or "planned"
    if status not in STATUSES:
        fields.problem("status", f"expected one of {', '.join(STATUSES)}, got {_describe(status)}")
    reason = fields.text("reason")
    if status == "cancelled" and not reason:
        fields.problem("reason", "is required when status is cancelled")
    if status == "held" and reason is not None:
        fields.problem("reason", "is only for a cancelled or rescheduled meeting, not a held one")
    for key in HELD_KEYS:
        if key in fields.entry and status != "held":
            fields.problem(key, 'is only for a meeting with status = "held"')
    held = RecordMeetingHeld(
        meeting_id=meeting_id,
        on=fields.local_time("held_start"),
        end=fields.local_time("held_end"),
        fold=fold,
        attendance=fields.texts("attendance") or (),
        outcomes=fields.texts("outcomes") or (),
        action_items=fields.actions("actions"),
    )
    return _MeetingSpec(plan, classification, status, reason, held)


class _Unchangeable(NotAllowed):
    def __init__(self, name: str, recorded: object, what: str) -> None:
        shown = recorded if isinstance(recorded, date) else repr(recorded)
        super().__init__(
            name, f"differs from the recorded {shown}; {what} cannot be changed by import"
        )
