"""`consultations feed …`: calendar subscriptions."""

from __future__ import annotations

from pathlib import Path

import click

from consultations.adapters.atomic_file import write_atomically
from consultations.domain.commands import RevokeFeed
from consultations.domain.feeds import parse_scope
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import format_option, render
from consultations.entrypoints.cli.params import write_options
from consultations.service_layer.feeds import FeedSpec, new_feed

SCOPE_HELP = "all | track:ID | area:ID | party:ID"


@click.group("feed")
def feed() -> None:
    """Calendar subscriptions (iCalendar) for Google, Apple, Outlook, Thunderbird."""


@feed.command("create")
@click.option("--scope", required=True, help=SCOPE_HELP)
@click.option("--name", help="Calendar name shown by clients.")
@click.option("--include-restricted", is_flag=True, help="Show restricted meetings in full.")
@write_options
@pass_context
def create(
    context: CliContext, scope: str, name: str | None, include_restricted: bool,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Create a feed; prints its subscription URLs (the token is shown only now)."""
    token, command = new_feed(scope, name, include_restricted)
    outcome = context.execute(command, actor, reason, idempotency_key)
    click.echo(f"feed {outcome.aggregate_id}")
    if outcome.repeated:  # this run's token was never stored: only the first run's works
        click.echo(
            "  already created with this idempotency key; its URL was shown then "
            "(tokens are stored hashed: revoke it and create a new feed if it is lost)"
        )
        return
    base = context.settings.public_url
    path = f"/feeds/{token}.ics"
    click.echo(f"  {base}{path}")
    click.echo(f"  webcal://{base.split('://', 1)[-1]}{path}")


@feed.command("list")
@format_option
@pass_context
def list_feeds(context: CliContext, output_format: str) -> None:
    """List the feeds (tokens are stored hashed and cannot be shown)."""
    columns = ("feed_id", "name", "scope", "include_restricted", "created_at", "revoked_at")
    with context.read_models() as read:
        render(read.feeds(), columns, output_format, title="Feeds")


@feed.command("revoke")
@click.argument("feed_id", metavar="FEED_ID")
@write_options
@pass_context
def revoke(
    context: CliContext, feed_id: str, actor: str, reason: str | None, idempotency_key: str | None
) -> None:
    """Revoke a feed: its URL stops working at once."""
    outcome = context.execute(
        RevokeFeed(feed_id=feed_id, reason=reason), actor, reason, idempotency_key
    )
    click.echo(f"feed {outcome.aggregate_id}: revoked")


@feed.command("export")
@click.option("--scope", required=True, help=SCOPE_HELP)
@click.option("--name", help="Calendar name (default: 'Consultations: <scope>').")
@click.option("--include-restricted", is_flag=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_context
def export(
    context: CliContext, scope: str, name: str | None, include_restricted: bool, output: Path
) -> None:
    """Write a feed's iCalendar file (atomically: readers never see half a file)."""
    parsed = parse_scope(scope)
    if parsed.value is not None:
        context.require_known("scope", **{parsed.kind: parsed.value})
    spec = FeedSpec("export", name or f"Consultations: {parsed}", parsed, include_restricted)
    write_atomically(output, context.app().feeds.render(spec))
    click.echo(f"wrote {output}")
