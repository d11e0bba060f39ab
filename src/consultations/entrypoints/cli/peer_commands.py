"""`consultations peer …`: the instances of other parties this one exchanges bundles with."""

from __future__ import annotations

from typing import Any

import click

from consultations.domain.commands import AddPeer, RemovePeer
from consultations.domain.signed_note import VerifierKey
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import format_option, render
from consultations.entrypoints.cli.params import write_options

# A table at 80 columns: the key's 8-hex id; JSON and CSV add the key and its fingerprint.
TABLE_COLUMNS = ("peer_id", "key_id", "url", "status")
COLUMNS = ("peer_id", "status", "url", "public_key", "fingerprint", "added_at", "removed_at")


@click.group("peer")
def peer() -> None:
    """Instances of other parties: bundles go to them and come from them, signed."""


@peer.command("add")
@click.argument("peer_id", metavar="PARTY")
@click.option(
    "--key", "public_key", required=True, help="Its public key, as its `identity show` prints."
)
@click.option("--url", help="Where its `serve` answers signed pulls, e.g. https://host:8000.")
@write_options
@pass_context
def add(
    context: CliContext, peer_id: str, public_key: str, url: str | None,
    actor: str, reason: str | None, idempotency_key: str | None,
) -> None:  # fmt: skip
    """Register the instance that speaks for PARTY."""
    command = AddPeer(peer_id=peer_id, public_key=public_key, url=url)
    outcome = context.execute(command, actor, reason, idempotency_key)
    fingerprint = VerifierKey.parse(public_key).fingerprint
    click.echo(f"{outcome.aggregate_id}: added, key {fingerprint}")


@peer.command("remove")
@click.argument("peer_id", metavar="PARTY")
@write_options
@pass_context
def remove(
    context: CliContext, peer_id: str, actor: str, reason: str | None, idempotency_key: str | None
) -> None:
    """Stop exchanging with PARTY: nothing is sent to it, its bundles are refused."""
    outcome = context.execute(
        RemovePeer(peer_id=peer_id, reason=reason), actor, reason, idempotency_key
    )
    click.echo(f"{outcome.aggregate_id}: removed")


@peer.command("list")
@format_option
@pass_context
def list_peers(context: CliContext, output_format: str) -> None:
    """List the peers, removed ones too."""
    with context.read_models() as read:
        rows = [_described(row) for row in read.peers()]
    columns = TABLE_COLUMNS if output_format == "table" else COLUMNS
    render(rows, columns, output_format, title="Peers")


def _described(row: dict[str, Any]) -> dict[str, Any]:
    key = VerifierKey.parse(row["public_key"])
    status = "active" if row["removed_at"] is None else "removed"
    return {**row, "key_id": f"{key.key_id:08x}", "fingerprint": key.fingerprint, "status": status}
