"""The composition root: the one place where settings, engine and services are wired."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from consultations.adapters.database import create_engine
from consultations.adapters.eventlog import EventMapper, SqlEventLog, UpcasterRegistry
from consultations.adapters.projections import Projector
from consultations.adapters.read_models import ReadModels
from consultations.service_layer.feeds import FeedPublisher
from consultations.service_layer.services import CommandService
from consultations.settings import Settings


class DatabaseNotReady(RuntimeError):
    """The database schema is not at the revision this code expects."""


@dataclass
class Application:
    """Wired services for one process. Creating it does not connect to the database."""

    settings: Settings
    engine: Engine
    store: SqlEventLog
    commands: CommandService
    projector: Projector
    read_models: ReadModels
    feeds: FeedPublisher

    def ensure_schema_current(self) -> None:
        """Refuse to work on a database that was not upgraded to this code's schema."""
        current, head = migrations.current_revision(self.engine), migrations.head_revision()
        if current != head:
            raise DatabaseNotReady(
                f"database is at revision {current or 'none'}, this version needs {head}; "
                "run `consultations db upgrade`"
            )

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def upcasters() -> UpcasterRegistry:
    """The application's upcasters: register one here when an event's stored shape changes."""
    return UpcasterRegistry()


def bootstrap(settings: Settings) -> Application:
    """Build the application for ``settings``."""
    engine = create_engine(settings.database_url)
    mapper = EventMapper(upcasters())
    projector = Projector(mapper=mapper)
    store = SqlEventLog(engine, mapper=mapper, listeners=[projector])
    read_models = ReadModels(engine)
    commands = CommandService(store, read_models)
    publisher = FeedPublisher(read_models, commands.clock)
    return Application(settings, engine, store, commands, projector, read_models, publisher)
