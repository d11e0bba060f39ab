"""`consultations sync …`: signed bundles to and from peers, by file."""

from __future__ import annotations

import os
from pathlib import Path

import click

from consultations.domain.aggregates import MEETING, TRACK
from consultations.entrypoints.cli.context import CliContext, echo_warnings, pass_context
from consultations.service_layer.services import Provenance


@click.group("sync")
def sync() -> None:
    """Exchange the joint schedule with peers: signed bundles, by file."""


@sync.command("export")
@click.option("--peer", "peer_id", required=True, metavar="PARTY", help="The peer it is for.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="The bundle file to write.",
)  # fmt: skip
@pass_context
def export(context: CliContext, peer_id: str, output: Path) -> None:
    """Write what PARTY may see and has not acknowledged, signed by this instance."""
    from consultations.service_layer.sync import export_bundle  # noqa: PLC0415

    app = context.app()
    exported = export_bundle(
        app.commands,
        app.read_models,
        app.settings.identity_key_path(),
        peer_id,
        Provenance(actor="sync", source="sync"),
    )
    staged = output.with_name(output.name + ".part")
    staged.write_text(exported.text, encoding="utf-8", newline="")
    os.replace(staged, output)
    if exported.first <= exported.size:
        held = f"entries {exported.first}–{exported.size}"
    elif exported.size:
        held = f"no entries ({peer_id} has accepted all {exported.size})"
    else:
        held = "no entries (nothing is shared with it yet)"
    click.echo(f"{peer_id}: {output} holds {held}, {exported.new} new")


@sync.command("import")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def import_(context: CliContext, bundle: Path) -> None:
    """Verify a peer's bundle and apply what it adds (exit 5 if anything does not verify)."""
    from consultations.service_layer.sync import import_bundle  # noqa: PLC0415

    app = context.app()
    imported = import_bundle(
        app.commands, bundle.read_bytes(), Provenance(actor="sync", source="sync")
    )
    echo_warnings(
        f"{imported.peer}'s {stream} is kept in the bundle only: the id is used here already"
        for stream in imported.set_aside
        if TRACK.owns(stream) or MEETING.owns(stream)
    )
    peer = imported.peer
    if not imported.recorded:
        click.echo(f"{peer}: nothing new (entries up to {imported.size} accepted before)")
        return
    accepted = (
        f"accepted entries {imported.first}–{imported.size} ({imported.applied} applied)"
        if imported.first <= imported.size
        else "no new entries"
    )
    click.echo(f"{peer}: {accepted}; it has accepted {imported.acknowledged} of ours")
