"""`consultations track …`: recurring engagements with a cadence commitment."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVar

import click

from consultations.adapters.read_models import ScheduleFilter
from consultations.domain.cadence import parse_cadence
from consultations.domain.commands import (
    AddTrack,
    AmendTrack,
    DeclineAmendment,
    PlanMeeting,
    RetireTrack,
)
from consultations.domain.errors import InvalidInput, NotAllowed
from consultations.domain.proposals import Proposal
from consultations.domain.tracks import Track
from consultations.domain.validation import MAX_TITLE_LENGTH
from consultations.domain.vocabulary import Kind, Priority
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import Column, format_option, output_options, render
from consultations.entrypoints.cli.params import DAY, comma_list, default_actor, write_options
from consultations.entrypoints.cli.show import show_aggregate
from consultations.service_layer.history import aggregate_history
from consultations.service_layer.services import Provenance, fingerprint
from consultations.service_layer.wording import describe_cadence
from consultations.service_layer.working_time import proposals_for

F = TypeVar("F", bound=Callable[..., Any])
KINDS = [kind.value for kind in Kind]
PRIORITIES = [priority.value for priority in Priority]
TRACK_COLUMNS = (
    "track_id", "title", "kind", "cadence", "required", "priority", "areas", "parties",
    "start_date", "retired_on", "tz", "default_duration", "reminders", "host_rotation",
)  # fmt: skip
TABLE_TRACK_COLUMNS: tuple[Column, ...] = (
    ("track_id", "priority"), "title", "cadence", ("start_date", "retired_on"),
)  # fmt: skip
PROPOSAL_COLUMNS = (
    "rank", "window", "start_local", "end_local", "tz", "start_utc", "end_utc", "host", "reasons",
)  # fmt: skip
TABLE_PROPOSAL_COLUMNS: tuple[Column, ...] = (
    "rank", ("start_local", "end_local"), ("host", "window"), "reasons",
)  # fmt: skip
AMENDMENT_FIELDS = (
    "amendment_id", "track_id", "proposer", "changes", "retire_on", "reason", "status",
    "decision_reason", "proposed_at", "decided_at",
)  # fmt: skip
TABLE_AMENDMENT_COLUMNS: tuple[Column, ...] = (
    ("amendment_id", "track_id"), ("proposer", "status"), "changes", ("reason", "decision_reason"),
)  # fmt: skip


@click.group("track")
def track() -> None:
    """Agreed, recurring engagements (workshops, consultations, reviews, task forces)."""


def _track_options(*, adding: bool) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        options = [
            click.option("--title", required=adding, help="e.g. 'Bi-annual strategy workshop'."),
            click.option("--kind", type=click.Choice(KINDS), required=adding),
            click.option(
                "--cadence",
                required=adding,
                help="half-year | quarter | month | year | max-gap:P6M",
            ),
            click.option("--required", type=int, help="Sessions required per window (default 1)."),
            click.option("--start", type=DAY, required=adding, help="First day sessions count."),
            click.option("--area", "areas", multiple=True, help="Cooperation area (repeatable)."),
            click.option("--party", "parties", multiple=True, help="Party (repeatable)."),
            click.option("--priority", type=click.Choice(PRIORITIES)),
            click.option("--tz", help="IANA zone for windows (default: the first party's)."),
            click.option("--duration", help="Default meeting length, e.g. PT3H (default PT2H)."),
            click.option("--reminders", help="Offsets before each session, e.g. P14D,P1D."),
            click.option("--host-rotation", help="Parties hosting in turn, e.g. AZ-MFA,TM-MFA."),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@track.command("add")
@click.argument("track_id", metavar="ID")
@_track_options(adding=True)
@write_options
@pass_context
def add_track(
    context: CliContext, track_id: str, title: str, kind: str, cadence: str, required: int | None,
    start: date, areas: tuple[str, ...], parties: tuple[str, ...], priority: str | None,
    tz: str | None, duration: str | None, reminders: str | None, host_rotation: str | None,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Add a track."""
    command = AddTrack(
        track_id=track_id,
        title=title,
        kind=kind,
        cadence=cadence,
        start=start,
        tz=tz or "",
        parties=parties,
        areas=areas,
        priority=priority or "medium",
        required=required or 1,
        default_duration=duration or "PT2H",
        reminders=comma_list(reminders) or (),
        host_rotation=comma_list(host_rotation) or (),
    )
    click.echo(context.execute(command, actor, reason, idempotency_key).aggregate_id)


PROPOSE = click.option(
    "--propose",
    is_flag=True,
    help="Propose it to the party that added the track (needs --reason).",
)


@track.command("amend")
@click.argument("track_id", metavar="ID")
@_track_options(adding=False)
@PROPOSE
@write_options
@pass_context
def amend_track(
    context: CliContext, track_id: str, title: str | None, kind: str | None, cadence: str | None,
    required: int | None, start: date | None, areas: tuple[str, ...], parties: tuple[str, ...],
    priority: str | None, tz: str | None, duration: str | None, reminders: str | None,
    host_rotation: str | None, propose: bool, actor: str, reason: str | None,
    idempotency_key: str | None,
) -> None:  # fmt: skip
    """Change some of a track's fields; the others stay as they are.

    With --propose (a joint track another party added): propose the change to that party.
    """
    command = AmendTrack(
        track_id=track_id,
        title=title,
        kind=kind,
        cadence=cadence,
        required=required,
        start=start,
        tz=tz,
        parties=parties or None,
        areas=areas or None,
        priority=priority,
        default_duration=duration,
        reminders=comma_list(reminders),
        host_rotation=comma_list(host_rotation),
    )
    if propose:
        changes = None if command == AmendTrack(track_id=track_id) else command
        _propose(context, track_id, changes, None, actor, reason, idempotency_key)
        return
    outcome = context.execute(command, actor, reason, idempotency_key)
    click.echo(f"{outcome.aggregate_id}: {'amended' if outcome.positions else 'nothing changed'}")


@track.command("retire")
@click.argument("track_id", metavar="ID")
@click.option("--on", "on", type=DAY, required=True, help="Last day the track runs.")
@PROPOSE
@write_options
@pass_context
def retire_track(
    context: CliContext, track_id: str, on: date, propose: bool,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Retire a track: no sessions are required after the date.

    With --propose (a joint track another party added): propose it to that party.
    """
    if propose:
        _propose(context, track_id, None, on, actor, reason, idempotency_key)
        return
    outcome = context.execute(RetireTrack(track_id=track_id, on=on), actor, reason, idempotency_key)
    click.echo(f"{outcome.aggregate_id}: retired on {on.isoformat()}")


def _propose(
    context: CliContext, track_id: str, amendment: AmendTrack | None, retire_on: date | None,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Propose a change of a track to the party that added it; prints the amendment's id."""
    from consultations.service_layer.track_amendments import propose

    if not reason:
        raise InvalidInput("reason", "give --reason with --propose: the track's creator reads it")
    app = context.app()
    outcome = propose(
        app.commands, app.read_models, track_id, amendment=amendment, retire_on=retire_on,
        reason=reason, provenance=Provenance(actor=actor, source="cli", reason=reason),
        idempotency_key=idempotency_key,
    )  # fmt: skip
    click.echo(f"{track_id}: amendment {outcome.aggregate_id} proposed")


@track.command("amendments")
@click.argument("track_id", metavar="[ID]", required=False)
@format_option
@pass_context
def list_amendments(context: CliContext, track_id: str | None, output_format: str) -> None:
    """List the proposed changes of tracks (amendments), open ones first, with their ids."""
    if track_id is not None:
        context.require_known("id", track=track_id)
    with context.read_models() as read:
        rows = read.amendments(track_id)
    if output_format == "table":
        for row in rows:
            row["changes"] = describe_changes(row["changes"], row["retire_on"])
        render(rows, TABLE_AMENDMENT_COLUMNS, output_format, title="Amendments")
    else:
        render(rows, AMENDMENT_FIELDS, output_format, title="Amendments")


def describe_changes(changes: dict[str, Any], retire_on: date | None) -> str:
    """What an amendment changes, in words: ``cadence → P6M; retire on 2027-06-30``."""
    parts = [
        f"{name} → {', '.join(value) if isinstance(value, list) else value}"
        for name, value in changes.items()
    ]
    if retire_on is not None:
        parts.append(f"retire on {retire_on.isoformat()}")
    return "; ".join(parts)


@track.command("accept")
@click.argument("track_id", metavar="ID")
@click.argument("amendment_id", metavar="AMENDMENT")
@click.option("--actor", default=default_actor, show_default="the OS user", help="Who accepts.")
@pass_context
def accept_amendment(context: CliContext, track_id: str, amendment_id: str, actor: str) -> None:
    """Accept an amendment: its changes become the track's (you added the track)."""
    from consultations.service_layer.track_amendments import accept

    accept(context.app().commands, track_id, amendment_id, Provenance(actor=actor, source="cli"))
    click.echo(f"{track_id}: amendment {amendment_id} accepted")


@track.command("decline")
@click.argument("track_id", metavar="ID")
@click.argument("amendment_id", metavar="AMENDMENT")
@click.option("--reason", required=True, help="Why: the proposer reads it.")
@click.option("--actor", default=default_actor, show_default="the OS user", help="Who declines.")
@pass_context
def decline_amendment(
    context: CliContext, track_id: str, amendment_id: str, reason: str, actor: str
) -> None:
    """Decline an amendment, saying why (you added the track)."""
    command = DeclineAmendment(amendment_id=amendment_id, track_id=track_id, reason=reason)
    context.execute(command, actor, reason, None)
    click.echo(f"{track_id}: amendment {amendment_id} declined")


@track.command("show")
@click.argument("track_id", metavar="ID")
@format_option
@pass_context
def show_track(context: CliContext, track_id: str, output_format: str) -> None:
    """Show a track's current state and its full history."""
    show_aggregate(context, "track", track_id, output_format)


@track.command("list")
@click.option("--area", "area_id", help="Only tracks in this area.")
@format_option
@pass_context
def list_tracks(context: CliContext, area_id: str | None, output_format: str) -> None:
    """List the tracks."""
    context.require_known(area=area_id)
    with context.read_models() as read:
        rows = read.tracks(area_id=area_id)
    if output_format == "table":
        for row in rows:
            row["cadence"] = describe_cadence(parse_cadence(row["cadence"]), row["required"])
        render(rows, TABLE_TRACK_COLUMNS, output_format, title="Tracks")
    else:
        render(rows, TRACK_COLUMNS, output_format, title="Tracks")


@track.command("propose")
@click.argument("track_id", metavar="ID")
@click.option(
    "--window",
    help="The window to fill, e.g. 2027-H2 (default: the next one short of its sessions).",
)
@click.option(
    "--count", type=click.IntRange(1, 20), default=3, show_default=True, help="How many slots."
)
@output_options("table", "json", "toml")
@click.option(
    "--plan", "plan_best", is_flag=True, help="Plan the best slot; prints the meeting id."
)
@click.option("--title", help="With --plan: the meeting's title (default: the track's and window).")
@write_options
@pass_context
def propose_sessions(
    context: CliContext, track_id: str, window: str | None, count: int, output_format: str,
    plan_best: bool, title: str | None, actor: str, reason: str | None,
    idempotency_key: str | None,
) -> None:  # fmt: skip
    """Propose slots for a track's next session, each with the reasons it was chosen.

    A working day for every party (no public holiday, weekend or closure), inside the
    office hours all of them share, free of their other meetings, inside the window, spaced
    from the previous session (half-year: about six months; max-gap: before the deadline
    with a margin), hosted by the next party in the rotation. --format toml prints them as
    plan-file entries (`plan import` takes them); --plan plans the best one.
    """
    context.require_known(track=track_id)
    app = context.app()
    # --plan picks a slot from what is planned: a retry is the same request, not the same slot.
    request = fingerprint(
        "ProposeAndPlan", {"track_id": track_id, "window": window, "title": title}
    )
    if plan_best and idempotency_key is not None:
        earlier = app.commands.repeated(idempotency_key, request)
        if earlier is not None:
            click.echo(earlier.aggregate_id)
            return
    track: Track = aggregate_history(app.store, "track", track_id).state
    with context.read_models() as read:
        found = proposals_for(
            read,
            app.calendar,
            track,
            read.schedule(ScheduleFilter(track_id=track_id)),
            now=app.clock(),
            window=window,
            count=count,
            previous_host=read.previous_host(track_id),
        )
        taken = set(read.ids("meeting"))
    label = found.window.label if found.window else ""
    if plan_best:
        if not found.proposals:
            raise NotAllowed("window", f"no slot to plan: {found.why_none}")
        best = found.proposals[0]
        command = PlanMeeting(
            meeting_id="",
            title=title or _title(track, label),
            start=best.slot.start.local,
            end=best.slot.end.local,
            tz=best.slot.tz,
            fold=best.slot.start.fold,
            track_id=track.id,
            host=best.host,
        )
        outcome = context.execute(command, actor, reason, idempotency_key, request=request)
        click.echo(outcome.aggregate_id)
        return
    if not found.proposals:
        click.echo(f"no slot: {found.why_none}", err=output_format != "table")
        if output_format == "json":
            click.echo("[]")
        return
    if output_format == "toml":
        for line in _plan_entries(track, label, found.proposals, taken):
            click.echo(line)
        return
    rows = [_row(rank, label, proposal) for rank, proposal in enumerate(found.proposals, 1)]
    columns = TABLE_PROPOSAL_COLUMNS if output_format == "table" else PROPOSAL_COLUMNS
    render(rows, columns, output_format, title=f"Proposed sessions of {track.id} in {label}")


def _row(rank: int, window: str, proposal: Proposal) -> dict[str, Any]:
    slot = proposal.slot
    return {
        "rank": rank,
        "window": window,
        "start_local": slot.start.local,
        "end_local": slot.end.local,
        "tz": slot.tz,
        "start_utc": slot.start.utc,
        "end_utc": slot.end.utc,
        "host": proposal.host,
        "reasons": list(proposal.reasons),
    }


def _title(track: Track, window: str) -> str:
    """The track's title with the window, if that fits a title."""
    titled = f"{track.title} ({window})"
    return titled if len(titled) <= MAX_TITLE_LENGTH else track.title


def _plan_entries(
    track: Track, window: str, proposals: tuple[Proposal, ...], taken: set[str]
) -> Iterator[str]:
    """The proposals as ``[meetings.ID]`` entries of a plan file (docs/plan-format.md)."""
    yield f"# Proposed sessions of track {track.id} in window {window}, best first."
    yield "# Keep the one chosen, then `consultations plan import` this file."
    for rank, proposal in enumerate(proposals, 1):
        slot = proposal.slot
        meeting_id = f"{track.id[:50]}-{slot.start.local:%Y-%m-%d}"
        number = 1
        while meeting_id in taken:
            number += 1
            meeting_id = f"{track.id[:50]}-{slot.start.local:%Y-%m-%d}-{number}"
        yield ""
        yield f"# {rank}."
        yield from (f"#   {reason}" for reason in proposal.reasons)
        yield f"[meetings.{meeting_id}]"
        yield f"track = {_toml_text(track.id)}"
        yield f"title = {_toml_text(_title(track, window))}"
        yield f"start = {slot.start.local.isoformat()}"
        yield f"end = {slot.end.local.isoformat()}"
        yield f"tz = {_toml_text(slot.tz)}"
        if slot.start.fold is not None:
            yield f"fold = {slot.start.fold}"
        if proposal.host is not None:
            yield f"host = {_toml_text(proposal.host)}"


def _toml_text(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)
