"""Tamper evidence end to end: an edit behind the application's back is found by `events
verify`, and `db upgrade` refuses to migrate a log that fails verification unless forced.
So is a missing, altered or disabled append-only trigger; the daemon and the feed server
say so in one warning line at start, and keep running.

On SQLite the edit is made in the database file itself, as bytes, with the database closed
(no SQL, so no trigger can object). PostgreSQL keeps its data in files nobody should touch,
so there the edit is made as a superuser would: with the append-only triggers disabled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from consultations.adapters.eventlog import guards as log_guards
from consultations.bootstrap import bootstrap
from consultations.entrypoints.web import create_app
from consultations.settings import Settings
from tests.cli.runner import run_cli
from tests.projections.support import import_example, wire

HEAD = migrations.head_revision()
EARLIER = "0003"
# The cancellation of the September 2025 round: one character of its reason is rewritten.
STREAM = "meeting-pc-2025-q3"
ORIGINAL = "postponed to November 2025 (see pc-2025-q3-resched)."
FORGED = "postponed to November 2026 (see pc-2025-q3-resched)."
# The JSON around it, which only the event's stored payload has (read tables hold plain text).
ORIGINAL_JSON = f'{ORIGINAL}"}}'.encode()
FORGED_JSON = f'{FORGED}"}}'.encode()


def cancellation_position(capsys: pytest.CaptureFixture[str], database_url: str) -> int:
    """The log position of the cancellation, as `events log` reports it."""
    result = run_cli(capsys, database_url, "events", "log", "--stream", STREAM, "--format", "json")
    (cancelled,) = [
        row for row in json.loads(result.out) if row["event_type"] == "MeetingCancelled"
    ]
    assert cancelled["payload"]["reason"].endswith(ORIGINAL)
    position: int = cancelled["position"]
    return position


def edit_database_file(path: Path) -> None:
    """Rewrite the stored reason in the closed database file, keeping its length."""
    assert not Path(f"{path}-wal").exists(), "the database must be closed (WAL checkpointed)"
    data = path.read_bytes()
    assert data.count(ORIGINAL_JSON) >= 1
    assert len(FORGED_JSON) == len(ORIGINAL_JSON)
    path.write_bytes(data.replace(ORIGINAL_JSON, FORGED_JSON))


def edit_behind_the_triggers(engine: Engine, position: int) -> None:
    """The PostgreSQL equivalent: a superuser disables the triggers, updates, re-enables."""
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE events DISABLE TRIGGER USER"))
        connection.execute(
            sa.text(
                "UPDATE events SET payload = replace(payload::text, :old, :new)::json "
                "WHERE position = :position"
            ),
            {"old": ORIGINAL, "new": FORGED, "position": position},
        )
        connection.execute(sa.text("ALTER TABLE events ENABLE TRIGGER USER"))


@pytest.fixture
def example_url(database_url: str, engine: Engine) -> str:
    """A database holding the imported example plan, with every connection closed."""
    migrations.upgrade(engine)
    import_example(wire(engine))
    engine.dispose()
    return database_url


def tamper(engine: Engine, position: int) -> None:
    if engine.dialect.name == "sqlite":
        engine.dispose()
        database = engine.url.database
        assert database is not None
        edit_database_file(Path(database))
    else:
        edit_behind_the_triggers(engine, position)
        engine.dispose()


def revision(engine: Engine) -> str | None:
    current = migrations.current_revision(engine)
    engine.dispose()
    return current


def test_an_edit_behind_the_applications_back_is_found_and_blocks_upgrades(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    position = cancellation_position(capsys, example_url)
    assert run_cli(capsys, example_url, "events", "verify").code == 0
    tamper(engine, position)

    # The forged reason reads back as if it had always been there...
    log = run_cli(capsys, example_url, "events", "log", "--stream", STREAM, "--format", "json")
    assert FORGED in log.out
    # ...but the chain gives it away, naming the position of that event.
    verified = run_cli(capsys, example_url, "events", "verify")
    assert verified.code == 5
    assert verified.out == ""
    assert verified.err == f"error: events: position {position}: content does not match its hash\n"

    # Downgrading needs no verification; upgrading a tampered log is refused, writing nothing.
    assert run_cli(capsys, example_url, "db", "downgrade", EARLIER).code == 0
    refused = run_cli(capsys, example_url, "db", "upgrade")
    assert (refused.code, refused.out) == (5, "")
    assert refused.err == (
        f"error: events: position {position}: content does not match its hash; "
        "refusing to upgrade a log that fails verification (use --force to upgrade anyway)\n"
    )
    assert revision(engine) == EARLIER
    assert run_cli(capsys, example_url, "db", "upgrade", HEAD).code == 5
    assert revision(engine) == EARLIER

    # --force upgrades, with a warning; the log still fails verification afterwards.
    forced = run_cli(capsys, example_url, "db", "upgrade", "--force")
    assert forced.code == 0
    assert forced.out == f"database at revision {HEAD}\n"
    assert forced.err == (
        f"warning: events: position {position}: content does not match its hash; "
        "upgrading anyway (--force)\n"
    )
    assert revision(engine) == HEAD
    assert run_cli(capsys, example_url, "events", "verify").code == 5


def test_an_intact_log_upgrades_without_a_word(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    assert run_cli(capsys, example_url, "db", "downgrade", EARLIER).code == 0
    upgraded = run_cli(capsys, example_url, "db", "upgrade")
    assert (upgraded.code, upgraded.out, upgraded.err) == (0, f"database at revision {HEAD}\n", "")
    assert run_cli(capsys, example_url, "events", "verify").code == 0


def test_a_missing_tail_also_blocks_upgrades(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    with engine.begin() as connection:
        last = connection.execute(sa.text("SELECT max(position) FROM events")).scalar_one()
        if engine.dialect.name == "sqlite":
            connection.execute(sa.text("DROP TRIGGER events_no_delete"))
        else:
            connection.execute(sa.text("ALTER TABLE events DISABLE TRIGGER USER"))
        connection.execute(sa.text("DELETE FROM events WHERE position = :p"), {"p": last})
    engine.dispose()
    assert run_cli(capsys, example_url, "db", "downgrade", EARLIER).code == 0
    refused = run_cli(capsys, example_url, "db", "upgrade")
    assert refused.code == 5
    guards = (
        "trigger events_no_delete is missing"
        if engine.dialect.name == "sqlite"
        else "trigger events_append_only is disabled; trigger events_no_truncate is disabled"
    )
    assert refused.err == (
        f"error: events: position {last}: the log head says position {last}, "
        f"the log ends at {last - 1}; {guards}; refusing to upgrade a log that fails "
        "verification (use --force to upgrade anyway)\n"
    )
    assert revision(engine) == EARLIER


def test_an_empty_database_upgrades_as_before(
    capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    upgraded = run_cli(capsys, database_url, "db", "upgrade", "--force")
    assert (upgraded.code, upgraded.out, upgraded.err) == (0, f"database at revision {HEAD}\n", "")
    again = run_cli(capsys, database_url, "db", "upgrade")
    assert (again.code, again.err) == (0, "")


# -- the guards: append-only triggers missing, altered or disabled ------------------------

# The trigger that rejects UPDATE on `events`, per backend.
UPDATE_GUARD = {"sqlite": "events_no_update", "postgresql": "events_append_only"}
# A reject function that rejects nothing: every UPDATE and DELETE goes through.
NO_OP_FUNCTION = """
CREATE OR REPLACE FUNCTION consultations_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END
$$
"""


def state(engine: Engine) -> dict[str, Any]:
    """What a check must leave alone: the log, its head, the schema revision, the triggers."""
    with engine.connect() as connection:
        result = {
            "events": connection.execute(
                sa.text("SELECT position, hash, event_type FROM events ORDER BY position")
            ).all(),
            "head": connection.execute(sa.text("SELECT position, hash FROM event_log_head")).all(),
            "revision": connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            ).all(),
            "guards": log_guards.check_guards(connection),
        }
    engine.dispose()
    return result


def drop_update_guard(engine: Engine) -> str:
    name = UPDATE_GUARD[engine.dialect.name]
    on = " ON events" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP TRIGGER {name}{on}"))
    engine.dispose()
    return name


def verify_json(capsys: pytest.CaptureFixture[str], url: str) -> dict[str, Any]:
    result = run_cli(capsys, url, "events", "verify", "--format", "json")
    (row,) = json.loads(result.out)
    assert isinstance(row, dict)
    return row


def test_an_intact_database_reports_nothing(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    verified = run_cli(capsys, example_url, "events", "verify")
    assert (verified.code, verified.err) == (0, "")
    assert verified.out == "ok: 101 events, hash chain intact up to position 101\n"
    row = verify_json(capsys, example_url)
    assert (row["ok"], row["guards_ok"], row["guard_problems"]) == (True, True, [])
    with engine.connect() as connection:
        assert log_guards.check_guards(connection) == ()
    engine.dispose()


def test_a_dropped_update_trigger_fails_verification_and_blocks_upgrades(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    name = drop_update_guard(engine)
    before = state(engine)

    verified = run_cli(capsys, example_url, "events", "verify")
    assert (verified.code, verified.out) == (5, "")
    assert verified.err == f"error: events: trigger {name} is missing\n"
    row = verify_json(capsys, example_url)
    assert row == {
        "ok": False,
        "checked": 101,
        "last_position": 101,
        "first_bad_position": None,
        "problem": None,
        "guards_ok": False,
        "guard_problems": [f"trigger {name} is missing"],
        "exchange_problems": [],
    }
    assert state(engine) == before  # verifying repairs nothing, writes nothing

    assert run_cli(capsys, example_url, "db", "downgrade", EARLIER).code == 0
    before = state(engine)
    refused = run_cli(capsys, example_url, "db", "upgrade")
    assert (refused.code, refused.out) == (5, "")
    assert refused.err == (
        f"error: events: trigger {name} is missing; refusing to upgrade a log that fails "
        "verification (use --force to upgrade anyway)\n"
    )
    assert state(engine) == before

    forced = run_cli(capsys, example_url, "db", "upgrade", "--force")
    assert (forced.code, forced.out) == (0, f"database at revision {HEAD}\n")
    assert forced.err == f"warning: events: trigger {name} is missing; upgrading anyway (--force)\n"
    assert run_cli(capsys, example_url, "events", "verify").code == 5


def test_a_dropped_trigger_and_an_edited_row_are_both_reported(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    position = cancellation_position(capsys, example_url)
    name = drop_update_guard(engine)
    with engine.begin() as connection:  # nothing stops the edit now, and nothing is recreated
        connection.execute(
            sa.text("UPDATE events SET event_type = 'MeetingHeld' WHERE position = :p"),
            {"p": position},
        )
    before = state(engine)
    verified = run_cli(capsys, example_url, "events", "verify")
    assert (verified.code, verified.out) == (5, "")
    assert verified.err == (
        f"error: events: position {position}: content does not match its hash; "
        f"trigger {name} is missing\n"
    )
    row = verify_json(capsys, example_url)
    assert (row["ok"], row["first_bad_position"], row["guard_problems"]) == (
        False,
        position,
        [f"trigger {name} is missing"],
    )
    assert state(engine) == before


def test_an_altered_sqlite_trigger_is_reported(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's triggers; PostgreSQL's are altered through their function")
    with engine.begin() as connection:  # same name, but it never fires
        connection.execute(sa.text("DROP TRIGGER events_no_delete"))
        connection.execute(
            sa.text(
                "CREATE TRIGGER events_no_delete BEFORE DELETE ON events WHEN 0 "
                "BEGIN SELECT RAISE(ABORT, 'events is append-only: DELETE is not allowed'); END"
            )
        )
    before = state(engine)
    verified = run_cli(capsys, example_url, "events", "verify")
    assert (verified.code, verified.err) == (
        5,
        "error: events: trigger events_no_delete is altered\n",
    )
    assert state(engine) == before


def test_a_no_op_reject_function_is_reported_as_altered(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's triggers call a function")
    with engine.begin() as connection:
        connection.execute(sa.text(NO_OP_FUNCTION))
        # The triggers are still there and enabled, yet an edit now goes through.
        connection.execute(sa.text("UPDATE events SET event_type = 'X' WHERE position = 1"))
    before = state(engine)
    verified = run_cli(capsys, example_url, "events", "verify")
    assert (verified.code, verified.out) == (5, "")
    assert verified.err == (
        "error: events: position 1: content does not match its hash; "
        "function consultations_reject_change() is altered\n"
    )
    assert state(engine) == before
    refused = run_cli(capsys, example_url, "db", "upgrade")
    assert refused.code == 5
    assert state(engine) == before


def test_a_disabled_trigger_is_reported(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite cannot disable a trigger")
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
    before = state(engine)
    verified = run_cli(capsys, example_url, "events", "verify")
    assert (verified.code, verified.out) == (5, "")
    assert verified.err == "error: events: trigger events_append_only is disabled\n"
    assert verify_json(capsys, example_url)["guard_problems"] == [
        "trigger events_append_only is disabled"
    ]
    assert state(engine) == before


def damage_every_guard(engine: Engine) -> None:
    """Drop, alter and disable what can be, on either backend."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(sa.text("DROP TRIGGER events_no_update"))
            connection.execute(sa.text("DROP TRIGGER idempotency_keys_no_delete"))
            connection.execute(sa.text("DROP TRIGGER events_no_delete"))
            connection.execute(
                sa.text(
                    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT 1; END"
                )
            )
        else:
            connection.execute(sa.text(NO_OP_FUNCTION))
            connection.execute(sa.text("DROP TRIGGER events_no_truncate ON events"))
            connection.execute(
                sa.text("ALTER TABLE idempotency_keys DISABLE TRIGGER idempotency_keys_append_only")
            )
    engine.dispose()


def test_restore_guards_puts_every_trigger_back(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    damage_every_guard(engine)
    with engine.connect() as connection:
        damaged = log_guards.check_guards(connection)
    engine.dispose()
    assert len(damaged) == 3

    restored = run_cli(capsys, example_url, "db", "restore-guards")
    assert (restored.code, restored.err) == (0, "")
    assert restored.out.splitlines() == [f"guards: {problem}: restored" for problem in damaged]
    verified = run_cli(capsys, example_url, "events", "verify")
    assert (verified.code, verified.err) == (0, "")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("UPDATE events SET event_type = 'X' WHERE position = 1"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM events"))
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO idempotency_keys (key, first_position, last_position, recorded_at) "
                "VALUES ('k', 1, 1, CURRENT_TIMESTAMP)"
            )
        )
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM idempotency_keys WHERE key = 'k'"))
    engine.dispose()

    again = run_cli(capsys, example_url, "db", "restore-guards")
    assert (again.code, again.err) == (0, "")
    assert again.out == "guards: every append-only trigger is in place; nothing to do\n"


def test_restore_guards_leaves_a_broken_chain_broken(
    capsys: pytest.CaptureFixture[str], example_url: str, engine: Engine
) -> None:
    name = drop_update_guard(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE events SET event_type = 'X' WHERE position = 2"))
    engine.dispose()
    restored = run_cli(capsys, example_url, "db", "restore-guards")
    assert restored.out == f"guards: trigger {name} is missing: restored\n"
    verified = run_cli(capsys, example_url, "events", "verify")
    assert verified.code == 5
    assert verified.err == "error: events: position 2: content does not match its hash\n"


# -- the daemon and the feed server: one warning line at start, and they keep running -----


def run_daemon_once(url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consultations", "--database-url", url, "daemon", "--once"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=tmp_path,  # no consultations.toml here: the console channel only
    )


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " WARNING " in line]


def test_the_daemon_warns_once_at_start_about_a_tampered_log(
    example_url: str, engine: Engine, tmp_path: Path
) -> None:
    intact = run_daemon_once(example_url, tmp_path)
    assert intact.returncode == 0, intact.stderr
    assert warnings_in(intact.stderr) == []

    position = cancellation_position_sql(engine)
    name = drop_update_guard(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE events SET event_type = 'MeetingHeld' WHERE position = :p"),
            {"p": position},
        )
    before = state(engine)
    tampered = run_daemon_once(example_url, tmp_path)
    assert tampered.returncode == 0, tampered.stderr  # it keeps running
    (line,) = warnings_in(tampered.stderr)
    assert line.endswith(
        "WARNING consultations.daemon: event log failed verification: events: position "
        f"{position}: content does not match its hash; trigger {name} is missing; the daemon "
        "keeps running (run `consultations events verify`; see docs/operations.md, "
        "Tamper evidence)"
    )
    assert "sweep:" in tampered.stdout
    assert state(engine) == before  # the log and its guards are left as they were


def cancellation_position_sql(engine: Engine) -> int:
    with engine.connect() as connection:
        position: int = connection.execute(
            sa.text(
                "SELECT position FROM events WHERE stream_id = :s AND event_type = 'MeetingCancelled'"
            ),
            {"s": STREAM},
        ).scalar_one()
    engine.dispose()
    return position


def start_feed_server(url: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Start the feed server's application, wait for its start-up check, return the warnings."""
    app = bootstrap(Settings.load(url))
    server = create_app(app)

    async def start_up() -> None:
        async with server.router.lifespan_context(server):
            server.state.log_check.join(timeout=60)
            assert not server.state.log_check.is_alive()

    caplog.clear()
    try:
        with caplog.at_level(logging.INFO):
            asyncio.run(start_up())
    finally:
        app.close()
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name.startswith("consultations")
    ]


def test_the_feed_server_warns_once_at_start_about_missing_guards(
    example_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    assert start_feed_server(example_url, caplog) == []
    name = drop_update_guard(engine)
    before = state(engine)
    (warning,) = start_feed_server(example_url, caplog)
    assert warning == (
        f"event log failed verification: events: trigger {name} is missing; the feed server "
        "keeps running (run `consultations events verify`; see docs/operations.md, "
        "Tamper evidence)"
    )
    assert "\n" not in warning
    assert state(engine) == before
