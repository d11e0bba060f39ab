"""`consultations schedule`: the meetings from today (or in a range, or all) in start order.

`schedule conflicts` lists the planned meetings that may not work out: on a party's
non-working day or outside its office hours, over another of its meetings, outside the
track's active dates, or awaiting their record.
"""

from __future__ import annotations

from datetime import date, datetime

import click

from consultations.adapters.read_models import Row, ScheduleFilter
from consultations.domain.compliance import awaiting_record
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import Column, format_option, render
from consultations.entrypoints.cli.params import DAY, KNOWN_AT_OPTION, check_range
from consultations.service_layer.working_time import (
    CONFLICT_COLUMNS,
    conflicts,
    non_working_marks,
)

SCHEDULE_COLUMNS = (
    "meeting_id", "start_local", "end_local", "tz", "title", "track_id", "status",
    "awaiting_record", "non_working", "host", "venue", "classification", "start_utc",
    "end_utc", "sequence",
)  # fmt: skip
AWAITING_RECORD = "awaiting record"  # the table's status of a meeting awaiting record
TABLE_SCHEDULE_COLUMNS = (
    ("meeting_id", "status"), ("start_local", "tz"), "host", ("title", "venue", "non_working"),
)  # fmt: skip
TABLE_CONFLICT_COLUMNS: tuple[Column, ...] = (("meeting_id", "start_local"), "conflict", "reason")


@click.group("schedule", invoke_without_command=True)
@click.option("--from", "date_from", type=DAY, help="First local date (inclusive).")
@click.option("--to", "date_to", type=DAY, help="Last local date (inclusive).")
@click.option(
    "--all", "everything", is_flag=True, help="Every meeting, past ones too (not from today)."
)
@click.option("--track", "track_id")
@click.option("--area", "area_id")
@click.option("--party", "party_id", help="Meetings hosted by this party or in its tracks.")
@KNOWN_AT_OPTION
@format_option
@pass_context
@click.pass_context
def schedule(
    ctx: click.Context, context: CliContext, date_from: date | None, date_to: date | None,
    everything: bool, track_id: str | None, area_id: str | None, party_id: str | None,
    known_at: datetime | None, output_format: str,
) -> None:  # fmt: skip
    """What is coming: the meetings from today on, in start order, with their state.

    Also, before them, the past meetings nobody recorded held or cancelled: they are
    awaiting record (``awaiting_record`` in JSON and CSV; the table says so in its status).
    With --from or --to, the meetings between those local dates; with --all, every one.
    A meeting on a non-working day of one of its parties says why (``non_working``).
    """
    if ctx.invoked_subcommand is not None:
        given = [
            param.opts[0]
            for param in ctx.command.params
            if ctx.params.get(param.name or "") not in (None, False, param.default)
        ]
        if given:
            raise click.UsageError(
                f"{given[0]}: give the options of `schedule {ctx.invoked_subcommand}` after it"
            )
        return
    check_range(date_from, date_to)
    context.require_known(track=track_id, area=area_id, party=party_id)
    default = date_from is None and date_to is None and not everything
    if default:
        date_from = context.app().clock().astimezone().date()
    where = ScheduleFilter(
        date_from, date_to, track_id, area_id, party_id, unrecorded_before=default
    )
    table = output_format == "table"
    columns: tuple[Column, ...] = TABLE_SCHEDULE_COLUMNS if table else SCHEDULE_COLUMNS
    with context.read_models(known_at) as read:
        now = context.app().clock()
        rows = read.schedule(where)
        marks = non_working_marks(context.app().calendar, rows, read.party_calendars())
        for row in rows:
            _with_record_state(row, now, in_status=table)
            found = marks.get(row["meeting_id"], [])
            # Each reason has commas of its own: the table separates them more plainly.
            row["non_working"] = "; ".join(found) if table else found
        render(rows, columns, output_format, title="Schedule")


def _with_record_state(row: Row, now: datetime, *, in_status: bool) -> Row:
    """``row`` with ``awaiting_record`` at ``now``; ``in_status``: the status says it too."""
    row["awaiting_record"] = awaiting_record(row["status"], row["end_utc"], now)
    if in_status and row["awaiting_record"]:
        row["status"] = AWAITING_RECORD
    return row


@schedule.command("conflicts")
@click.option("--from", "date_from", type=DAY, help="First local date (inclusive).")
@click.option("--to", "date_to", type=DAY, help="Last local date (inclusive).")
@KNOWN_AT_OPTION
@format_option
@pass_context
def schedule_conflicts(
    context: CliContext, date_from: date | None, date_to: date | None,
    known_at: datetime | None, output_format: str,
) -> None:  # fmt: skip
    """Planned meetings that may not work out, one row per reason.

    On a non-working day of a party (public holiday, weekend, closure; a holiday whose
    date the holidays data only estimates says so), outside a party's office hours, over
    another meeting of a party, outside the track's active dates, or past and awaiting
    record. Public holidays are read from the installed holidays data each time, so a
    date it fixes in a later version shows up here after an upgrade.
    """
    check_range(date_from, date_to)
    with context.read_models(known_at) as read:
        rows = read.schedule(ScheduleFilter(date_from, date_to))
        found = conflicts(read, context.app().calendar, rows, context.app().clock())
    columns = TABLE_CONFLICT_COLUMNS if output_format == "table" else CONFLICT_COLUMNS
    render(found, columns, output_format, title="Conflicts")
