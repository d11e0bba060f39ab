"""Alembic owns the schema: migrations go up, down and up again, and match the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext as AlembicContext
from alembic.script import ScriptDirectory
from pytest_alembic import Config, MigrationContext, runner
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from consultations.adapters.eventlog import SqlEventLog
from consultations.adapters.eventlog import guards as log_guards
from consultations.domain.events import AreaRegistered

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@pytest.fixture
def alembic_runner(engine: Engine) -> Iterator[MigrationContext]:
    """pytest-alembic's runner on the backend under test (its built-in tests use it)."""
    config = Config(
        config_options={"script_location": migrations.script_location(), "path_separator": "os"}
    )
    with runner(config=config, engine=engine) as alembic_runner:
        yield alembic_runner


def tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_restores_a_working_log(engine: Engine) -> None:
    migrations.upgrade(engine)
    assert migrations.current_revision(engine) == migrations.head_revision()
    assert {
        "events",
        "event_log_head",
        "idempotency_keys",
        "schedule",
        "compliance_windows",
    } <= tables(engine)
    assert {"v_schedule", "v_compliance_windows", "v_compliance_by_area", "v_action_items"} <= set(
        sa.inspect(engine).get_view_names()
    )

    migrations.downgrade(engine, "base")
    assert migrations.current_revision(engine) is None
    assert tables(engine) == set()
    assert sa.inspect(engine).get_view_names() == []

    migrations.upgrade(engine)
    store = SqlEventLog(engine)
    assert store.append("area-a", 0, [AreaRegistered("a", "again")]) == [1]
    # The triggers came back with the tables.
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM events"))
    assert store.verify().ok


def test_the_revisions_read_without_alembic_are_alembics(engine: Engine) -> None:
    """Every command checks the schema without importing Alembic; Alembic agrees at each step."""

    def alembics() -> str | None:
        with engine.connect() as connection:
            return AlembicContext.configure(connection).get_current_revision()

    scripts = ScriptDirectory.from_config(migrations.alembic_config())
    assert migrations.head_revision() == scripts.get_current_head()
    assert migrations.current_revision(engine) is None
    assert alembics() is None
    for script in reversed(list(scripts.walk_revisions())):  # from the first to the head
        migrations.upgrade(engine, script.revision)
        assert migrations.current_revision(engine) == alembics() == script.revision


def test_the_head_is_the_revision_no_script_revises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    monkeypatch.setattr(migrations, "_scripts", lambda: (str(tmp_path), tmp_path))

    def heads(text: str, name: str) -> set[str]:
        (versions / f"{name}.py").write_text(text, encoding="utf-8")
        return set(ScriptDirectory(str(tmp_path)).get_heads())

    assert heads('revision = "a"\ndown_revision = None\n', "a") == {"a"}
    assert heads('revision: str = "b"\ndown_revision: str | None = "a"\n', "b") == {"b"}
    assert migrations.head_revision() == "b"
    assert heads("revision = 'c'  # a branch\ndown_revision = 'a'\n", "c") == {"b", "c"}
    with pytest.raises(RuntimeError, match="2 heads"):
        migrations.head_revision()
    assert heads('revision = "d"\ndown_revision = ("b", "c")\n', "d") == {"d"}
    assert migrations.head_revision() == "d"


def test_idempotency_keys_recorded_before_fingerprints_keep_repeating(engine: Engine) -> None:
    migrations.upgrade(engine, "0007")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO idempotency_keys (key, first_position, last_position, recorded_at) "
                "VALUES ('old', 1, 2, '2026-12-01 00:00:00+00')"
            )
        )
    migrations.upgrade(engine)

    # No fingerprint was kept for it: whatever command repeats it gets the first result.
    assert SqlEventLog(engine).recorded_result("old", "a fingerprint") == [1, 2]


def test_downgrade_of_a_failed_step_leaves_nothing_half_done(engine: Engine) -> None:
    with pytest.raises(Exception, match="nonexistent"):
        migrations.upgrade(engine, "nonexistent")
    assert migrations.current_revision(engine) is None
    assert tables(engine) == set()


def test_each_revision_goes_down_one_step_and_up_again(engine: Engine) -> None:
    """From the head, each step down and back up leaves the schema as the head made it."""
    migrations.upgrade(engine)
    head_columns = {
        table: {column["name"] for column in sa.inspect(engine).get_columns(table)}
        for table in tables(engine)
    }
    revisions = []
    while (current := migrations.current_revision(engine)) is not None:
        revisions.append(current)
        migrations.downgrade(engine, "-1")
    for revision in reversed(revisions):
        migrations.upgrade(engine, revision)
        migrations.downgrade(engine, "-1")
        migrations.upgrade(engine, revision)
    assert migrations.current_revision(engine) == migrations.head_revision()
    assert {
        table: {column["name"] for column in sa.inspect(engine).get_columns(table)}
        for table in tables(engine)
    } == head_columns


# What migration 0001 has always run (copied from its text before the guards were described
# in log_guards): databases created by it must keep verifying as intact, so the description
# must keep producing exactly these statements.
RELEASED_0001_GUARDS = {
    "sqlite": [
        f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} is not allowed'); END"
        for table in ("events", "idempotency_keys")
        for operation in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "\nCREATE FUNCTION consultations_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP\n"
        "        USING ERRCODE = 'restrict_violation';\n"
        "END\n"
        "$$\n",
        *(
            statement
            for table in ("events", "idempotency_keys")
            for statement in (
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION consultations_reject_change()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION consultations_reject_change()",
            )
        ),
    ],
}


def test_migration_0001_creates_the_guards_it_always_did(migrated_engine: Engine) -> None:
    dialect = migrated_engine.dialect.name
    assert log_guards.create_statements(dialect) == RELEASED_0001_GUARDS[dialect]
    with migrated_engine.connect() as connection:
        assert log_guards.check_guards(connection) == ()


def test_working_calendars_add_a_country_and_closures_without_a_rebuild(engine: Engine) -> None:
    migrations.upgrade(engine, "0009")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO parties (party_id, name, tz, departments) "
                "VALUES ('TM-MFA', 'MFA', 'Asia/Ashgabat', '[]')"
            )
        )
    migrations.upgrade(engine, "0010")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT country FROM parties")).all() == [(None,)]
        assert connection.execute(sa.text("SELECT count(*) FROM party_closures")).scalar() == 0
    migrations.downgrade(engine, "0009")
    assert "party_closures" not in tables(engine)
    assert "country" not in {c["name"] for c in sa.inspect(engine).get_columns("parties")}
