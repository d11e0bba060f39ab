"""The append-only guards of the event log: the triggers that reject UPDATE, DELETE, TRUNCATE.

The guards are described once, here. Migration 0001 creates them from these descriptions,
and :func:`check_guards` compares what the database holds with the same descriptions, so the
two cannot drift apart:

- SQLite keeps the text of each ``CREATE TRIGGER`` in ``sqlite_master``; it must equal the
  statement below (whitespace aside). SQLite cannot disable a trigger.
- PostgreSQL: every trigger must exist on its table, be enabled (``pg_trigger.tgenabled``
  ``O`` or ``A``), call the reject function, and read back (``pg_get_triggerdef``) as the
  description says (timing, events, row or statement, no ``WHEN``, no arguments). The reject
  function must keep its body (whitespace aside), language and return type.

These are the guards migration 0001 creates; a later migration that changes them must give
the check its new description, never edit these (databases created by 0001 hold them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from consultations.adapters.eventlog.hash_chain import ChainReport

APPEND_ONLY_TABLES = ("events", "idempotency_keys")
REJECT_FUNCTION = "consultations_reject_change"
REJECT_FUNCTION_BODY = """
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
"""
_PG_EVENT_ORDER = ("INSERT", "DELETE", "UPDATE", "TRUNCATE")  # as pg_get_triggerdef lists them
_PG_ENABLED = frozenset({"O", "A"})  # D: disabled; R: fires only on replicas


def _normalised(sql: str) -> str:
    return " ".join(sql.split())


@dataclass(frozen=True, slots=True)
class Guard:
    """One trigger keeping a table append-only."""

    name: str
    table: str
    operations: tuple[str, ...]
    """The statements it rejects, as the migration writes them (``UPDATE``, ``DELETE`` …)."""
    level: str = "ROW"
    """``ROW`` or ``STATEMENT`` (PostgreSQL; SQLite triggers are always per row)."""

    def create_sql(self, dialect: str) -> str:
        """The ``CREATE TRIGGER`` statement migration 0001 runs on ``dialect``."""
        operations = " OR ".join(self.operations)
        if dialect == "postgresql":
            return (
                f"CREATE TRIGGER {self.name} BEFORE {operations} ON {self.table} "
                f"FOR EACH {self.level} EXECUTE FUNCTION {REJECT_FUNCTION}()"
            )
        message = f"{self.table} is append-only: {operations} is not allowed"
        return (
            f"CREATE TRIGGER {self.name} BEFORE {operations} ON {self.table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )

    def drop_sql(self, dialect: str, *, if_exists: bool = False) -> str:
        """The ``DROP TRIGGER`` statement for ``dialect``."""
        exists = "IF EXISTS " if if_exists else ""
        on = f" ON {self.table}" if dialect == "postgresql" else ""
        return f"DROP TRIGGER {exists}{self.name}{on}"

    def pg_definition(self, schema: str) -> str:
        """What ``pg_get_triggerdef`` returns for this trigger on a table in ``schema`` (quoted)."""
        operations = " OR ".join(o for o in _PG_EVENT_ORDER if o in self.operations)
        return (
            f"CREATE TRIGGER {self.name} BEFORE {operations} ON {schema}.{self.table} "
            f"FOR EACH {self.level} EXECUTE FUNCTION {REJECT_FUNCTION}()"
        )


SQLITE_GUARDS = tuple(
    Guard(f"{table}_no_{operation.lower()}", table, (operation,))
    for table in APPEND_ONLY_TABLES
    for operation in ("UPDATE", "DELETE")
)
POSTGRESQL_GUARDS = tuple(
    guard
    for table in APPEND_ONLY_TABLES
    for guard in (
        Guard(f"{table}_append_only", table, ("UPDATE", "DELETE")),
        Guard(f"{table}_no_truncate", table, ("TRUNCATE",), level="STATEMENT"),
    )
)
PG_REJECT_FUNCTION_SQL = f"""
CREATE FUNCTION {REJECT_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $${REJECT_FUNCTION_BODY}$$
"""


def guards(dialect: str) -> tuple[Guard, ...]:
    """The guards a database on ``dialect`` must hold."""
    return POSTGRESQL_GUARDS if dialect == "postgresql" else SQLITE_GUARDS


def create_statements(dialect: str) -> list[str]:
    """Every statement creating the guards, in order (what migration 0001 runs)."""
    statements = [PG_REJECT_FUNCTION_SQL] if dialect == "postgresql" else []
    return statements + [guard.create_sql(dialect) for guard in guards(dialect)]


def drop_statements(dialect: str) -> list[str]:
    """Every statement dropping the guards, in order (what migration 0001's downgrade runs)."""
    statements = [guard.drop_sql(dialect) for guard in reversed(guards(dialect))]
    return statements + ([f"DROP FUNCTION {REJECT_FUNCTION}()"] if dialect == "postgresql" else [])


def restore_statements(dialect: str) -> list[str]:
    """Statements putting every guard back as described, whatever state it is in now.

    On PostgreSQL the reject function is dropped with whatever uses it (only triggers can)
    and created again, then every trigger; on SQLite each trigger is dropped if it exists and
    created again. Run them in one transaction.
    """
    if dialect == "postgresql":
        dropped = [f"DROP FUNCTION IF EXISTS {REJECT_FUNCTION}() CASCADE"]
        dropped += [guard.drop_sql(dialect, if_exists=True) for guard in guards(dialect)]
    else:
        dropped = [guard.drop_sql(dialect, if_exists=True) for guard in guards(dialect)]
    return dropped + create_statements(dialect)


def check_guards(connection: Connection) -> tuple[str, ...]:
    """What is wrong with the guards, one phrase each (empty when all are in place).

    Phrases read ``trigger events_no_update is missing``, ``… is altered``,
    ``… is disabled`` or ``function consultations_reject_change() is altered``.
    """
    if connection.dialect.name == "postgresql":
        return _check_postgresql(connection)
    return _check_sqlite(connection)


def _check_sqlite(connection: Connection) -> tuple[str, ...]:
    rows = connection.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    ).all()
    found: Mapping[str, str] = {row.name: row.sql or "" for row in rows}
    problems = []
    for guard in SQLITE_GUARDS:
        if guard.name not in found:
            problems.append(f"trigger {guard.name} is missing")
        elif _normalised(found[guard.name]) != _normalised(guard.create_sql("sqlite")):
            problems.append(f"trigger {guard.name} is altered")
    return tuple(problems)


_PG_FUNCTION = sa.text(
    "SELECT p.oid, p.prosrc, l.lanname, p.prorettype = 'trigger'::regtype AS returns_trigger "
    "FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
    "WHERE p.oid = to_regprocedure(:signature)"
)
_PG_TRIGGERS = sa.text(
    "SELECT t.tgname, c.relname, quote_ident(n.nspname) AS nspname, t.tgenabled, t.tgfoid, "
    "pg_get_triggerdef(t.oid) AS definition "
    "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE NOT t.tgisinternal AND t.tgrelid = ANY(CAST(:tables AS regclass[]))"
)


def _check_postgresql(connection: Connection) -> tuple[str, ...]:
    problems: list[str] = []
    function = connection.execute(_PG_FUNCTION, {"signature": f"{REJECT_FUNCTION}()"}).one_or_none()
    if function is None:
        problems.append(f"function {REJECT_FUNCTION}() is missing")
    elif (
        _normalised(function.prosrc) != _normalised(REJECT_FUNCTION_BODY)
        or function.lanname != "plpgsql"
        or not function.returns_trigger
    ):
        problems.append(f"function {REJECT_FUNCTION}() is altered")
    rows = connection.execute(_PG_TRIGGERS, {"tables": list(APPEND_ONLY_TABLES)}).all()
    found = {(row.relname, row.tgname): row for row in rows}
    for guard in POSTGRESQL_GUARDS:
        row = found.get((guard.table, guard.name))
        if row is None:
            problems.append(f"trigger {guard.name} is missing")
            continue
        if (
            _normalised(row.definition) != _normalised(guard.pg_definition(row.nspname))
            or function is None
            or row.tgfoid != function.oid
        ):
            problems.append(f"trigger {guard.name} is altered")
        if row.tgenabled not in _PG_ENABLED:
            problems.append(f"trigger {guard.name} is disabled")
    return tuple(problems)


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    """The hash chain and the guards together: what ``events verify`` and the others report."""

    chain: ChainReport
    guard_problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the chain checks out and every guard is in place."""
        return self.chain.ok and not self.guard_problems

    @property
    def problems(self) -> list[str]:
        """Everything found, the chain's first bad position first."""
        chain = (
            []
            if self.chain.ok
            else [f"position {self.chain.first_bad_position}: {self.chain.problem}"]
        )
        return chain + list(self.guard_problems)

    def describe(self) -> str:
        """All problems on one line, e.g. ``events: trigger events_no_update is missing``."""
        return "events: " + "; ".join(self.problems)

    def start_up_warning(self, process: str) -> str:
        """The one line a long-running ``process`` logs at start when the log fails."""
        return (
            f"event log failed verification: {self.describe()}; the {process} keeps running "
            "(run `consultations events verify`; see docs/operations.md, Tamper evidence)"
        )


def integrity_report(chain: ChainReport, connection: Connection) -> IntegrityReport:
    """Combine a chain verification with a check of the guards over ``connection``."""
    return IntegrityReport(chain, check_guards(connection))


def restore_guards(connection: Connection) -> Sequence[str]:
    """Put every guard back (in the caller's transaction); return what was wrong before."""
    problems = check_guards(connection)
    if problems:
        for statement in restore_statements(connection.dialect.name):
            connection.execute(sa.text(statement))
    return problems
