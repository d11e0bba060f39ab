"""Only the event-log package (and the Alembic migrations) may touch the log's tables."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "consultations"
OWNERS = (PACKAGE / "adapters" / "eventlog", PACKAGE / "migrations")
LOG_TABLES = {"events", "event_log_head", "idempotency_keys"}


def log_tables_used(tree: ast.AST) -> set[str]:
    """Log tables imported from ``adapters.orm``, or reached through the module."""
    used: set[str] = set()
    orm_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "consultations.adapters.orm":
            used |= {alias.name for alias in node.names} & LOG_TABLES
        elif isinstance(node, ast.ImportFrom) and node.module == "consultations.adapters":
            orm_names |= {alias.asname or alias.name for alias in node.names if alias.name == "orm"}
        elif isinstance(node, ast.Import):
            used |= {
                alias.name for alias in node.names if alias.name == "consultations.adapters.orm"
            }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in orm_names
            and node.attr in LOG_TABLES
        ):
            used.add(node.attr)
    return used


def test_no_module_outside_the_event_log_package_uses_the_log_tables() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(used)
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path.is_relative_to(owner) for owner in OWNERS)
        and (used := log_tables_used(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}


def test_the_check_finds_each_way_of_reaching_a_log_table() -> None:
    sources = [
        "from consultations.adapters.orm import events",
        "from consultations.adapters.orm import schedule, event_log_head as head",
        "from consultations.adapters import orm\norm.idempotency_keys.select()",
        "import consultations.adapters.orm",
    ]
    assert [bool(log_tables_used(ast.parse(source))) for source in sources] == [True] * 4
    harmless = "from consultations.adapters.orm import schedule\nfrom x import events"
    assert not log_tables_used(ast.parse(harmless))
