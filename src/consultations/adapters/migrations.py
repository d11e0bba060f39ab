"""Alembic, driven from the application: upgrade, downgrade and the current revision."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from consultations.adapters.database import write_transaction


@cache
def script_location() -> str:
    """Where the migration scripts are: in the installed package, else the checkout's top level.

    They live in the top-level ``migrations/`` folder. The wheel carries them as
    ``consultations/migrations`` (pyproject's wheel ``sources``), so an installed package finds
    them next to its own files. A checkout, and the editable install (a path entry pointing at
    ``src/``), has none there and uses the folder three levels above this file instead.
    """
    if (files("consultations") / "migrations" / "env.py").is_file():
        return "consultations:migrations"
    checkout = Path(__file__).resolve().parents[3] / "migrations"
    if (checkout / "env.py").is_file():
        return str(checkout)
    raise FileNotFoundError(
        "no Alembic migration scripts: neither consultations/migrations in the installed "
        f"package nor {checkout}"
    )


def alembic_config() -> Config:
    """An Alembic configuration pointing at the migration scripts (see script_location)."""
    config = Config()
    config.set_main_option("script_location", script_location())
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` in one transaction."""
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` in one transaction."""
    _run(engine, "downgrade", revision)


def _run(engine: Engine, direction: str, revision: str) -> None:
    config = alembic_config()
    with write_transaction(engine) as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)
