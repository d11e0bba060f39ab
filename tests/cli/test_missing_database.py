"""Reads never write: only `db upgrade` creates the database file and its folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from consultations.entrypoints.cli import main
from tests.cli.runner import Result
from tests.support.reference_session import EXAMPLE

MISSING = "does not exist; run `consultations db upgrade` to create it"
COMMANDS = [
    ["schedule"],
    ["schedule", "--track", "strategy-workshop"],
    ["report", "compliance"],
    ["report", "actions"],
    ["party", "list"],
    ["track", "show", "strategy-workshop"],
    ["meeting", "show", "pdb-2026-q4"],
    ["events", "log"],
    ["events", "verify"],
    ["db", "current"],
    ["projections", "status"],
    ["reminders", "list"],
    ["feed", "export", "--scope", "all", "-o", "all.ics"],
    # Writes need the schema too: they say so rather than leave an empty file behind.
    ["party", "add", "TM-MFA", "--name", "MFA", "--tz", "Asia/Ashgabat"],
    ["plan", "import", str(EXAMPLE)],
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    code = exited.value.code
    return Result(code if isinstance(code, int) else 1, captured.out, captured.err)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, with the default database URL (var/consultations.db)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONSULTATIONS_DATABASE_URL", raising=False)
    return tmp_path


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_a_command_on_a_missing_database_says_so_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], workdir: Path, args: list[str]
) -> None:
    result = run(capsys, *args)

    assert (result.code, result.out) == (1, "")
    assert result.err == f"error: database: var/consultations.db {MISSING}\n"
    assert list(workdir.iterdir()) == []


def test_a_missing_database_named_by_url_is_not_created_either(
    capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    database = workdir / "elsewhere" / "consultations.db"

    result = run(capsys, "--database-url", f"sqlite:///{database}", "schedule")

    assert (result.code, result.err) == (1, f"error: database: {database} {MISSING}\n")
    assert list(workdir.iterdir()) == []


def test_db_upgrade_creates_the_database_and_then_reads_work(
    capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    assert run(capsys, "db", "upgrade").code == 0
    assert (workdir / "var" / "consultations.db").is_file()

    result = run(capsys, "schedule", "--format", "json")

    assert (result.code, result.out, result.err) == (0, "[\n]\n", "")
