"""`db` and `events` commands through the CLI, on both backends."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters.eventlog import SqlEventLog
from consultations.adapters.migrations import head_revision
from consultations.domain.events import AreaRegistered
from tests.cli.runner import run_cli

HEAD = head_revision()


def seed(engine: Engine, count: int = 3) -> SqlEventLog:
    """Areas registered straight through the store (the CLI projects them on first use)."""
    store = SqlEventLog(engine)
    for number in range(count):
        event = AreaRegistered(area_id=f"a{number}", name=f"Məsləhətləşmə {number}")
        store.append(f"area-a{number}", 0, [event], metadata={"actor": "az"})
    return store


def tamper(engine: Engine, position: int) -> None:
    """Change a row behind the triggers' back, as someone with file or superuser access could."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(sa.text("DROP TRIGGER events_no_update"))
        else:
            connection.execute(sa.text("ALTER TABLE events DISABLE TRIGGER USER"))
        connection.execute(
            sa.text("UPDATE events SET payload = :p WHERE position = :pos"),
            {"p": json.dumps({"area_id": "a1", "name": "rewritten"}), "pos": position},
        )


def created(engine: Engine) -> None:
    """Make the empty database exist (SQLite creates its file on the first connection)."""
    with engine.connect():
        pass


def test_db_upgrade_current_downgrade(
    capsys: pytest.CaptureFixture[str], database_url: str, engine: Engine
) -> None:
    created(engine)
    result = run_cli(capsys, database_url, "db", "current", "--format", "json")
    assert result.code == 0
    assert json.loads(result.out)[0] | {"database": None} == {
        "database": None,
        "revision": None,
        "head": HEAD,
        "up_to_date": False,
        "events": None,
    }
    assert (
        run_cli(capsys, database_url, "db", "upgrade").out.strip() == f"database at revision {HEAD}"
    )
    (status,) = json.loads(run_cli(capsys, database_url, "db", "current", "--format", "json").out)
    assert (status["revision"], status["up_to_date"], status["events"]) == (HEAD, True, 0)
    assert run_cli(capsys, database_url, "db", "downgrade", "base").out.strip() == (
        "database at revision none"
    )


def test_commands_refuse_a_database_that_was_not_upgraded(
    capsys: pytest.CaptureFixture[str], database_url: str, engine: Engine
) -> None:
    created(engine)
    result = run_cli(capsys, database_url, "events", "log")
    assert result.code == 1
    assert result.err.strip() == (
        f"error: database: schema is at revision none, this version needs {HEAD}; "
        "run `consultations db upgrade`"
    )


def test_events_log_in_every_format(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine
) -> None:
    seed(migrated_engine)
    as_json = json.loads(run_cli(capsys, database_url, "events", "log", "--format", "json").out)
    assert [row["position"] for row in as_json] == [1, 2, 3]
    assert as_json[1]["payload"] == {"area_id": "a1", "name": "Məsləhətləşmə 1"}
    assert as_json[1]["actor"] == "az"

    after = json.loads(
        run_cli(capsys, database_url, "events", "log", "--after", "1", "--format", "json").out
    )
    assert [row["position"] for row in after] == [2, 3]
    one = run_cli(capsys, database_url, "events", "log", "--stream", "area-a2", "--format", "csv")
    lines = one.out.strip().splitlines()
    assert lines[0].startswith("position,stream_id,stream_version,event_type")
    assert len(lines) == 2
    assert lines[1].startswith("3,area-a2,1,AreaRegistered")
    table = run_cli(capsys, database_url, "events", "log")
    assert table.code == 0
    assert "area-a2" in table.out
    assert "Məsləhətləşmə" in table.out
    assert "metadata" not in table.out  # the table keeps to the columns a person reads


def test_verify_passes_on_an_intact_log(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine
) -> None:
    seed(migrated_engine)
    result = run_cli(capsys, database_url, "events", "verify")
    assert (result.code, result.err) == (0, "")
    assert result.out.strip() == "ok: 3 events, hash chain intact up to position 3"


def test_verify_names_the_first_altered_row(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine
) -> None:
    seed(migrated_engine, count=4)
    tamper(migrated_engine, position=2)
    # The tamperer left the trigger dropped (SQLite) or disabled (PostgreSQL): said too.
    guards = (
        ["trigger events_no_update is missing"]
        if migrated_engine.dialect.name == "sqlite"
        else ["trigger events_append_only is disabled", "trigger events_no_truncate is disabled"]
    )
    result = run_cli(capsys, database_url, "events", "verify")
    assert result.code == 5
    assert result.err.strip() == (
        f"error: events: position 2: content does not match its hash; {'; '.join(guards)}"
    )
    as_json = json.loads(run_cli(capsys, database_url, "events", "verify", "--format", "json").out)
    assert as_json == [
        {
            "ok": False,
            "checked": 1,
            "last_position": 1,
            "first_bad_position": 2,
            "problem": "content does not match its hash",
            "guards_ok": False,
            "guard_problems": guards,
            "exchange_problems": [],  # checked once the log itself is intact
        }
    ]


def test_verify_notices_a_removed_tail(
    capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine
) -> None:
    seed(migrated_engine, count=3)
    with migrated_engine.begin() as connection:
        if migrated_engine.dialect.name == "sqlite":
            connection.execute(sa.text("DROP TRIGGER events_no_delete"))
        else:
            connection.execute(sa.text("ALTER TABLE events DISABLE TRIGGER USER"))
        connection.execute(sa.text("DELETE FROM events WHERE position = 3"))
    result = run_cli(capsys, database_url, "events", "verify")
    assert result.code == 5
    assert "position 3: the log head says position 3, the log ends at 2" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["events", "log", "--after", "soon"], "Invalid value for '--after'"),
        (["events", "log", "--format", "xml"], "Invalid value for '--format'"),
        (["events", "frobnicate"], "No such command 'frobnicate'"),
        (["db", "downgrade"], "Missing argument 'REVISION'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], database_url: str, args: list[str], message: str
) -> None:
    result = run_cli(capsys, database_url, *args)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith("error: ")
    assert message in result.err


def test_unsupported_database_url_is_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "mysql://localhost/x", "events", "log")
    assert result.code == 2
    assert (
        result.err.strip()
        == "error: database-url: unsupported backend 'mysql'; use sqlite:/// or postgresql://"
    )


def test_the_installed_command_prints_no_traceback(database_url: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "consultations", "--database-url", database_url, "events", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stderr.count("\n") == 1
