"""`consultations reminders …`: reminders to come, and the delivery outbox."""

from __future__ import annotations

import click

from consultations.adapters.channels import close_channels
from consultations.adapters.outbox import REDRIVABLE, owner_id
from consultations.domain.errors import NotAllowed, NotFound
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import Column, format_option, render
from consultations.service_layer.deliveries import (
    COLUMNS,
    LISTED_STATUSES,
    TO_COME,
    list_deliveries,
)
from consultations.service_layer.dispatcher import is_cleared

# The table shows reminders to come and deliveries apart, each with the columns it needs.
TO_COME_COLUMNS: tuple[Column, ...] = (
    ("due_at", "status"), ("meeting_id", "offset"), ("title", "channel"),
)  # fmt: skip
DELIVERY_COLUMNS: tuple[Column, ...] = (
    ("due_at", "status"), ("meeting_id", "type"), ("channel", "late"), "delivery_id",
    "last_error",
)  # fmt: skip


@click.group("reminders")
def reminders() -> None:
    """Reminders to come, and the delivery outbox: reminders, nudges and cadence alerts."""


@reminders.command("list")
@click.option(
    "--status",
    type=click.Choice(LISTED_STATUSES),
    help="upcoming: reminders not due yet; due: due, not yet taken by the daemon; "
    "the others: deliveries in that state.",
)
@format_option
@pass_context
def list_reminders(context: CliContext, status: str | None, output_format: str) -> None:
    """Reminders to come and deliveries so far, by the time they fall due.

    Dead deliveries can be re-driven with `reminders retry ID`.
    """
    app = context.app()
    channels = app.channels()
    try:
        cleared = {channel.name: is_cleared(channel) for channel in channels}
    finally:
        close_channels(channels)
    rows = list_deliveries(app.outbox(owner_id()), app.read_models, cleared, app.clock(), status)
    if output_format != "table":
        render(rows, COLUMNS, output_format)
        return
    to_come = [row for row in rows if row.get("delivery_id") is None]
    if to_come or status in TO_COME:
        render(to_come, TO_COME_COLUMNS, output_format, title="Reminders to come")
    if status not in TO_COME:
        delivered = [row for row in rows if row.get("delivery_id") is not None]
        render(delivered, DELIVERY_COLUMNS, output_format, title="Deliveries")


@reminders.command("retry")
@click.argument("delivery_id", metavar="ID")
@pass_context
def retry(context: CliContext, delivery_id: str) -> None:
    """Re-drive a failed or dead delivery at the next sweep."""
    app = context.app()
    previous = app.outbox(owner_id()).retry(delivery_id, app.clock())
    if previous is None:
        raise NotFound("id", f"no delivery {delivery_id!r}")
    if previous not in REDRIVABLE:
        raise NotAllowed(
            "id", f"delivery {delivery_id!r} is {previous}; only failed or dead ones are retried"
        )
    click.echo(f"{delivery_id}: will be retried at the next sweep (was {previous})")
