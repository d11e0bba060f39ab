"""Read commands: lists, the schedule, compliance and action reports, projections."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from consultations.adapters.read_models import ScheduleFilter
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.html_report import write_compliance_html
from consultations.entrypoints.cli.output import FORMATS, format_option, render
from consultations.entrypoints.cli.params import DAY, KNOWN_AT
from consultations.entrypoints.cli.party_commands import area, party
from consultations.entrypoints.cli.progress import progress_bar
from consultations.entrypoints.cli.track_commands import track
from consultations.service_layer.reports import (
    ACTION_COLUMNS,
    COMPLIANCE_COLUMNS,
    action_report,
    compliance_report,
)

KNOWN_AT_OPTION = click.option(
    "--known-at",
    type=KNOWN_AT,
    help="Answer from the events recorded by then (a date: its end, UTC).",
)
SCHEDULE_COLUMNS = (
    "meeting_id", "start_local", "end_local", "tz", "title", "track_id", "status", "host",
    "venue", "classification", "start_utc", "end_utc", "sequence",
)  # fmt: skip
TABLE_SCHEDULE_COLUMNS = ("meeting_id", "start_local", "tz", "title", "status", "host", "venue")
TRACK_COLUMNS = (
    "track_id", "title", "kind", "cadence", "required", "priority", "areas", "parties",
    "start_date", "retired_on", "tz", "default_duration", "reminders", "host_rotation",
)  # fmt: skip


@party.command("list")
@format_option
@pass_context
def list_parties(context: CliContext, output_format: str) -> None:
    """List the parties."""
    with context.read_models() as read:
        render(
            read.parties(),
            ("party_id", "name", "tz", "departments"),
            output_format,
            title="Parties",
        )


@area.command("list")
@format_option
@pass_context
def list_areas(context: CliContext, output_format: str) -> None:
    """List the cooperation areas."""
    with context.read_models() as read:
        render(read.areas(), ("area_id", "name"), output_format, title="Areas")


@track.command("list")
@click.option("--area", "area_id", help="Only tracks in this area.")
@format_option
@pass_context
def list_tracks(context: CliContext, area_id: str | None, output_format: str) -> None:
    """List the tracks."""
    columns = TRACK_COLUMNS[:9] if output_format == "table" else TRACK_COLUMNS
    with context.read_models() as read:
        render(read.tracks(area_id=area_id), columns, output_format, title="Tracks")


@click.command("schedule")
@click.option("--from", "date_from", type=DAY, help="First local date (inclusive).")
@click.option("--to", "date_to", type=DAY, help="Last local date (inclusive).")
@click.option("--track", "track_id")
@click.option("--area", "area_id")
@click.option("--party", "party_id", help="Meetings hosted by this party or in its tracks.")
@KNOWN_AT_OPTION
@format_option
@pass_context
def schedule(
    context: CliContext, date_from: date | None, date_to: date | None, track_id: str | None,
    area_id: str | None, party_id: str | None, known_at: datetime | None, output_format: str,
) -> None:  # fmt: skip
    """The schedule: every meeting in start order, with its current state."""
    where = ScheduleFilter(date_from, date_to, track_id, area_id, party_id)
    columns = TABLE_SCHEDULE_COLUMNS if output_format == "table" else SCHEDULE_COLUMNS
    with context.read_models(known_at) as read:
        render(read.schedule(where), columns, output_format, title="Schedule")


@click.group("report")
def report() -> None:
    """Compliance and action-item reports."""


@report.command("compliance")
@click.option(
    "--as-of", type=DAY, help="Evaluate on this date (default: today in each track's zone)."
)
@click.option("--from", "since", type=DAY, help="Windows from the one containing this date.")
@click.option("--to", "until", type=DAY, help="Windows up to the one containing this date.")
@click.option("--track", "track_id")
@click.option("--area", "area_id")
@KNOWN_AT_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice((*FORMATS, "html")),
    default="table",
    show_default=True,
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file."
)
@pass_context
def compliance(
    context: CliContext, as_of: date | None, since: date | None, until: date | None,
    track_id: str | None, area_id: str | None, known_at: datetime | None, output_format: str,
    output: Path | None,
) -> None:  # fmt: skip
    """Did we keep our commitments? One row per track and window, with its status."""
    with context.read_models(known_at) as read:
        rows = compliance_report(
            read, as_of=as_of, since=since, until=until, track_id=track_id, area_id=area_id
        )
    if output_format == "html":
        write_compliance_html(rows, as_of, output)
        return
    columns: tuple[str, ...] = COMPLIANCE_COLUMNS
    if output_format == "table":
        columns = tuple(c for c in columns if c not in {"title", "priority", "areas", "meetings"})
    if output is None:
        render(rows, columns, output_format, title="Compliance")
        return
    with output.open("w", encoding="utf-8", newline="") as stream:
        render(rows, columns, output_format, title="Compliance", stream=stream)


@report.command("actions")
@click.option("--as-of", type=DAY, help="Judge overdue items on this date (default: today, UTC).")
@click.option("--status", type=click.Choice(["open", "overdue", "done"]))
@KNOWN_AT_OPTION
@format_option
@pass_context
def actions(
    context: CliContext,
    as_of: date | None,
    status: str | None,
    known_at: datetime | None,
    output_format: str,
) -> None:
    """Action items from held meetings: who owes what, by when."""
    with context.read_models(known_at) as read:
        rows = action_report(read, as_of=as_of, status=status)
    render(rows, ACTION_COLUMNS, output_format, title="Action items")


@click.group("projections")
def projections() -> None:
    """The read models built from the log."""


@projections.command("status")
@format_option
@pass_context
def projections_status(context: CliContext, output_format: str) -> None:
    """Each projection's version (code and stored), position, and lag behind the log."""
    app = context.app(projections=False)
    rows = [
        {
            "name": s.name,
            "code_version": s.code_version,
            "stored_version": s.stored_version,
            "position": s.position,
            "head": s.head,
            "lag": s.lag,
            "current": s.current,
        }
        for s in app.projector.status(app.engine)
    ]
    render(rows, list(rows[0]), output_format, title="Projections")


@projections.command("rebuild")
@pass_context
def projections_rebuild(context: CliContext) -> None:
    """Rebuild every read table from the log, atomically (readers never see half of it)."""
    app = context.app(projections=False)
    with progress_bar("rebuilding read models") as progress:
        count = app.projector.rebuild(app.engine, progress)
    click.echo(f"rebuilt {len(app.projector.projections)} projections from {count} events")
