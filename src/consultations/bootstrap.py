"""The composition root: the one place where settings, engine and services are wired.

Every port is a parameter (the log, the clock, the delivery channels), as in cosmicpython's
``bootstrap``: tests hand in fakes, entry points take the defaults. What only the daemon
needs (outbox, dispatcher, channels, feed files) is built on request, so a command that does
not deliver anything imports none of it. Nothing here connects to the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from consultations.adapters.database import create_engine
from consultations.adapters.eventlog import EventMapper, SqlEventLog, UpcasterRegistry
from consultations.adapters.projections import Projector
from consultations.adapters.public_holidays import HolidaysPackage
from consultations.adapters.read_models import ReadModels
from consultations.domain.working_calendar import PublicHolidays, WorkingCalendar
from consultations.service_layer.feeds import FeedPublisher
from consultations.service_layer.services import CommandService
from consultations.service_layer.working_time import WorkingTime
from consultations.settings import Settings

if TYPE_CHECKING:
    from consultations.adapters.channels import Channel
    from consultations.adapters.outbox import RetainingOutbox, SqlOutbox
    from consultations.service_layer.dispatcher import Dispatcher
    from consultations.service_layer.feed_files import FeedFiles


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
    fixed_channels: Sequence[Channel] | None = field(default=None, repr=False)
    """Channels handed to :func:`bootstrap`; None: built from the settings when asked."""

    @property
    def clock(self) -> Callable[[], datetime]:
        """The application's clock (UTC, aware)."""
        return self.commands.clock

    @property
    def calendar(self) -> WorkingCalendar:
        """The parties' working-calendar rules (public holidays, weekends, office hours)."""
        assert self.commands.working_time is not None  # bootstrap always wires it
        return self.commands.working_time.calendar

    def channels(self, console: TextIO | None = None) -> list[Channel]:
        """The delivery channels: those handed in, or those the settings configure.

        ``console``: where the console channel writes (standard output by default).
        """
        if self.fixed_channels is not None:
            return list(self.fixed_channels)
        from consultations.adapters.channels import channels_from_settings  # noqa: PLC0415

        return channels_from_settings(self.settings, console)

    def outbox(self, owner: str) -> SqlOutbox:
        """The delivery outbox, claiming as ``owner``."""
        from consultations.adapters.outbox import SqlOutbox  # noqa: PLC0415

        return SqlOutbox(self.engine, owner)

    def daemon_outbox(self, owner: str) -> RetainingOutbox:
        """The daemon's outbox: outcomes are kept in memory while the database is unavailable."""
        from consultations.adapters.outbox import RetainingOutbox  # noqa: PLC0415

        return RetainingOutbox(self.engine, owner)

    def dispatcher(
        self, outbox: SqlOutbox, *, lease: timedelta, console: TextIO | None = None
    ) -> Dispatcher:
        """Turns due reminders, nudges and cadence alerts into deliveries on every channel."""
        from consultations.service_layer.dispatcher import Dispatcher  # noqa: PLC0415

        return Dispatcher(
            outbox,
            self.read_models,
            self.channels(console),
            self.clock,
            lease=lease,
            nudge_after=self.settings.nudge_after,
        )

    def feed_files(self, directory: Path) -> FeedFiles:
        """Feed files kept in ``directory`` (restricted details only when cleared for them)."""
        from consultations.service_layer.feed_files import FeedFiles  # noqa: PLC0415

        return FeedFiles(
            self.feeds, self.read_models, directory, cleared=self.settings.feeds_dir_restricted
        )

    def ensure_schema_current(self) -> None:
        """Refuse to work on a database that was not upgraded to this code's schema."""
        current, head = migrations.current_revision(self.engine), migrations.head_revision()
        if current != head:
            raise DatabaseNotReady(
                f"schema is at revision {current or 'none'}, this version needs {head}; "
                "run `consultations db upgrade`"
            )

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def upcasters() -> UpcasterRegistry:
    """The application's upcasters: register one here when an event's stored shape changes."""
    return UpcasterRegistry()


def bootstrap(
    settings: Settings,
    *,
    log: SqlEventLog | None = None,
    clock: Callable[[], datetime] | None = None,
    channels: Sequence[Channel] | None = None,
    holidays: PublicHolidays | None = None,
) -> Application:
    """Build the application for ``settings``; each port may be handed in instead.

    ``log``: the event log (default: the SQL log on the settings' database, with the
    projections listening); ``clock``: the current UTC time; ``channels``: where reminders
    go (default: those the settings configure, built when first asked for); ``holidays``:
    the public holidays of the parties' countries (default: the ``holidays`` package).
    """
    engine = create_engine(settings.database_url)
    mapper = EventMapper(upcasters())
    projector = Projector(mapper=mapper)
    store = log or SqlEventLog(engine, mapper=mapper, listeners=[projector])
    read_models = ReadModels(engine)
    calendar = WorkingCalendar(holidays or HolidaysPackage(), settings.office_rules)
    commands = CommandService(
        store,
        read_models,
        *(() if clock is None else (clock,)),
        working_time=WorkingTime(calendar, read_models),
        strict=settings.strict,
    )
    publisher = FeedPublisher(read_models, commands.clock)
    return Application(
        settings, engine, store, commands, projector, read_models, publisher, channels
    )
