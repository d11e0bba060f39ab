"""The `consultations` command line: root options, sub-commands and the exit-code contract.

Exit codes: 0 success; 1 operational failure (database unreachable, missing or not
upgraded); 2 invalid input; 3 not allowed in the current state, a concurrency conflict, or an
idempotency key reused for a different command; 4 not found; 5 the event log failed
verification, or a bundle did (a bad signature, an unknown or revoked key, an altered byte,
a forked history). Every failure is one line on stderr, no traceback; a warning (the command
succeeded) is a ``warning:`` line on stderr.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click

from consultations.entrypoints.cli.lazy_group import Lazy, LazyGroup
from consultations.settings import DATABASE_URL_VARIABLE, Settings

if TYPE_CHECKING:
    from consultations.domain.errors import UnknownId

EXIT_OPERATIONAL, EXIT_INVALID, EXIT_NOT_ALLOWED, EXIT_NOT_FOUND = 1, 2, 3, 4
EXIT_VERIFICATION = 5

# Every command: its module (in this package) is imported only when the command is used, and
# `consultations --help` lists it with the help given here (tests/cli/test_startup_imports.py).
COMMANDS = {
    "area": Lazy("area_commands:area", "Cooperation areas, e.g. energy, security, culture."),
    "daemon": Lazy(
        "server_commands:daemon",
        "The scheduler: reminders, cadence alerts, feed files, pulls from peers (sync_interval).",
    ),
    "db": Lazy("db_commands:db", "Create and migrate the database schema."),
    "events": Lazy("events_commands:events", "Read and verify the append-only event log."),
    "feed": Lazy(
        "feed_commands:feed",
        "Calendar subscriptions (iCalendar) for Google, Apple, Outlook, Thunderbird.",
    ),
    "identity": Lazy(
        "identity_commands:identity",
        "The party this instance speaks for, and its key (what peers verify bundles with).",
    ),
    "meeting": Lazy(
        "meeting_commands:meeting", "Sessions: planned, rescheduled, held or cancelled."
    ),
    "party": Lazy("party_commands:party", "Participating institutions, e.g. TM-MFA and AZ-MFA."),
    "peer": Lazy(
        "peer_commands:peer",
        "Instances of other parties: bundles go to them and come from them, signed.",
    ),
    "plan": Lazy(
        "plan_commands:plan", "Bring the log in line with a plan file (docs/plan-format.md)."
    ),
    "projections": Lazy("projections_commands:projections", "The read models built from the log."),
    "reminders": Lazy(
        "reminders_commands:reminders",
        "Reminders to come, and the delivery outbox: reminders, nudges and cadence alerts.",
    ),
    "report": Lazy("report_commands:report", "Compliance and action-item reports."),
    "run": Lazy(
        "server_commands:run",
        "The main job: the daemon and the feed server together (Ctrl-C stops both).",
    ),
    "schedule": Lazy(
        "schedule_commands:schedule",
        "What is coming: the meetings from today on, in start order, with their state.",
    ),
    "serve": Lazy(
        "server_commands:serve",
        "Serve the feeds over HTTP, /healthz, and peers' signed pulls (/sync/pull).",
    ),
    "sync": Lazy(
        "sync_commands:sync",
        "Exchange the joint schedule with peers: signed bundles, by file or over HTTP.",
    ),
    "track": Lazy(
        "track_commands:track",
        "Agreed, recurring engagements (workshops, consultations, reviews, task forces).",
    ),
}

# Failures the user can act on: (module, exception, exit code, what the line names first).
# Named, not imported: an exception whose module was never imported cannot have been raised,
# and importing them all would cost every command the start-up of the daemon's stack.
FAILURES: tuple[tuple[str, str, int, str], ...] = (
    ("consultations.domain.errors", "InvalidInput", EXIT_INVALID, ""),
    ("consultations.domain.errors", "NotAllowed", EXIT_NOT_ALLOWED, ""),
    ("consultations.domain.errors", "NotFound", EXIT_NOT_FOUND, ""),
    ("consultations.domain.errors", "VerificationFailed", EXIT_VERIFICATION, ""),
    ("consultations.domain.errors", "DomainError", EXIT_INVALID, ""),
    ("consultations.settings", "SettingsError", EXIT_INVALID, "settings: "),
    ("consultations.adapters.database", "DatabaseUrlError", EXIT_INVALID, "database-url: "),
    ("consultations.adapters.eventlog", "ConcurrencyConflict", EXIT_NOT_ALLOWED, "conflict: "),
    ("consultations.adapters.eventlog", "IdempotencyKeyReused", EXIT_NOT_ALLOWED, ""),
    ("consultations.entrypoints.daemon", "DaemonAlreadyRunning", EXIT_NOT_ALLOWED, "daemon: "),
    ("consultations.bootstrap", "DatabaseNotReady", EXIT_OPERATIONAL, "database: "),
    ("consultations.adapters.signing", "KeyFileProblem", EXIT_OPERATIONAL, "identity_key: "),
    ("consultations.adapters.peer_http", "PullFailed", EXIT_OPERATIONAL, "sync: "),
)


def raised(error: BaseException, module: str, name: str) -> bool:
    """Whether ``error`` is a ``module.name`` (False, importing nothing, if it is not loaded)."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(error, getattr(loaded, name))


class _Root(LazyGroup):
    """The root group: an unknown id from any command is answered with the closest known one."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; compare an unknown id it raised with the ids that exist."""
        try:
            return super().invoke(ctx)
        except Exception as error:
            if not raised(error, "consultations.domain.errors", "UnknownId"):
                raise
            unknown = cast("UnknownId", error)
            if unknown.known is not None:
                raise
            from consultations.entrypoints.cli.context import CliContext

            context = ctx.find_object(CliContext)
            assert context is not None  # set by the root callback before any command runs
            known = context.app(schema=False, projections=False).read_models.ids(unknown.kind)
            raise unknown.among(known) from None


@click.group(
    cls=_Root,
    package=__name__,
    lazy_subcommands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--database-url",
    envvar=DATABASE_URL_VARIABLE,
    help=f"SQLAlchemy URL (also ${DATABASE_URL_VARIABLE}); default sqlite:///var/consultations.db.",
)
@click.version_option(package_name="consultations")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """Event-sourced scheduling for bilateral inter-ministerial cooperation."""
    from consultations.entrypoints.cli.context import CliContext

    context = CliContext(Settings.load(database_url))
    ctx.obj = context
    ctx.call_on_close(context.close)


def _fail(code: int, message: str) -> NoReturn:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI and turn every failure into one line on stderr and a documented exit code.

    Without ``argv`` this is the program itself (``sys.argv``, the installed script or ``-m``).
    As it ends, everything it allocated is frozen out of the garbage collector: the shutdown
    then leaves the modules' reference cycles to the operating system instead of walking and
    freeing them one by one (a sixth of a short command's time; docs/performance.md).
    Nothing relies on a finalizer running at exit, which Python does not promise anyway.
    """
    try:
        _main(argv)
    finally:
        if argv is None:
            gc.freeze()


def _main(argv: Sequence[str] | None) -> NoReturn:
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
    except Exception as exc:
        _fail(*_failure(exc))
    raise SystemExit(result if isinstance(result, int) else 0)


def _failure(exc: Exception) -> tuple[int, str]:
    """The exit code and message for a failure the user can act on; re-raise any other."""
    if "consultations.service_layer.plan_import" in sys.modules:
        from consultations.service_layer.plan_import import PlanProblems

        if isinstance(exc, PlanProblems):
            for problem in exc.problems:
                click.echo(f"error: {' '.join(problem.split())}", err=True)
            code = EXIT_NOT_ALLOWED if exc.refused else EXIT_INVALID
            return code, f"plan: {len(exc.problems)} problem(s); nothing was imported"
    if raised(exc, "sqlalchemy.exc", "SQLAlchemyError"):
        from consultations.adapters.database import first_line

        return EXIT_OPERATIONAL, f"database: {first_line(exc)}"
    for module, name, code, prefix in FAILURES:
        if raised(exc, module, name):
            return code, f"{prefix}{exc}"
    raise exc
