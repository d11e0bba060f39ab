"""`consultations track …`: recurring engagements with a cadence commitment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import click

from consultations.domain.cadence import parse_cadence
from consultations.domain.commands import AddTrack, AmendTrack, RetireTrack
from consultations.domain.vocabulary import Kind, Priority
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import Column, format_option, render
from consultations.entrypoints.cli.params import DAY, comma_list, write_options
from consultations.entrypoints.cli.show import show_aggregate
from consultations.service_layer.wording import describe_cadence

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


@track.command("amend")
@click.argument("track_id", metavar="ID")
@_track_options(adding=False)
@write_options
@pass_context
def amend_track(
    context: CliContext, track_id: str, title: str | None, kind: str | None, cadence: str | None,
    required: int | None, start: date | None, areas: tuple[str, ...], parties: tuple[str, ...],
    priority: str | None, tz: str | None, duration: str | None, reminders: str | None,
    host_rotation: str | None, actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Change some of a track's fields; the others stay as they are."""
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
    outcome = context.execute(command, actor, reason, idempotency_key)
    click.echo(f"{outcome.aggregate_id}: {'amended' if outcome.positions else 'nothing changed'}")


@track.command("retire")
@click.argument("track_id", metavar="ID")
@click.option("--on", "on", type=DAY, required=True, help="Last day the track runs.")
@write_options
@pass_context
def retire_track(
    context: CliContext, track_id: str, on: date,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Retire a track: no sessions are required after the date."""
    outcome = context.execute(RetireTrack(track_id=track_id, on=on), actor, reason, idempotency_key)
    click.echo(f"{outcome.aggregate_id}: retired on {on.isoformat()}")


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
