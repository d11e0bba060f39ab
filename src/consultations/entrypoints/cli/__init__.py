"""The `consultations` command line: root options, sub-commands and the exit-code contract.

Exit codes: 0 success; 1 operational failure (database unreachable, missing or not
upgraded); 2 invalid input; 3 not allowed in the current state, a concurrency conflict, or an
idempotency key reused for a different command; 4 not found; 5 the event log failed
verification, or a bundle did (a bad signature, an unknown or revoked key, an altered byte,
a forked history). Every failure is one line on stderr, no traceback; a warning (the command
succeeded) is a ``warning:`` line on stderr.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from consultations.adapters.database import DatabaseUrlError, first_line
from consultations.adapters.eventlog import ConcurrencyConflict, IdempotencyKeyReused
from consultations.adapters.peer_http import PullFailed
from consultations.adapters.signing import KeyFileProblem
from consultations.bootstrap import DatabaseNotReady
from consultations.domain.errors import (
    DomainError,
    InvalidInput,
    NotAllowed,
    NotFound,
    UnknownId,
    VerificationFailed,
)
from consultations.entrypoints.cli.area_commands import area
from consultations.entrypoints.cli.context import CliContext
from consultations.entrypoints.cli.db_commands import db
from consultations.entrypoints.cli.events_commands import events
from consultations.entrypoints.cli.feed_commands import feed
from consultations.entrypoints.cli.identity_commands import identity
from consultations.entrypoints.cli.meeting_commands import meeting
from consultations.entrypoints.cli.party_commands import party
from consultations.entrypoints.cli.peer_commands import peer
from consultations.entrypoints.cli.plan_commands import plan
from consultations.entrypoints.cli.projections_commands import projections
from consultations.entrypoints.cli.reminders_commands import reminders
from consultations.entrypoints.cli.report_commands import report
from consultations.entrypoints.cli.schedule_commands import schedule
from consultations.entrypoints.cli.server_commands import daemon, run, serve
from consultations.entrypoints.cli.sync_commands import sync
from consultations.entrypoints.cli.track_commands import track
from consultations.entrypoints.daemon import DaemonAlreadyRunning
from consultations.service_layer.plan_import import PlanProblems
from consultations.settings import DATABASE_URL_VARIABLE, Settings, SettingsError

EXIT_OPERATIONAL, EXIT_INVALID, EXIT_NOT_ALLOWED, EXIT_NOT_FOUND = 1, 2, 3, 4
EXIT_VERIFICATION = 5

# Failures the user can act on: (exception, exit code, what the line names first).
FAILURES: tuple[tuple[type[Exception], int, str], ...] = (
    (InvalidInput, EXIT_INVALID, ""),
    (NotAllowed, EXIT_NOT_ALLOWED, ""),
    (NotFound, EXIT_NOT_FOUND, ""),
    (VerificationFailed, EXIT_VERIFICATION, ""),
    (DomainError, EXIT_INVALID, ""),
    (SettingsError, EXIT_INVALID, "settings: "),
    (DatabaseUrlError, EXIT_INVALID, "database-url: "),
    (ConcurrencyConflict, EXIT_NOT_ALLOWED, "conflict: "),
    (IdempotencyKeyReused, EXIT_NOT_ALLOWED, ""),
    (DaemonAlreadyRunning, EXIT_NOT_ALLOWED, "daemon: "),
    (DatabaseNotReady, EXIT_OPERATIONAL, "database: "),
    (KeyFileProblem, EXIT_OPERATIONAL, "identity_key: "),
    (PullFailed, EXIT_OPERATIONAL, "sync: "),
)


class _Root(click.Group):
    """The root group: an unknown id from any command is answered with the closest known one."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; compare an unknown id it raised with the ids that exist."""
        try:
            return super().invoke(ctx)
        except UnknownId as error:
            if error.known is not None:
                raise
            context = ctx.find_object(CliContext)
            assert context is not None  # set by the root callback before any command runs
            known = context.app(schema=False, projections=False).read_models.ids(error.kind)
            raise error.among(known) from None


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar=DATABASE_URL_VARIABLE,
    help=f"SQLAlchemy URL (also ${DATABASE_URL_VARIABLE}); default sqlite:///var/consultations.db.",
)
@click.version_option(package_name="consultations")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """Event-sourced scheduling for bilateral inter-ministerial cooperation."""
    context = CliContext(Settings.load(database_url))
    ctx.obj = context
    ctx.call_on_close(context.close)


for command in (
    db, plan, party, area, track, meeting, schedule, report, feed, reminders, events,
    projections, serve, daemon, run, identity, peer, sync,
):  # fmt: skip
    cli.add_command(command)


def _fail(code: int, message: str) -> NoReturn:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI and turn every failure into one line on stderr and a documented exit code."""
    try:
        result = cli.main(args=argv, prog_name="consultations", standalone_mode=False)
    except click.UsageError as exc:
        _fail(EXIT_INVALID, exc.format_message())
    except click.ClickException as exc:
        _fail(exc.exit_code, exc.format_message())
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.Abort:
        _fail(EXIT_OPERATIONAL, "aborted")
    except PlanProblems as exc:
        for problem in exc.problems:
            click.echo(f"error: {' '.join(problem.split())}", err=True)
        _fail(EXIT_INVALID, f"plan: {len(exc.problems)} problem(s); nothing was imported")
    except SQLAlchemyError as exc:
        _fail(EXIT_OPERATIONAL, f"database: {first_line(exc)}")
    except Exception as exc:
        for kind, code, prefix in FAILURES:
            if isinstance(exc, kind):
                _fail(code, f"{prefix}{exc}")
        raise
    raise SystemExit(result if isinstance(result, int) else 0)
