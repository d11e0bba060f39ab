"""`consultations reminders …`: the delivery outbox."""

from __future__ import annotations

import click

from consultations.adapters.outbox import REDRIVABLE, owner_id
from consultations.domain.errors import NotAllowed, NotFound
from consultations.domain.vocabulary import DeliveryStatus
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import format_option, render

STATUSES = [status.value for status in DeliveryStatus]
REMINDER_COLUMNS = (
    "delivery_id",
    "type",
    "channel",
    "status",
    "attempts",
    "due_at",
    "next_attempt_at",
    "sent_at",
    "last_error",
    "subject",
)
TABLE_REMINDER_COLUMNS = (
    "delivery_id",
    "type",
    "channel",
    "status",
    "attempts",
    "due_at",
    "last_error",
)


@click.group("reminders")
def reminders() -> None:
    """The delivery outbox: reminders and cadence alerts."""


@reminders.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@format_option
@pass_context
def list_reminders(context: CliContext, status: str | None, output_format: str) -> None:
    """Deliveries and their state (dead ones can be re-driven with `reminders retry`)."""
    outbox = context.app().outbox(owner_id())
    wanted = None if status is None else DeliveryStatus(status)
    columns = TABLE_REMINDER_COLUMNS if output_format == "table" else REMINDER_COLUMNS
    render(outbox.list(wanted), columns, output_format, title="Deliveries")


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
