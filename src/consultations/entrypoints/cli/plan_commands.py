"""`consultations plan import FILE.toml [--dry-run] [--force]`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import click

from consultations.entrypoints.cli.context import CliContext, echo_warnings, pass_context
from consultations.entrypoints.cli.output import (
    format_option,
    render,
    terminal_width,
    wrap_words,
)
from consultations.entrypoints.cli.params import STRICT_OPTION, default_actor
from consultations.service_layer.plan_import import (
    MAX_FILE_BYTES,
    Change,
    PlanConflicts,
    import_plan,
    source_of,
)
from consultations.service_layer.services import Provenance
from consultations.service_layer.working_time import OutsideWorkingTime


class Refused(click.ClickException):
    """The import would undo changes made elsewhere: exit code 3, nothing written."""

    exit_code = 3


@click.group("plan")
def plan() -> None:
    """Bring the log in line with a plan file (docs/plan-format.md)."""


@plan.command("import")
@click.argument(
    "path", metavar="FILE.toml", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change.")
@click.option(
    "--force",
    is_flag=True,
    help="Import even where that undoes changes made elsewhere since the file's last import.",
)
@click.option("--actor", default=None, help="Who is importing (default: the OS user).")
@click.option("--reason", help="Why: stored with the events.")
@click.option(
    "--idempotency-key",
    help="Repeating the import with the same key appends nothing and prints the first result.",
)
@STRICT_OPTION
@format_option
@pass_context
def import_command(
    context: CliContext, path: Path, dry_run: bool, force: bool, actor: str | None,
    reason: str | None, idempotency_key: str | None, strict: bool | None, output_format: str,
) -> None:  # fmt: skip
    """Import parties, areas, tracks and meetings; importing the same file again appends nothing.

    Lists each change to what is already in the log (old -> new). A change that would undo
    what another source (the CLI, another file) recorded since this file's last import is
    refused, and nothing is imported, unless --force. A meeting it plans or moves onto a
    party's non-working day, outside its office hours or over another of its meetings is
    warned about; with --strict the whole import is refused.
    """
    provenance = Provenance(actor=actor or default_actor(), source=source_of(path), reason=reason)
    width = terminal_width()
    try:
        report = import_plan(
            context.app().commands,
            _read_capped(path),
            provenance,
            dry_run=dry_run,
            force=force,
            idempotency_key=idempotency_key,
            strict=strict,
        )
    except OutsideWorkingTime as refused:
        for meeting_id, finding in refused.findings:
            click.echo(f"error: meetings.{meeting_id}: {finding}", err=True)
        raise Refused(
            f"plan: {_counted(len(refused.findings), 'conflict')} with the parties' working "
            "calendars; nothing was imported (--strict)"
        ) from None
    except PlanConflicts as refused:
        header = f"these changes would undo what was recorded after {path.name} was last imported:"
        for line in [*wrap_words(header, width, "", ""), *change_lines(refused.changes, width)]:
            click.echo(line, err=True)
        raise Refused(
            f"plan: {_counted(len(refused.changes), 'change')} refused; nothing was imported "
            "(--force imports anyway)"
        ) from None
    echo_warnings(report.warnings)
    if output_format != "table":
        rows = [
            {"event_type": name, "count": count} for name, count in sorted(report.events.items())
        ]
        render(rows, ("event_type", "count"), output_format)
        return
    for line in change_lines(report.changes, width):
        click.echo(line)
    if not report.total:
        click.echo("nothing to import: the log already matches the plan")
        return
    verb = "would append" if report.dry_run else "appended"
    repeated = "already imported with this idempotency key: " if report.repeated else ""
    counts = [f"{count} {name}" for name, count in sorted(report.events.items())]
    items = [f"{item}," for item in counts[:-1]] + counts[-1:]
    for line in _filled(f"{repeated}{verb} {_counted(report.total, 'event')}:", items, width):
        click.echo(line)


def change_lines(changes: Sequence[Change], width: int) -> Iterator[str]:
    """Each entry, then its changed fields ``old -> new``, wrapped to ``width`` columns.

    A value too long for the line gets lines of its own, ``-> `` before the new one.
    """
    entry = None
    for change in changes:
        if change.entry != entry:
            entry = change.entry
            yield entry
        head = f"  {change.field}: "
        indent = " " * len(head)
        line = f"{head}{change.old} -> {change.new}"
        if len(line) <= width:
            yield line
        else:
            yield from wrap_words(change.old, width, head, indent)
            yield from wrap_words(change.new, width, f"{indent[:-3]}-> ", indent)
        if change.undoes is not None:
            edit = change.undoes
            when = f"{edit.recorded_at:%Y-%m-%d %H:%M} UTC"
            yield from wrap_words(
                f"(set by {edit.actor} via {edit.source} on {when})", width, indent, indent
            )


def _filled(first: str, items: Sequence[str], width: int) -> Iterator[str]:
    """``first``, then ``items`` as many to a line as fit (the next lines indented)."""
    line = first
    for item in items:
        if len(line) + 1 + len(item) > width:
            yield line
            line = f"  {item}"
        else:
            line = f"{line} {item}"
    yield line


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _read_capped(path: Path) -> bytes:
    """Read the file, but never much more than the import accepts."""
    with path.open("rb") as stream:
        return stream.read(MAX_FILE_BYTES + 1)
