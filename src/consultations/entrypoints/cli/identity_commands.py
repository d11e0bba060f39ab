"""`consultations identity …`: the party this instance speaks for and its signing key."""

from __future__ import annotations

import dataclasses
import json

import click

from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import format_option, render
from consultations.entrypoints.cli.params import default_actor
from consultations.service_layer.services import Provenance

COLUMNS = ("party", "public_key", "fingerprint", "key_file")
# Each init or rotation makes a new key, so there is no --idempotency-key to repeat one.
ACTOR = click.option(
    "--actor",
    default=default_actor,
    show_default="the OS user",
    help="Who is making the change: stored with the events.",
)
REASON = click.option("--reason", help="Why: stored with the events.")


@click.group("identity")
def identity() -> None:
    """The party this instance speaks for, and its key (what peers verify bundles with)."""


@identity.command("init")
@click.option("--party", required=True, help="The party this instance speaks for, e.g. TM-MFA.")
@ACTOR
@REASON
@pass_context
def init(context: CliContext, party: str, actor: str, reason: str | None) -> None:
    """Create the key pair and print the public key to give to your peers.

    The private key goes to a file only you can read (setting identity_key), the public
    key to the log.
    """
    from consultations.service_layer.identity import init_identity

    app = context.app()
    view = init_identity(
        app.commands,
        app.settings.identity_key_path(),
        party,
        Provenance(actor=actor, reason=reason),
    )
    _print(dataclasses.asdict(view))


@identity.command("rotate")
@ACTOR
@REASON
@pass_context
def rotate(context: CliContext, actor: str, reason: str | None) -> None:
    """Replace the key: the current key signs the new one, so peers follow the change.

    Bundles signed by the old key verify for the positions it was valid for.
    """
    from consultations.service_layer.identity import rotate_identity

    app = context.app()
    view = rotate_identity(
        app.commands, app.settings.identity_key_path(), Provenance(actor=actor, reason=reason)
    )
    _print(dataclasses.asdict(view))


@identity.command("show")
@format_option
@pass_context
def show(context: CliContext, output_format: str) -> None:
    """Print the party, the public key and its fingerprint."""
    from consultations.service_layer.identity import IdentityView, require_identity

    app = context.app()
    view = IdentityView.of(require_identity(app.store), app.settings.identity_key_path())
    _print(dataclasses.asdict(view), output_format)


def _print(row: dict[str, str], output_format: str = "table") -> None:
    if output_format == "json":
        click.echo(json.dumps(row, ensure_ascii=False, indent=2))
    else:
        render([row], COLUMNS, output_format)
