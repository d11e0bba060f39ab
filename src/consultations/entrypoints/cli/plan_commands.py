"""`consultations plan import FILE.toml [--dry-run]`."""

from __future__ import annotations

from pathlib import Path

import click

from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import format_option, render
from consultations.entrypoints.cli.params import default_actor
from consultations.service_layer.plan_import import MAX_FILE_BYTES, import_plan
from consultations.service_layer.services import Provenance


@click.group("plan")
def plan() -> None:
    """Bring the log in line with a plan file (docs/plan-format.md)."""


@plan.command("import")
@click.argument(
    "path", metavar="FILE.toml", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--dry-run", is_flag=True, help="Check the file and show what would be appended.")
@click.option("--actor", default=None, help="Who is importing (default: the OS user).")
@click.option("--reason", help="Why: stored with the events.")
@format_option
@pass_context
def import_command(
    context: CliContext, path: Path, dry_run: bool, actor: str | None, reason: str | None,
    output_format: str,
) -> None:  # fmt: skip
    """Import parties, areas, tracks and meetings; importing the same file again appends nothing."""
    provenance = Provenance(
        actor=actor or default_actor(), source=f"plan:{path.name}", reason=reason
    )
    report = import_plan(context.app().commands, _read_capped(path), provenance, dry_run=dry_run)
    if output_format != "table":
        rows = [
            {"event_type": name, "count": count} for name, count in sorted(report.events.items())
        ]
        render(rows, ("event_type", "count"), output_format)
        return
    if not report.total:
        click.echo("nothing to import: the log already matches the plan")
        return
    verb = "would append" if dry_run else "appended"
    summary = ", ".join(f"{count} {name}" for name, count in sorted(report.events.items()))
    click.echo(f"{verb} {report.total} events: {summary}")


def _read_capped(path: Path) -> bytes:
    """Read the file, but never much more than the import accepts."""
    with path.open("rb") as stream:
        return stream.read(MAX_FILE_BYTES + 1)
