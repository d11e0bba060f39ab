"""Tamper evidence end to end: an edit behind the application's back is found by `events
verify`, and `db upgrade` refuses to migrate a log that fails verification unless forced.

On SQLite the edit is made in the database file itself, as bytes, with the database closed
(no SQL, so no trigger can object). PostgreSQL keeps its data in files nobody should touch,
so there the edit is made as a superuser would: with the append-only triggers disabled.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from consultations.adapters import migrations
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
    assert refused.err.startswith(
        f"error: events: position {last}: the log head says position {last}, "
        f"the log ends at {last - 1}; refusing to upgrade"
    )
    assert revision(engine) == EARLIER


def test_an_empty_database_upgrades_as_before(
    capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    upgraded = run_cli(capsys, database_url, "db", "upgrade", "--force")
    assert (upgraded.code, upgraded.out, upgraded.err) == (0, f"database at revision {HEAD}\n", "")
    again = run_cli(capsys, database_url, "db", "upgrade")
    assert (again.code, again.err) == (0, "")
