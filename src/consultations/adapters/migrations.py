"""Alembic, driven from the application: upgrade, downgrade and the current revision.

Only upgrading and downgrading import Alembic (and, through it, Mako and Pygments: more than
a command's own start-up). Checking that a database is current, which every command does,
reads the revision lines of the scripts and Alembic's version table directly.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters.database import write_transaction

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py keeps it
# `revision: str = "0009"`, `down_revision: str | None = "0008"` (or a tuple, for a merge).
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


@cache
def _scripts() -> tuple[str, Traversable]:
    """The migration scripts: how Alembic is told where they are, and their folder.

    They live in the top-level ``migrations/`` folder. The wheel carries them as
    ``consultations/migrations`` (pyproject's wheel ``sources``), so an installed package finds
    them next to its own files. A checkout, and the editable install (a path entry pointing at
    ``src/``), has none there and uses the folder three levels above this file instead.
    """
    packaged = files("consultations") / "migrations"
    if (packaged / "env.py").is_file():
        return "consultations:migrations", packaged
    checkout = Path(__file__).resolve().parents[3] / "migrations"
    if (checkout / "env.py").is_file():
        return str(checkout), checkout
    raise FileNotFoundError(
        "no Alembic migration scripts: neither consultations/migrations in the installed "
        f"package nor {checkout}"
    )


def script_location() -> str:
    """Alembic's ``script_location`` for the migration scripts (see _scripts)."""
    return _scripts()[0]


def alembic_config() -> Config:
    """An Alembic configuration pointing at the migration scripts (see script_location)."""
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", script_location())
    return config


def head_revision() -> str:
    """The newest revision the code knows: the one no script names as its down_revision.

    Read from the scripts' ``revision`` and ``down_revision`` lines, as Alembic would find by
    importing each script (tests/migrations checks that both agree).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (_scripts()[1] / "versions").iterdir():
        if not script.name.endswith(".py"):
            continue
        for name, value in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            (revisions if name == "revision" else parents).update(_QUOTED.findall(value))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migration scripts have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database), as Alembic reads it."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(VERSION_TABLE):
            return None
        query = sa.text(f"SELECT version_num FROM {VERSION_TABLE}")
        revisions = connection.execute(query).scalars().all()
    if len(revisions) > 1:
        raise RuntimeError(f"{VERSION_TABLE} holds more than one revision: {revisions}")
    return revisions[0] if revisions else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` in one transaction."""
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` in one transaction."""
    _run(engine, "downgrade", revision)


def _run(engine: Engine, direction: str, revision: str) -> None:
    from alembic import command  # noqa: PLC0415

    config = alembic_config()
    with write_transaction(engine) as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)
