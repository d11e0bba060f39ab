"""The object every command receives: settings from the root options, the app built lazily."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import click

from consultations.adapters.database import missing_database_file
from consultations.adapters.read_models import ReadModels
from consultations.adapters.time_travel import read_models_known_at
from consultations.bootstrap import Application, DatabaseNotReady, bootstrap
from consultations.domain.commands import DomainCommand
from consultations.domain.errors import UnknownId
from consultations.domain.validation import validate_id
from consultations.entrypoints.cli.progress import progress_bar
from consultations.service_layer.services import Outcome, Provenance
from consultations.settings import Settings


@dataclass
class CliContext:
    """Holds the settings; the application (and so the engine) exists only once asked for."""

    settings: Settings
    _app: Application | None = field(default=None, init=False)
    _checked: set[str] = field(default_factory=set, init=False)

    def app(
        self, *, schema: bool = True, projections: bool = True, create: bool = False
    ) -> Application:
        """The wired application, checked as the command needs.

        ``schema``: refuse a database that was not upgraded to this version. ``projections``:
        rebuild stale read models first (with a progress bar when stderr is a terminal).
        ``create``: make a missing SQLite database (and its folder); only `db upgrade` does,
        every other command refuses one and leaves nothing behind.
        """
        if self._app is None:
            missing = None if create else missing_database_file(self.settings.database_url)
            if missing is not None:
                raise DatabaseNotReady(
                    f"{missing} does not exist; run `consultations db upgrade` to create it"
                )
            self._app = bootstrap(self.settings)
        if (schema or projections) and "schema" not in self._checked:
            self._app.ensure_schema_current()
            self._checked.add("schema")
        if projections and "projections" not in self._checked:
            with progress_bar("rebuilding read models", only_on_terminal=True) as progress:
                self._app.projector.ensure_current(self._app.engine, progress)
            self._checked.add("projections")
        return self._app

    @contextmanager
    def read_models(self, known_at: datetime | None = None) -> Iterator[ReadModels]:
        """The read models now, or as they were at ``known_at`` (replayed into a scratch db)."""
        app = self.app()
        if known_at is None:
            yield app.read_models
            return
        with read_models_known_at(app.store, known_at) as then:
            yield then

    def execute(
        self,
        command: DomainCommand,
        actor: str,
        reason: str | None,
        idempotency_key: str | None,
        *,
        strict: bool | None = None,
    ) -> Outcome:
        """Run one write command on behalf of ``actor``; its warnings go to stderr.

        ``strict``: refuse a meeting that conflicts with a party's working calendar (default:
        the ``strict`` setting).
        """
        provenance = Provenance(actor=actor, source="cli", reason=reason)
        outcome = self.app().commands.execute(command, provenance, idempotency_key, strict=strict)
        echo_warnings(outcome.warnings)
        return outcome

    def require_known(self, field: str | None = None, **ids: str | None) -> None:
        """Refuse an option naming nothing, e.g. ``track="no-such"`` (exit 4; 2 if malformed).

        ``field``: what the error line names (default: the kind, as in ``--track``).
        """
        read = self.app().read_models
        for kind, value in ids.items():
            if value is None:
                continue
            validate_id(value, field or kind)
            if value not in read.ids(kind):
                raise UnknownId(kind, value, field)

    def close(self) -> None:
        """Dispose of the engine, if one was created."""
        if self._app is not None:
            self._app.close()


pass_context = click.make_pass_decorator(CliContext)


def echo_warnings(warnings: Iterable[str]) -> None:
    """One ``warning: …`` line on stderr each: the command succeeded all the same."""
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
