"""`consultations party …`: participating institutions."""

from __future__ import annotations

import click

from consultations.domain.commands import RegisterParty
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import format_option, render
from consultations.entrypoints.cli.params import write_options


@click.group("party")
def party() -> None:
    """Participating institutions, e.g. TM-MFA and AZ-MFA."""


@party.command("add")
@click.argument("party_id", metavar="ID")
@click.option(
    "--name", required=True, help="Full name, e.g. 'Ministry of Foreign Affairs of Turkmenistan'."
)
@click.option("--tz", default="UTC", show_default=True, help="IANA time zone, e.g. Asia/Ashgabat.")
@click.option("--department", "departments", multiple=True, help="A department (repeatable).")
@click.option(
    "--email",
    metavar="ADDR",
    help="The secretariat's e-mail address: ORGANIZER of the meetings the party hosts.",
)
@write_options
@pass_context
def add_party(
    context: CliContext, party_id: str, name: str, tz: str, departments: tuple[str, ...],
    email: str | None, actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Register a party."""
    outcome = context.execute(
        RegisterParty(party_id=party_id, name=name, tz=tz, departments=departments, email=email),
        actor,
        reason,
        idempotency_key,
    )
    click.echo(outcome.aggregate_id)


@party.command("list")
@format_option
@pass_context
def list_parties(context: CliContext, output_format: str) -> None:
    """List the parties."""
    with context.read_models() as read:
        render(
            read.parties(),
            ("party_id", "name", "tz", "departments", "email"),
            output_format,
            title="Parties",
        )
