"""Alembic environment: runs on a connection handed over by the application (or tests)."""

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection, Engine

from consultations.adapters.database import create_engine
from consultations.adapters.orm import metadata
from consultations.settings import Settings

config = context.config


def _configure(**kwargs: Any) -> None:
    context.configure(target_metadata=metadata, compare_type=True, **kwargs)


def _run(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Migrate offline (SQL script) or online (on the given connection, else a new engine)."""
    url = config.get_main_option("sqlalchemy.url") or Settings.load().database_url
    if context.is_offline_mode():
        _configure(url=url, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    given = config.attributes.get("connection")  # a Connection (the app) or an Engine (tests)
    if isinstance(given, Connection):
        _run(given)
        return
    engine = given if isinstance(given, Engine) else create_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        if given is None:
            engine.dispose()


run()
