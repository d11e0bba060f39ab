"""Helpers for projection tests: wire the app on a test database, snapshot read tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters.eventlog import SqlEventLog
from consultations.adapters.projections import Projector
from consultations.adapters.read_models import ReadModels
from consultations.service_layer.plan_import import import_plan
from consultations.service_layer.services import CommandService, Provenance

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tm-az-cooperation.toml"
ANALYST = Provenance(actor="analyst", source="test")


def wire(engine: Engine, clock: Callable[[], datetime] | None = None) -> CommandService:
    """The write side with projections as listeners (what bootstrap does)."""
    projector = Projector()
    projector.ensure_current(engine)
    store = SqlEventLog(engine, listeners=[projector], clock=clock or (lambda: datetime.now(UTC)))
    return CommandService(store, ReadModels(engine))


def import_example(service: CommandService) -> None:
    import_plan(service, EXAMPLE.read_bytes(), ANALYST)


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every read table, in primary-key order."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for projection in Projector().projections:
            for table in projection.tables:
                query = sa.select(table).order_by(*table.primary_key.columns)
                tables[table.name] = [dict(row) for row in connection.execute(query).mappings()]
    return tables
