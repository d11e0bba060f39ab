"""`consultations party …`: participating institutions and their working calendars."""

from __future__ import annotations

from datetime import date

import click

from consultations.domain.commands import AddPartyClosure, AmendParty, RegisterParty
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import format_option, render
from consultations.entrypoints.cli.params import DAY, default_actor, write_options

COUNTRY_HELP = "ISO 3166 country code whose public holidays apply, e.g. TM or AZ."
CLOSURE_COLUMNS = ("party_id", "first_day", "last_day", "reason")


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
@click.option("--country", metavar="ISO", help=COUNTRY_HELP)
@write_options
@pass_context
def add_party(
    context: CliContext, party_id: str, name: str, tz: str, departments: tuple[str, ...],
    email: str | None, country: str | None, actor: str, reason: str | None,
    idempotency_key: str | None,
) -> None:  # fmt: skip
    """Register a party."""
    command = RegisterParty(
        party_id=party_id, name=name, tz=tz, departments=departments, email=email, country=country
    )
    outcome = context.execute(command, actor, reason, idempotency_key)
    click.echo(outcome.aggregate_id)


@party.command("amend")
@click.argument("party_id", metavar="ID")
@click.option("--country", metavar="ISO", help=COUNTRY_HELP)
@write_options
@pass_context
def amend_party(
    context: CliContext, party_id: str, country: str | None,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Change a party's country (what is not given stays as it is)."""
    outcome = context.execute(
        AmendParty(party_id=party_id, country=country), actor, reason, idempotency_key
    )
    click.echo(f"{outcome.aggregate_id}: {'amended' if outcome.positions else 'nothing changed'}")


@party.command("list")
@format_option
@pass_context
def list_parties(context: CliContext, output_format: str) -> None:
    """List the parties."""
    with context.read_models() as read:
        render(
            read.parties(),
            ("party_id", "name", "tz", "country", "departments", "email"),
            output_format,
            title="Parties",
        )


@party.group("closure")
def closure() -> None:
    """Days a party does not work (a move, a national day of mourning…)."""


@closure.command("add")
@click.argument("party_id", metavar="ID")
@click.option("--from", "first", type=DAY, required=True, help="First closed day (local).")
@click.option("--to", "last", type=DAY, required=True, help="Last closed day (inclusive).")
@click.option("--reason", required=True, help="Why the party is closed: stored with the closure.")
@click.option("--actor", default=None, help="Who is making the change (default: the OS user).")
@click.option("--idempotency-key")
@pass_context
def add_closure(
    context: CliContext, party_id: str, first: date, last: date, reason: str,
    actor: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Record that a party is closed from one day to another; planning then warns."""
    command = AddPartyClosure(party_id=party_id, first=first, last=last, reason=reason)
    outcome = context.execute(command, actor or default_actor(), reason, idempotency_key)
    done = "closed" if outcome.positions else "already closed"
    click.echo(f"{outcome.aggregate_id}: {done} from {first} to {last}")


@closure.command("list")
@click.argument("party_id", metavar="[ID]", required=False)
@format_option
@pass_context
def list_closures(context: CliContext, party_id: str | None, output_format: str) -> None:
    """List the closures recorded (of one party, or of every party)."""
    context.require_known(party=party_id)
    with context.read_models() as read:
        render(read.closures(party_id), CLOSURE_COLUMNS, output_format, title="Closures")
