"""`plan import`: bring the log in line with a TOML plan, atomically and idempotently.

The file says what should be true (parties, areas, tracks, meetings). Each entry becomes
the commands that close the gap with the log (add, amend, retire, plan, reschedule, hold,
cancel, close action items), all decided in one unit of work. Any problem anywhere: nothing
is written and every problem is reported with its location. A file already in the log
appends nothing.

The log knows a file by its name (the events' ``source``, ``plan:<file name>``). What an
import changes in entries already in the log is reported field by field; a change to a
field that another source changed after the file's last import would undo that change, and
is refused unless forced. The format is documented in docs/plan-format.md.
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import tomli

from consultations.adapters.eventlog import EventLog, RecordedEvent
from consultations.domain import meetings, parties, tracks
from consultations.domain.aggregates import (
    AREA,
    MEETING,
    PARTY,
    TRACK,
    Aggregate,
    for_command,
    of_stream,
)
from consultations.domain.commands import (
    AddTrack,
    AmendMeeting,
    AmendParty,
    AmendTrack,
    CancelMeeting,
    CompleteActionItem,
    DomainCommand,
    DropActionItem,
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
from consultations.domain.vocabulary import ActionStatus, MeetingStatus
from consultations.domain.wall_time import WallTime
from consultations.service_layer.handlers import handle
from consultations.service_layer.services import CommandService, Provenance, fingerprint
from consultations.service_layer.unit_of_work import UnitOfWork

MAX_FILE_BYTES = 16 * 1024 * 1024
SECTIONS = ("parties", "areas", "tracks", "meetings")
PARTY_KEYS = {"name", "tz", "departments", "email", "country"}
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
ACTION_KEYS = {"text", "owner", "due", "done", "dropped", "note"}
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
    CompleteActionItem: {"on": "done"},
    DropActionItem: {"on": "dropped", "reason": "note"},
}  # fmt: skip
CloseActionItem = CompleteActionItem | DropActionItem


def source_of(path: Path) -> str:
    """How the log names a plan file in its events' metadata: ``plan:<file name>``."""
    return f"plan:{path.name}"


class PlanProblems(Exception):
    """The plan cannot be imported; ``problems`` lists each as ``location: problem``.

    ``refused``: every problem is a rule refusing a change the file asks for (a meeting
    another party convenes, a track another party added), not a mistake in the file.
    """

    def __init__(self, problems: Sequence[str], *, refused: bool = False) -> None:
        super().__init__(f"{len(problems)} problem(s) in the plan")
        self.problems = list(problems)
        self.refused = refused


@dataclass(frozen=True, slots=True)
class Edit:
    """Who changed an entry, through what (the events' ``source``), and when it was recorded."""

    actor: str
    source: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Change:
    """One field of an entry already in the log that the import changes, as text.

    ``undoes``: the change another source made to the field after this file's last import,
    which this one would undo (None when there is none).
    """

    entry: str  # where it is in the file, e.g. ``meetings.ws-2027-h1``
    field: str  # the file's key, e.g. ``start`` or ``actions[2]``
    old: str
    new: str
    undoes: Edit | None = None


class PlanConflicts(Exception):
    """The import would undo changes made elsewhere since the file's last import (``changes``)."""

    def __init__(self, changes: Sequence[Change]) -> None:
        super().__init__(f"{len(changes)} change(s) would undo later changes made elsewhere")
        self.changes = list(changes)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import appended (or, in a dry run, would append), by event type.

    ``changes``: what it changed in entries already in the log. ``repeated``: the import was
    done before with the same idempotency key (even if this is a dry run); this is what it
    appended then.
    """

    events: Counter[str]
    positions: list[int] = field(default_factory=list)
    dry_run: bool = False
    changes: list[Change] = field(default_factory=list)
    repeated: bool = False
    # About meetings that will never count, or on a non-working day of a party, say.
    warnings: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """Number of events appended (or that would be)."""
        return sum(self.events.values())


def import_plan(
    service: CommandService,
    content: bytes,
    provenance: Provenance,
    *,
    dry_run: bool = False,
    force: bool = False,
    idempotency_key: str | None = None,
    strict: bool | None = None,
) -> ImportReport:
    """Import a TOML plan: decide everything first, then append it all in one transaction.

    Raises PlanProblems (the file is wrong), PlanConflicts (unless ``force``: it would undo
    changes another source made since this file's last import, see ``provenance.source``),
    IdempotencyKeyReused (the key was used for another command, e.g. a different file),
    OutsideWorkingTime (``strict``, default the service's: a meeting it plans or moves is
    on a non-working day or outside office hours of a party, or over another meeting).
    """
    digest = fingerprint("ImportPlan", {"sha256": hashlib.sha256(content).hexdigest()})
    if idempotency_key is not None:
        earlier = service.store.recorded_result(idempotency_key, digest)
        if earlier is not None:
            return ImportReport(_types_at(service.store, earlier), earlier, repeated=True)
    document = _parse(content)
    uow = service.new_unit_of_work()
    now = service.clock()
    problems: list[str] = []
    refusals = 0
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
            refusals += isinstance(error, NotAllowed)
    for party_id, problem in service.unknown_countries(uow):
        problems.append(f"parties.{_quoted(party_id)}.country: {problem}")
    if problems:
        raise PlanProblems(problems, refused=refusals == len(problems))
    changes = _changes(uow, provenance.source)
    if not force and any(change.undoes for change in changes):
        raise PlanConflicts([change for change in changes if change.undoes])
    found = service.working_time_conflicts(uow, strict=strict)
    counts = Counter(type(event).__name__ for events in uow.pending.values() for event in events)
    warnings = (
        *uow.warnings,
        *(f"meetings.{_quoted(meeting_id)}: {finding}" for meeting_id, finding in found),
    )
    if dry_run:
        return ImportReport(counts, dry_run=True, changes=changes, warnings=warnings)
    positions = uow.commit(provenance.metadata("ImportPlan"), idempotency_key, digest)
    return ImportReport(counts, positions, changes=changes, warnings=warnings)


def _types_at(store: EventLog, positions: Sequence[int]) -> Counter[str]:
    """The event types at ``positions`` (consecutive), counted."""
    batches = store.read(positions[0] - 1, up_to=positions[-1]) if positions else iter(())
    return Counter(event.event_type for batch in batches for event in batch)


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
    if command is not None and name == for_command(command).name:
        key = "id"  # the entry as a whole: who may change it
    if isinstance(command, RecordMeetingHeld) and name == "on" and command.on is None:
        key = "status"  # held at the planned start, which is in the future
    if isinstance(command, CloseActionItem):
        item = f"actions[{command.item_id.rpartition('/')[2]}]"
        key = item if name == "action" else f"{item}.{key}"
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

    def actions(
        self, key: str, meeting_id: str
    ) -> tuple[tuple[NewActionItem, ...], tuple[CloseActionItem, ...]]:
        """The action items, and the commands closing those the file says are done or dropped."""
        value = self._get(key, list, "a list of {text, owner, due} tables", False) or []
        items: list[NewActionItem] = []
        closes: list[CloseActionItem] = []
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
            done, dropped, note = where.day("done"), where.day("dropped"), where.text("note")
            if done is not None and dropped is not None:
                where.problem("dropped", "give done or dropped, not both")
            elif note is not None and done is None and dropped is None:
                where.problem("note", "is only for an action item that is done or dropped")
            for unknown in sorted(set(item) - ACTION_KEYS):
                where.problem(_quoted(unknown), "unknown key")
            if where.ok and text is not None and owner is not None and due is not None:
                items.append(NewActionItem(text=text, owner=owner, due=due))
                item_id = meetings.action_item_id(meeting_id, number)
                if done is not None:
                    closes.append(
                        CompleteActionItem(
                            meeting_id=meeting_id, item_id=item_id, on=done, note=note
                        )
                    )
                elif dropped is not None:
                    closes.append(
                        DropActionItem(
                            meeting_id=meeting_id, item_id=item_id, on=dropped, reason=note
                        )
                    )
            self.ok = self.ok and where.ok
        return tuple(items), tuple(closes)


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
        country=fields.text("country"),
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
        # So does a country left out; a country given is the party's from now on.
        return [AmendParty(party_id=party_id, country=command.country)] if command.country else []

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
    closes: tuple[CloseActionItem, ...]  # the file's done and dropped action items

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
            if current.status is MeetingStatus.HELD and self.status == "held":
                commands += self._closing(current)
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
            commands += [self.held, *self.closes]
        elif was_open and self.status == "cancelled":
            commands.append(CancelMeeting(meeting_id=plan.meeting_id, reason=self.reason or ""))
        return commands

    def _closing(self, held: meetings.Meeting) -> list[DomainCommand]:
        """The file's done and dropped action items that are still open in the log.

        Items are matched by their place in the list (``ID/1``, ``ID/2``…); the text must
        still be the recorded one, so a reordered list cannot close the wrong item.
        """
        commands: list[DomainCommand] = []
        recorded = {item.item_id: item for item in held.action_items}
        for close in self.closes:
            number = int(close.item_id.rpartition("/")[2])
            where = f"actions[{number}]"
            item = recorded.get(close.item_id)
            if item is None:
                raise NotAllowed(
                    where,
                    f"the log has no action item {close.item_id!r}; action items are "
                    "recorded with the meeting and cannot be added later",
                )
            if item.text != self.held.action_items[number - 1].text.strip():
                raise NotAllowed(
                    f"{where}.text",
                    f"differs from the recorded {item.text!r} of {close.item_id}; action "
                    "items are matched by their place in the list",
                )
            wanted = (
                ActionStatus.DONE if isinstance(close, CompleteActionItem) else ActionStatus.DROPPED
            )
            if item.status is ActionStatus.OPEN:
                commands.append(close)
            elif item.status is not wanted:
                raise NotAllowed(where, f"is {item.status} in the log; that cannot be changed")
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
    items, closes = fields.actions("actions", meeting_id)
    held = RecordMeetingHeld(
        meeting_id=meeting_id,
        on=fields.local_time("held_start"),
        end=fields.local_time("held_end"),
        fold=fold,
        attendance=fields.texts("attendance") or (),
        outcomes=fields.texts("outcomes") or (),
        action_items=items,
    )
    return _MeetingSpec(plan, classification, status, reason, held, closes)


class _Unchangeable(NotAllowed):
    def __init__(self, name: str, recorded: object, what: str) -> None:
        shown = recorded if isinstance(recorded, date) else repr(recorded)
        super().__init__(
            name, f"differs from the recorded {shown}; {what} cannot be changed by import"
        )


# --- what an import changes, and what it would undo ----------------------------------------

View = Callable[[Any], dict[str, str]]
_TRACK_SHOWN = {
    "title": "title", "kind": "kind", "cadence": "cadence", "required": "required",
    "start": "start", "tz": "tz", "parties": "parties", "areas": "areas",
    "priority": "priority", "duration": "default_duration", "reminders": "reminders",
    "host_rotation": "host_rotation", "retired": "retired_on",
}  # fmt: skip
_MEETING_SHOWN = {
    "title": "title", "kind": "kind", "start": "start", "end": "end", "tz": "tz",
    "venue": "venue", "host": "host", "participants": "participants", "agenda": "agenda",
    "classification": "classification",
}  # fmt: skip


def _text(value: object) -> str:
    """A value as the change listing shows it: times as ``YYYY-MM-DD HH:MM``, lists ``a; b``."""
    if value is None or value == ():
        return "(none)"
    if isinstance(value, WallTime):
        shown = f"{value.local:%Y-%m-%d %H:%M}" + (
            f":{value.local:%S}" if value.local.second else ""
        )
        return shown if value.fold is None else f"{shown} (fold {value.fold})"
    if isinstance(value, tuple):
        return "; ".join(_text(item) for item in value)
    return value.isoformat() if isinstance(value, date) else str(value)


def _party_view(party: parties.Party) -> dict[str, str]:
    """What an import may change in a party already in the log: its country."""
    return {"country": _text(party.country)}


def _track_view(track: tracks.Track) -> dict[str, str]:
    """A track as its file keys, each value as text."""
    return {key: _text(getattr(track, name)) for key, name in _TRACK_SHOWN.items()}


def _meeting_view(meeting: meetings.Meeting) -> dict[str, str]:
    """A meeting as its file keys (and ``actions[n]``), each value as text."""
    shown = {key: _text(getattr(meeting, name)) for key, name in _MEETING_SHOWN.items()}
    own = meeting.reminders
    shown["reminders"] = "(the track's)" if own is None else _text(own)
    # The file knows a rescheduled meeting as planned.
    moved = meeting.status is MeetingStatus.RESCHEDULED
    shown["status"] = MeetingStatus.PLANNED.value if moved else meeting.status.value
    for number, item in enumerate(meeting.action_items, start=1):
        closed = "" if item.closed_on is None else f" on {item.closed_on}"
        shown[f"actions[{number}]"] = f"{item.status}{closed}"
    return shown


_VIEWS: dict[str, View] = {
    PARTY.name: _party_view,
    TRACK.name: _track_view,
    MEETING.name: _meeting_view,
}
_SECTION_OF = {aggregate.name: section for section, aggregate in _AGGREGATE_OF.items()}


def _changes(uow: UnitOfWork, source: str) -> list[Change]:
    """What the pending events change in tracks and meetings already in the log, by field.

    A field that another source changed after this file's last import (its latest event
    among the streams read) is marked with that change, which this one would undo.
    """
    last_import = _last_import(uow, source)
    changes: list[Change] = []
    for stream_id, pending in uow.pending.items():
        aggregate = of_stream(stream_id)
        view, recorded = _VIEWS.get(aggregate.name), uow.recorded[stream_id]
        if view is None or not recorded:
            continue
        events = [stored.event for stored in recorded]
        before, after = view(aggregate.fold(events)), view(aggregate.fold([*events, *pending]))
        later = _edits_after(aggregate, view, recorded, last_import, source)
        entry = f"{_SECTION_OF[aggregate.name]}.{_quoted(aggregate.id_of(stream_id))}"
        changes += [
            Change(entry, key, old, after[key], later.get(key))
            for key, old in before.items()
            if after[key] != old
        ]
    return changes


def _last_import(uow: UnitOfWork, source: str) -> int | None:
    """The position of the newest event from ``source`` in the streams read (None: none)."""
    return max(
        (
            stored.position
            for stream in uow.recorded.values()
            for stored in stream
            if stored.metadata.get("source") == source
        ),
        default=None,
    )


def _edits_after(
    aggregate: Aggregate[Any],
    view: View,
    recorded: Sequence[RecordedEvent],
    position: int | None,
    source: str,
) -> dict[str, Edit]:
    """The fields that sources other than ``source`` changed after ``position``: the last edit.

    None: no event of ``source`` among the streams read, so it has nothing to undo.
    """
    edits: dict[str, Edit] = {}
    if position is None:
        return edits
    shown: dict[str, str] | None = None  # before the stream's first event
    for count, stored in enumerate(recorded, start=1):
        current = view(aggregate.fold(event.event for event in recorded[:count]))
        if stored.position > position and stored.metadata.get("source") != source:
            edit = Edit(
                str(stored.metadata.get("actor")),
                str(stored.metadata.get("source")),
                stored.recorded_at,
            )
            edits |= {
                key: edit
                for key, value in current.items()
                if shown is None or shown.get(key, value) != value
            }
        shown = current
    return edits
