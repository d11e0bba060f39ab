"""`consultations projections …`: the read models built from the log."""

from __future__ import annotations

import click

from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import format_option, render
from consultations.entrypoints.cli.progress import progress_bar


@click.group("projections")
def projections() -> None:
    """The read models built from the log."""


@projections.command("status")
@format_option
@pass_context
def projections_status(context: CliContext, output_format: str) -> None:
    """Each projection's version (code and stored), position, and lag behind the log."""
    app = context.app(projections=False)
    rows = [
        {
            "name": s.name,
            "code_version": s.code_version,
            "stored_version": s.stored_version,
            "position": s.position,
            "head": s.head,
            "lag": s.lag,
            "current": s.current,
        }
        for s in app.projector.status(app.engine)
    ]
    render(rows, list(rows[0]), output_format, title="Projections")


@projections.command("rebuild")
@pass_context
def projections_rebuild(context: CliContext) -> None:
    """Rebuild every read table from the log, atomically (readers never see half of it)."""
    app = context.app(projections=False)
    with progress_bar("rebuilding read models") as progress:
        count = app.projector.rebuild(app.engine, progress)
    click.echo(f"rebuilt {len(app.projector.projections)} projections from {count} events")
