"""Two instances, TM-MFA and AZ-MFA, each with its database and its key file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.exchange.instances import Instance


@pytest.fixture
def tm(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Iterator[Instance]:
    """TM-MFA's instance on SQLite, without an identity yet."""
    instance = Instance(
        capsys, f"sqlite:///{tmp_path / 'tm.db'}", tmp_path / "tm.identity.key", "TM-MFA"
    )
    yield instance
    instance.close()


@pytest.fixture
def az(capsys: pytest.CaptureFixture[str], database_url: str, tmp_path: Path) -> Iterator[Instance]:
    """AZ-MFA's instance on the backend under test (SQLite or PostgreSQL)."""
    instance = Instance(capsys, database_url, tmp_path / "az.identity.key", "AZ-MFA")
    yield instance
    instance.close()
