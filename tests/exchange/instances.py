"""Instances of `consultations` for exchange tests: a database and a key file each, driven
through the CLI as a user would."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from consultations.adapters import migrations
from consultations.adapters.database import create_engine
from tests.cli.runner import Result, run_cli

KEY_VARIABLE = "CONSULTATIONS_IDENTITY_KEY"


class Instance:
    """One instance: its database, its identity key file, a CLI session on them."""

    def __init__(
        self, capsys: pytest.CaptureFixture[str], url: str, key_file: Path, name: str
    ) -> None:
        self.capsys, self.url, self.key_file, self.name = capsys, url, key_file, name
        self.engine = create_engine(url)
        migrations.upgrade(self.engine)

    def __call__(self, *args: str) -> Result:
        with _environment(KEY_VARIABLE, str(self.key_file)):
            return run_cli(self.capsys, self.url, *args)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert (result.code, result.err) == (0, ""), result
        return result.out

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--format", "json"))

    def events(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())

    def rejected(self, code: int, message: str, *args: str) -> Result:
        before = self.events()
        result = self(*args)
        assert result.code == code, result
        assert result.err.count("\n") == 1, result.err
        assert result.err.startswith("error: "), result.err
        assert message in result.err, result.err
        assert self.events() == before, "a refused command must append nothing"
        return result

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before
