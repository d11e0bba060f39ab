"""`consultations report …`: compliance and action-item reports."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.html_report import write_compliance_html
from consultations.entrypoints.cli.output import Column, format_option, output_options, render
from consultations.entrypoints.cli.params import DAY, KNOWN_AT_OPTION, check_range
from consultations.service_layer.reports import (
    ACTION_COLUMNS,
    COMPLIANCE_COLUMNS,
    action_report,
    compliance_overview,
    compliance_report,
)
from consultations.service_layer.wording import describe_sessions

TABLE_COMPLIANCE_COLUMNS = ("track", "window", "sessions", "status")
TABLE_ACTION_COLUMNS: tuple[Column, ...] = (
    "item_id", ("status", "closed_on"), ("due", "owner"), ("text", "note"),
)  # fmt: skip


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
@output_options("table", "json", "csv", "html")
@click.option(
    "--ahead",
    type=click.IntRange(0, 100),
    help="Also report this many windows after the current one, past --to or the end of the "
    "year (default: 1 for html, the forward look; 0 otherwise).",
)
@click.option(
    "--include-restricted",
    is_flag=True,
    help="html: show the details of restricted meetings (default: a Busy block).",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file."
)
@pass_context
def compliance(
    context: CliContext, as_of: date | None, since: date | None, until: date | None,
    track_id: str | None, area_id: str | None, known_at: datetime | None, output_format: str,
    ahead: int | None, include_restricted: bool, output: Path | None,
) -> None:  # fmt: skip
    """Did we keep our commitments? One row per track and window, with its status.

    The html format is a self-contained page: a summary, a timeline of every track, the
    forward look and the meetings counted in each window.
    """
    check_range(since, until)
    context.require_known(track=track_id, area=area_id)
    if output_format == "html":
        with context.read_models(known_at) as read:
            overview = compliance_overview(
                read, as_of=as_of, since=since, until=until, track_id=track_id,
                area_id=area_id, ahead=1 if ahead is None else ahead, cleared=include_restricted,
                calendar=context.app().calendar,
            )  # fmt: skip
        write_compliance_html(overview, output)
        return
    if include_restricted:
        raise click.UsageError("--include-restricted: only --format html shows meeting details")
    with context.read_models(known_at) as read:
        rows = compliance_report(
            read, as_of=as_of, since=since, until=until, track_id=track_id, area_id=area_id,
            ahead=ahead or 0,
        )  # fmt: skip
    columns: tuple[str, ...] = COMPLIANCE_COLUMNS
    if output_format == "table":
        columns = TABLE_COMPLIANCE_COLUMNS
        rows = [row | {"sessions": _sessions(row)} for row in rows]
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
    if output_format == "table":
        # An open item past due reads "overdue": the --status word for it.
        rows = [row | {"status": "overdue"} if row["overdue"] else row for row in rows]
    columns = TABLE_ACTION_COLUMNS if output_format == "table" else ACTION_COLUMNS
    render(rows, columns, output_format, title="Action items")


def _sessions(row: dict[str, Any]) -> str:
    return describe_sessions(row["held"], row["required"], row["planned"], row["unconfirmed"])
