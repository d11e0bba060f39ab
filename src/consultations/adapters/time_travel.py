"""Time travel: the read models as they were, from only the events recorded by then.

The events recorded at or before the moment are copied into a scratch in-memory SQLite
database with the same schema (by the log: :meth:`SqlEventLog.copy_prefix`), and the
projections are rebuilt there with the log's mapper.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from consultations.adapters import migrations
from consultations.adapters.database import create_engine
from consultations.adapters.eventlog import SqlEventLog
from consultations.adapters.projections import Projector
from consultations.adapters.read_models import ReadModels


@contextmanager
def read_models_known_at(log: SqlEventLog, moment: datetime) -> Iterator[ReadModels]:
    """Yield read models built from the events ``log`` recorded at or before ``moment``."""
    scratch = create_engine("sqlite://")
    try:
        migrations.upgrade(scratch)
        log.copy_prefix(scratch, moment)
        Projector(mapper=log.mapper).rebuild(scratch)
        yield ReadModels(scratch)
    finally:
        scratch.dispose()
