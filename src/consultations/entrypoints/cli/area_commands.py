"""`consultations area …`: cooperation areas."""

from __future__ import annotations

import click

from consultations.domain.commands import RegisterArea
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import format_option, render
from consultations.entrypoints.cli.params import write_options


@click.group("area")
def area() -> None:
    """Cooperation areas, e.g. energy, security, culture."""


@area.command("add")
@click.argument("area_id", metavar="ID")
@click.option("--name", required=True, help="Display name, e.g. 'Energy'.")
@write_options
@pass_context
def add_area(
    context: CliContext, area_id: str, name: str,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Register a cooperation area."""
    outcome = context.execute(
        RegisterArea(area_id=area_id, name=name), actor, reason, idempotency_key
    )
    click.echo(outcome.aggregate_id)


@area.command("list")
@format_option
@pass_context
def list_areas(context: CliContext, output_format: str) -> None:
    """List the cooperation areas."""
    with context.read_models() as read:
        render(read.areas(), ("area_id", "name"), output_format, title="Areas")
