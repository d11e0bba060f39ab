"""`consultations events …`: read the log and verify its hash chain."""

from __future__ import annotations

import click

from consultations.adapters.eventlog import EventMapper, RecordedEvent
from consultations.bootstrap import Application
from consultations.entrypoints.cli.context import CliContext, pass_context
from consultations.entrypoints.cli.output import format_option, render

EXIT_CHAIN_BROKEN = 5
LOG_COLUMNS = (
    "position",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "actor",
    "payload",
    "metadata",
)
TABLE_COLUMNS = (
    "position",
    "stream_id",
    "stream_version",
    "event_type",
    "recorded_at",
    "actor",
    "payload",
)


@click.group("events")
def events() -> None:
    """Read and verify the append-only event log."""


def _row(mapper: EventMapper, event: RecordedEvent) -> dict[str, object]:
    event_type, payload, schema_version = mapper.to_stored(event.event)
    return {
        "position": event.position,
        "stream_id": event.stream_id,
        "stream_version": event.stream_version,
        "event_type": event_type,
        "schema_version": schema_version,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "actor": event.metadata.get("actor"),
        "payload": payload,
        "metadata": dict(event.metadata),
    }


@events.command("log")
@click.option("--stream", help="Only this stream, e.g. meeting-2026-h1-workshop.")
@click.option(
    "--after", type=click.IntRange(min=0), default=0, help="Only events after this position."
)
@format_option
@pass_context
def log(context: CliContext, stream: str | None, after: int, output_format: str) -> None:
    """Print events in position order (streamed, never the whole log in memory)."""
    store = context.app(projections=False).store
    rows = (
        _row(store.mapper, event)
        for batch in store.read(after, stream_id=stream)
        for event in batch
    )
    columns = TABLE_COLUMNS if output_format == "table" else LOG_COLUMNS
    render(rows, columns, output_format, title="Event log")


@events.command("verify")
@format_option
@pass_context
def verify(context: CliContext, output_format: str) -> None:
    """Recompute the hash chain and check the append-only triggers; exit 5 on any problem.

    A broken chain is named by its first bad position; a trigger that is missing, altered
    or disabled is named too, all on one line. The checkpoints accepted from peers are
    verified again against their signatures and the entries kept.
    """
    app = context.app(projections=False)
    report = app.store.verify_integrity()
    chain = report.chain
    exchange = _exchange_problems(app) if report.ok else []
    row = {
        "ok": report.ok and not exchange,
        "checked": chain.checked,
        "last_position": chain.last_position,
        "first_bad_position": chain.first_bad_position,
        "problem": chain.problem,
        "guards_ok": not report.guard_problems,
        "guard_problems": list(report.guard_problems),
        "exchange_problems": exchange,
    }
    if output_format != "table":
        render([row], list(row), output_format)
    elif report.ok and not exchange:
        click.echo(
            f"ok: {chain.checked} events, hash chain intact up to position {chain.last_position}"
        )
    if not report.ok:
        click.echo(f"error: {report.describe()}", err=True)
        raise SystemExit(EXIT_CHAIN_BROKEN)
    if exchange:
        click.echo(f"error: {'; '.join(exchange)}", err=True)
        raise SystemExit(EXIT_CHAIN_BROKEN)


def _exchange_problems(app: Application) -> list[str]:
    """What is wrong with the bundles accepted from peers (their signatures re-checked)."""
    peers = app.read_models.ids("peer")
    if not peers:
        return []
    from consultations.service_layer.sync import verify_received

    return verify_received(app.store, peers)
