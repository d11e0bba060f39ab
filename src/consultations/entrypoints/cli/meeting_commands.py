"""`consultations meeting …`: plan, reschedule, cancel, record held, show, propose."""

from __future__ import annotations

from datetime import date, datetime

import click

from consultations.domain.commands import (
    AmendMeeting,
    CancelMeeting,
    CompleteActionItem,
    DeclineProposal,
    DropActionItem,
    NewActionItem,
    PlanMeeting,
    RecordMeetingHeld,
    RescheduleMeeting,
)
from consultations.domain.vocabulary import Classification, Kind
from consultations.entrypoints.cli.context import CliContext, echo_warnings, pass_context
from consultations.entrypoints.cli.output import format_option, render
from consultations.entrypoints.cli.params import (
    ACTION_ITEM,
    DAY,
    LOCAL_TIME,
    STRICT_OPTION,
    comma_list,
    default_actor,
    write_options,
)
from consultations.entrypoints.cli.show import show_aggregate
from consultations.service_layer.services import Provenance

REMINDERS = click.option(
    "--reminders",
    help="This meeting's reminder offsets, e.g. P2D,PT2H ('' for none; default: the track's).",
)
FOLD = click.option(
    "--fold",
    type=click.IntRange(0, 1),
    help="For a wall time that occurs twice (DST fold): 0 = the first, 1 = the second.",
)


@click.group("meeting")
def meeting() -> None:
    """Sessions: planned, rescheduled, held or cancelled."""


@meeting.command("plan")
@click.option("--track", "track_id", help="Track the meeting belongs to (omit for ad hoc).")
@click.option("--title", required=True)
@click.option("--start", type=LOCAL_TIME, required=True, help="Local wall time in --tz.")
@click.option("--end", type=LOCAL_TIME, help="Local wall time in --tz.")
@click.option("--duration", help="Instead of --end, e.g. PT2H (default: the track's).")
@click.option("--tz", help="IANA zone of the wall times (default: the track's).")
@FOLD
@click.option("--venue")
@click.option("--host", help="Host party (default: next in the track's rotation).")
@click.option("--participants", help="Parties, comma-separated (default: the track's).")
@click.option("--agenda", "agenda", multiple=True, help="Agenda item (repeatable).")
@REMINDERS
@click.option("--kind", type=click.Choice([kind.value for kind in Kind]))
@click.option(
    "--classification",
    type=click.Choice([c.value for c in Classification]),
    default="internal",
    show_default=True,
)
@click.option("--id", "meeting_id", help="Meeting id (default: derived from track and date).")
@STRICT_OPTION
@write_options
@pass_context
def plan(
    context: CliContext, track_id: str | None, title: str, start: datetime, end: datetime | None,
    duration: str | None, tz: str | None, fold: int | None, venue: str | None, host: str | None,
    participants: str | None, agenda: tuple[str, ...], reminders: str | None,
    kind: str | None, classification: str, meeting_id: str | None, strict: bool | None,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Plan a meeting; prints its id.

    Warns (or with --strict refuses) when it falls on a non-working day of a party
    (public holiday, weekend, closure), outside a party's office hours, or over another
    meeting of a party.
    """
    command = PlanMeeting(
        meeting_id=meeting_id or "",
        title=title,
        start=start,
        track_id=track_id,
        end=end,
        duration=duration,
        tz=tz,
        fold=fold,
        kind=kind,
        venue=venue,
        host=host,
        participants=comma_list(participants) or (),
        agenda=agenda,
        classification=classification,
        reminders=comma_list(reminders),
    )
    outcome = context.execute(command, actor, reason, idempotency_key, strict=strict)
    click.echo(outcome.aggregate_id)


@meeting.command("amend")
@click.argument("meeting_id", metavar="ID")
@click.option("--title")
@click.option("--venue", help="New venue ('' clears it).")
@click.option("--host", help="New host party ('' clears it).")
@click.option("--participants", help="Parties, comma-separated.")
@click.option("--agenda", "agenda", multiple=True, help="Agenda item (repeatable; replaces all).")
@click.option("--classification", type=click.Choice([c.value for c in Classification]))
@REMINDERS
@STRICT_OPTION
@write_options
@pass_context
def amend(
    context: CliContext, meeting_id: str, title: str | None, venue: str | None,
    host: str | None, participants: str | None, agenda: tuple[str, ...],
    classification: str | None, reminders: str | None, strict: bool | None,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Change a meeting's details (what is not given stays as it is).

    A new host or participants are checked against their working calendars, as when
    planning: a warning, or with --strict a refusal.
    """
    command = AmendMeeting(
        meeting_id=meeting_id,
        title=title,
        venue=venue,
        host=host,
        participants=comma_list(participants),
        agenda=agenda or None,
        classification=classification,
        reminders=comma_list(reminders),
    )
    outcome = context.execute(command, actor, reason, idempotency_key, strict=strict)
    click.echo(f"{outcome.aggregate_id}: {'amended' if outcome.positions else 'nothing changed'}")


@meeting.command("action")
@click.argument("item_id", metavar="ITEM_ID")
@click.option("--done", "outcome", flag_value="done", help="The action item was done.")
@click.option("--drop", "outcome", flag_value="dropped", help="The action item was abandoned.")
@click.option("--on", "on", type=DAY, help="When (default: today in the meeting's zone).")
@click.option("--note", help="A note on completion, or why it was dropped.")
@write_options
@pass_context
def action(
    context: CliContext, item_id: str, outcome: str | None, on: date | None, note: str | None,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Close an action item (ids look like MEETING_ID/1; see `meeting show`)."""
    if outcome is None:
        raise click.UsageError("give --done or --drop")
    meeting_id, _, _ = item_id.rpartition("/")
    command: CompleteActionItem | DropActionItem = (
        CompleteActionItem(meeting_id=meeting_id, item_id=item_id, on=on, note=note)
        if outcome == "done"
        else DropActionItem(meeting_id=meeting_id, item_id=item_id, on=on, reason=note)
    )
    context.execute(command, actor, reason, idempotency_key)
    click.echo(f"{item_id}: {outcome}")


@meeting.command("reschedule")
@click.argument("meeting_id", metavar="ID")
@click.option("--start", type=LOCAL_TIME, required=True, help="New local start.")
@click.option("--end", type=LOCAL_TIME, help="New local end (default: keep the length).")
@click.option("--duration", help="Instead of --end, e.g. PT3H.")
@click.option("--tz", help="New zone (default: unchanged).")
@FOLD
@STRICT_OPTION
@write_options
@pass_context
def reschedule(
    context: CliContext, meeting_id: str, start: datetime, end: datetime | None,
    duration: str | None, tz: str | None, fold: int | None, strict: bool | None,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Move a meeting to another time (checked against working calendars as when planned)."""
    command = RescheduleMeeting(
        meeting_id=meeting_id,
        start=start,
        end=end,
        duration=duration,
        tz=tz,
        fold=fold,
        reason=reason,
    )
    outcome = context.execute(command, actor, reason, idempotency_key, strict=strict)
    click.echo(f"{outcome.aggregate_id}: rescheduled")


@meeting.command("cancel")
@click.argument("meeting_id", metavar="ID")
@click.option("--reason", required=True, help="Why it was called off.")
@click.option("--actor", default=None, help="Who is making the change (default: the OS user).")
@click.option("--idempotency-key")
@pass_context
def cancel(
    context: CliContext,
    meeting_id: str,
    reason: str,
    actor: str | None,
    idempotency_key: str | None,
) -> None:
    """Call a meeting off."""
    outcome = context.execute(
        CancelMeeting(meeting_id=meeting_id, reason=reason),
        actor or default_actor(),
        reason,
        idempotency_key,
    )
    click.echo(f"{outcome.aggregate_id}: cancelled")


@meeting.command("held")
@click.argument("meeting_id", metavar="ID")
@click.option("--on", "on", type=LOCAL_TIME, help="When it actually started (default: as planned).")
@click.option("--end", type=LOCAL_TIME, help="When it actually ended.")
@FOLD
@click.option("--attendance", help="Parties present, comma-separated.")
@click.option("--outcome", "outcomes", multiple=True, help="An outcome (repeatable).")
@click.option(
    "--action", "actions", type=ACTION_ITEM, multiple=True, help="TEXT|OWNER|DUE (repeatable)."
)
@write_options
@pass_context
def held(
    context: CliContext, meeting_id: str, on: datetime | None, end: datetime | None,
    fold: int | None, attendance: str | None, outcomes: tuple[str, ...],
    actions: tuple[NewActionItem, ...], actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Record that a meeting took place, with outcomes and action items.

    For a meeting another party convenes (and records held), this records your party's own
    minutes: --attendance and --outcome only.
    """
    from consultations.service_layer.minutes import record_held

    command = RecordMeetingHeld(
        meeting_id=meeting_id,
        on=on,
        end=end,
        fold=fold,
        attendance=comma_list(attendance) or (),
        outcomes=outcomes,
        action_items=actions,
    )
    provenance = Provenance(actor=actor, source="cli", reason=reason)
    recorded = record_held(context.app().commands, command, provenance, idempotency_key)
    echo_warnings(recorded.outcome.warnings)
    if recorded.minutes_of is None:
        click.echo(f"{recorded.outcome.aggregate_id}: held")
    else:
        click.echo(f"{meeting_id}: minutes of {recorded.minutes_of} recorded")


@meeting.command("show")
@click.argument("meeting_id", metavar="ID")
@format_option
@pass_context
def show(context: CliContext, meeting_id: str, output_format: str) -> None:
    """Show a meeting's current state and its full history (what, when, who, why)."""
    show_aggregate(context, "meeting", meeting_id, output_format)


# --- proposals: changes of a meeting another party convenes -------------------------------

PROPOSAL_COLUMNS = (
    "proposal_id", "meeting_id", "proposer", ("start_local", "tz"), "venue", "status", "reason",
)  # fmt: skip
PROPOSAL_FIELDS = (
    "proposal_id", "meeting_id", "proposer", "start_local", "end_local", "tz", "venue",
    "reason", "status", "decision_reason", "proposed_at", "decided_at",
)  # fmt: skip


@meeting.command("propose")
@click.argument("meeting_id", metavar="ID")
@click.option("--start", type=LOCAL_TIME, help="Proposed local start.")
@click.option("--end", type=LOCAL_TIME, help="Proposed local end (default: keep the length).")
@click.option("--duration", help="Instead of --end, e.g. PT3H.")
@click.option("--tz", help="Zone of the times (default: the meeting's).")
@FOLD
@click.option("--venue", help="Proposed venue.")
@click.option("--reason", required=True, help="Why: the convener reads it.")
@click.option("--actor", default=default_actor, show_default="the OS user", help="Who proposes.")
@click.option("--idempotency-key")
@pass_context
def propose(
    context: CliContext, meeting_id: str, start: datetime | None, end: datetime | None,
    duration: str | None, tz: str | None, fold: int | None, venue: str | None, reason: str,
    actor: str, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Propose a new time or venue to the party convening ID; prints the proposal's id."""
    from consultations.service_layer.meeting_proposals import propose as make

    app = context.app()
    outcome = make(
        app.commands, app.read_models, meeting_id, start=start, end=end, duration=duration,
        tz=tz, fold=fold, venue=venue, reason=reason,
        provenance=Provenance(actor=actor, reason=reason), idempotency_key=idempotency_key,
    )  # fmt: skip
    click.echo(outcome.aggregate_id)


@meeting.command("proposals")
@click.argument("meeting_id", metavar="[ID]", required=False)
@format_option
@pass_context
def proposals(context: CliContext, meeting_id: str | None, output_format: str) -> None:
    """List proposals (of meeting ID), open ones first, with their ids."""
    if meeting_id is not None:
        context.require_known("id", meeting=meeting_id)
    with context.read_models() as read:
        rows = read.proposals(meeting_id)
    columns = PROPOSAL_COLUMNS if output_format == "table" else PROPOSAL_FIELDS
    render(rows, columns, output_format, title="Proposals")


@meeting.command("accept")
@click.argument("meeting_id", metavar="ID")
@click.argument("proposal_id", metavar="PROPOSAL")
@click.option("--actor", default=default_actor, show_default="the OS user", help="Who accepts.")
@pass_context
def accept(context: CliContext, meeting_id: str, proposal_id: str, actor: str) -> None:
    """Accept a proposal: its time and venue become the meeting's (you convene it)."""
    from consultations.service_layer.meeting_proposals import accept as settle

    settle(context.app().commands, meeting_id, proposal_id, Provenance(actor=actor))
    click.echo(f"{meeting_id}: proposal {proposal_id} accepted")


@meeting.command("decline")
@click.argument("meeting_id", metavar="ID")
@click.argument("proposal_id", metavar="PROPOSAL")
@click.option("--reason", required=True, help="Why: the proposer reads it.")
@click.option("--actor", default=default_actor, show_default="the OS user", help="Who declines.")
@pass_context
def decline(
    context: CliContext, meeting_id: str, proposal_id: str, reason: str, actor: str
) -> None:
    """Decline a proposal, saying why (you convene the meeting)."""
    command = DeclineProposal(proposal_id=proposal_id, meeting_id=meeting_id, reason=reason)
    context.execute(command, actor, reason, None)
    click.echo(f"{meeting_id}: proposal {proposal_id} declined")
