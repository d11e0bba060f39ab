"""The object every command receives: settings from the root options, the app built lazily."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from consultations.bootstrap import Application, bootstrap
from consultations.domain.commands import DomainCommand
from consultations.service_layer.services import Outcome, Provenance
from consultations.settings import Settings


@dataclass
class CliContext:
    """Holds the settings; the application (and so the engine) exists only once asked for."""

    settings: Settings
    _app: Application | None = field(default=None, init=False)

    def app(self, *, check_schema: bool = True) -> Application:
        """The wired application; by default it refuses a database that needs an upgrade."""
        if self._app is None:
            self._app = bootstrap(self.settings)
        if check_schema:
            self._app.ensure_schema_current()
        return self._app

    def execute(
        self, command: DomainCommand, actor: str, reason: str | None, idempotency_key: str | None
    ) -> Outcome:
        """Run one write command on behalf of ``actor``."""
        provenance = Provenance(actor=actor, source="cli", reason=reason)
        return self.app().commands.execute(command, provenance, idempotency_key)

    def close(self) -> None:
        """Dispose of the engine, if one was created."""
        if self._app is not None:
            self._app.close()


pass_context = click.make_pass_decorator(CliContext)
