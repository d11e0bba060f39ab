"""Time travel: the read models as they were, from only the events recorded by then.

The events recorded at or before the moment are copied into a scratch in-memory SQLite
database with the same schema, and the projections are rebuilt there. ``recorded_at``
never decreases along positions, so those events are a prefix of the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from consultations.adapters.database import create_engine, write_transaction
from consultations.adapters.orm import event_log_head, events
from consultations.adapters.projections import Projector
from consultations.adapters.read_models import ReadModels

COPY_BATCH = 5000


@contextmanager
def read_models_known_at(source: Engine, moment: datetime) -> Iterator[ReadModels]:
    """Yield read models built from the events recorded at or before ``moment``."""
    scratch = create_engine("sqlite://")
    try:
        migrations.upgrade(scratch)
        _copy_prefix(source, scratch, moment)
        Projector().rebuild(scratch)
        yield ReadModels(scratch)
    finally:
        scratch.dispose()


def _copy_prefix(source: Engine, target: Engine, moment: datetime) -> None:
    after, last = 0, None
    with write_transaction(target) as destination:
        while True:
            query = (
                sa.select(events)
                .where(events.c.position > after, events.c.recorded_at <= moment)
                .order_by(events.c.position)
                .limit(COPY_BATCH)
            )
            with source.connect() as connection:
                rows = [dict(row) for row in connection.execute(query).mappings()]
            if not rows:
                break
            destination.execute(events.insert(), rows)
            after, last = rows[-1]["position"], rows[-1]
        if last is not None:
            destination.execute(
                event_log_head.update().values(
                    position=last["position"], hash=last["hash"], recorded_at=last["recorded_at"]
                )
            )
