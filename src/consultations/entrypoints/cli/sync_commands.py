"""`consultations sync …`: signed bundles to and from peers, by file; where each stands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from consultations.entrypoints.cli.context import CliContext, echo_warnings, pass_context
from consultations.entrypoints.cli.output import format_option, render
from consultations.service_layer.services import Provenance

if TYPE_CHECKING:
    from consultations.bootstrap import Application
    from consultations.service_layer.sync import Imported, PeerStatus

TABLE_COLUMNS = ("peer", "sent", "acked", "received", "proposals", "agreement")
RECORD_COLUMNS = (
    "peer", "active", "sent", "acknowledged", "received", "received_at",
    "proposals_awaiting_here", "proposals_awaiting_there", "in_agreement", "agreement",
    "differences",
)  # fmt: skip


@click.group("sync")
def sync() -> None:
    """Exchange the joint schedule with peers: signed bundles, by file or over HTTP."""


@sync.command("export")
@click.option("--peer", "peer_id", required=True, metavar="PARTY", help="The peer it is for.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="The bundle file to write.",
)  # fmt: skip
@pass_context
def export(context: CliContext, peer_id: str, output: Path) -> None:
    """Write what PARTY may see and has not acknowledged, signed by this instance."""
    from consultations.service_layer.sync import export_bundle

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
        held = _span(exported.first, exported.size)
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
    from consultations.service_layer.sync import import_bundle

    app = context.app()
    imported = import_bundle(
        app.commands, bundle.read_bytes(), Provenance(actor="sync", source="sync")
    )
    _report(app, imported)


def _report(app: Application, imported: Imported) -> None:
    """What an import did, one line each, and whether the joint schedules agree now."""
    echo_warnings(
        f"{imported.peer}'s {stream} is kept in the bundle only: {imported.why[stream]}"
        for stream in imported.set_aside
        if imported.why.get(stream)
    )
    for stream in imported.restored:
        click.echo(f"{imported.peer}: {stream}, kept in a bundle before, is applied now")
    peer = imported.peer
    if not imported.recorded:
        click.echo(f"{peer}: nothing new (entries up to {imported.size} accepted before)")
        return
    accepted = (
        f"accepted {_span(imported.first, imported.size)} ({imported.applied} applied)"
        if imported.first <= imported.size
        else "no new entries"
    )
    click.echo(f"{peer}: {accepted}; it has accepted {imported.acknowledged} of ours")
    for peer_status in _statuses(app, peer):
        click.echo(f"{peer}: {peer_status.agreement}")


@sync.command("pull")
@click.option("--peer", "peer_id", required=True, metavar="PARTY", help="The peer to pull from.")
@pass_context
def pull(context: CliContext, peer_id: str) -> None:
    """Fetch PARTY's bundle over HTTP (a request signed by this instance) and import it."""
    from consultations.service_layer.sync import pull as fetch

    app = context.app()
    imported = fetch(
        app.commands,
        app.settings.identity_key_path(),
        peer_id,
        Provenance(actor="sync", source="sync"),
    )
    _report(app, imported)


@sync.command("status")
@click.option("--peer", "peer_id", metavar="PARTY", help="Only this peer.")
@format_option
@pass_context
def status(context: CliContext, peer_id: str | None, output_format: str) -> None:
    """Per peer: entries sent, acknowledged and received, open proposals, agreement.

    Proposals "in" were made by the peer, "out" here. The joint schedules agree when this
    instance's matches the one the peer's last bundle described; if not, the meetings that
    differ are listed, and how.
    """
    if peer_id is not None:
        context.require_known("peer", peer=peer_id)
    statuses = _statuses(context.app(), peer_id)
    if output_format != "table":
        render([_as_record(s) for s in statuses], RECORD_COLUMNS, output_format)
        return
    render([_as_row(s) for s in statuses], TABLE_COLUMNS, output_format, title="Exchange")
    for peer_status in statuses:
        for difference in peer_status.differences or ():
            click.echo(f"{peer_status.peer}: {difference.meeting_id}: {difference.how}")


def _statuses(app: Application, peer_id: str | None) -> list[PeerStatus]:
    """Where the exchange with each peer (or with ``peer_id``) stands."""
    from consultations.service_layer.identity import current_identity
    from consultations.service_layer.sync import exchange_status

    identity = current_identity(app.store)
    own = None if identity is None else identity.party_id
    statuses = exchange_status(app.read_models, app.store, own)
    return [status for status in statuses if peer_id in (None, status.peer)]


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}–{last}"


def _as_row(status: PeerStatus) -> dict[str, Any]:
    return {
        "peer": status.peer if status.active else f"{status.peer} (removed)",
        "sent": status.sent,
        "acked": status.acknowledged,
        "received": status.received,
        "proposals": f"{status.awaiting_here} in, {status.awaiting_there} out",
        "agreement": status.agreement,
    }


def _as_record(status: PeerStatus) -> dict[str, Any]:
    return {
        "peer": status.peer,
        "active": status.active,
        "sent": status.sent,
        "acknowledged": status.acknowledged,
        "received": status.received,
        "received_at": status.received_at,
        "proposals_awaiting_here": status.awaiting_here,
        "proposals_awaiting_there": status.awaiting_there,
        "in_agreement": None if status.differences is None else not status.differences,
        "agreement": status.agreement,
        "differences": [
            {"meeting_id": d.meeting_id, "how": d.how, "here": d.here, "there": d.there}
            for d in status.differences or ()
        ],
    }
