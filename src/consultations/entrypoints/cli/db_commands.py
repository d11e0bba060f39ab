"""`consultations db …`: schema migrations, owned by Alembic."""

from __future__ import annotations

import click

from consultations.adapters import migrations
from consultations.adapters.database import write_transaction
from consultations.adapters.eventlog import guards as log_guards
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.events_commands import EXIT_CHAIN_BROKEN
from consultations.entrypoints.cli.output import format_option, render


@click.group("db")
def db() -> None:
    """Create and migrate the database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.option("--force", is_flag=True, help="Upgrade even if the event log fails verification.")
@pass_context
def upgrade(context: CliContext, revision: str, force: bool) -> None:
    """Upgrade the schema to REVISION (default: the newest).

    An existing event log is verified first (as `events verify` does: hash chain and
    append-only triggers); one that fails is not upgraded unless --force is given.
    """
    app = context.app(schema=False, projections=False, create=True)
    if migrations.current_revision(app.engine) is not None:
        report = app.store.verify_integrity()
        if not report.ok:
            problem = report.describe()
            if not force:
                click.echo(
                    f"error: {problem}; refusing to upgrade a log that fails verification "
                    "(use --force to upgrade anyway)",
                    err=True,
                )
                raise SystemExit(EXIT_CHAIN_BROKEN)
            click.echo(f"warning: {problem}; upgrading anyway (--force)", err=True)
    migrations.upgrade(app.engine, revision)
    click.echo(f"database at revision {migrations.current_revision(app.engine) or 'none'}")


@db.command("restore-guards")
@pass_context
def restore_guards(context: CliContext) -> None:
    """Recreate the append-only triggers if any is missing, altered or disabled.

    Only the guards are repaired: a log that fails the hash chain still fails `events
    verify` afterwards (restore it from a backup).
    """
    app = context.app(projections=False)
    with write_transaction(app.engine) as connection:
        problems = log_guards.restore_guards(connection)
    if not problems:
        click.echo("guards: every append-only trigger is in place; nothing to do")
        return
    for problem in problems:
        click.echo(f"guards: {problem}: restored")


@db.command("downgrade")
@click.argument("revision")
@pass_context
def downgrade(context: CliContext, revision: str) -> None:
    """Downgrade the schema to REVISION (`base` removes every table)."""
    app = context.app(schema=False, projections=False)
    migrations.downgrade(app.engine, revision)
    click.echo(f"database at revision {migrations.current_revision(app.engine) or 'none'}")


@db.command("current")
@format_option
@pass_context
def current(context: CliContext, output_format: str) -> None:
    """Show the schema revision, the newest known one, and the size of the log."""
    app = context.app(schema=False, projections=False)
    revision, head = migrations.current_revision(app.engine), migrations.head_revision()
    position = app.store.head()[0] if revision == head else None
    row = {
        "database": app.engine.url.render_as_string(hide_password=True),
        "revision": revision,
        "head": head,
        "up_to_date": revision == head,
        "events": position,
    }
    render([row], list(row), output_format, title="Database")
