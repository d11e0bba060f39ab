"""Start-up: each command imports what it needs; `--help` lists every command importing none.

Every command used to import Alembic (with Mako and Pygments), the web server and the
scheduler (uvicorn, Starlette, APScheduler, httpx) and the feed renderer (ics, with tatsu
and arrow). Each probe runs the CLI in a fresh interpreter and reports what ``sys.modules``
holds once it is done. The times are in docs/performance.md ("Start-up"); no test here
measures one.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from sqlalchemy.engine import Engine

from consultations.adapters import migrations
from consultations.entrypoints.cli import COMMANDS, FAILURES, cli

PROBE = """
import json, sys
from consultations.entrypoints.cli import main
try:
    main(sys.argv[2:])
except SystemExit as exited:
    code = exited.code
with open(sys.argv[1], "w", encoding="utf-8") as report:
    json.dump({"code": code, "modules": sorted(sys.modules)}, report)
"""

MIGRATIONS = {"alembic", "mako", "pygments"}
SERVER_AND_SCHEDULER = {"uvicorn", "starlette", "apscheduler", "httpx"}
FEEDS = {"ics", "tatsu", "arrow"}
SIGNING = {"cryptography"}  # the exchange's keys: identity, peer and sync commands only
ONLY_WHERE_NEEDED = MIGRATIONS | SERVER_AND_SCHEDULER | FEEDS | SIGNING
CLI = "consultations.entrypoints.cli."
COMMAND_MODULES = {CLI + lazy.target.partition(":")[0] for lazy in COMMANDS.values()}


@dataclass
class Probe:
    code: int
    out: str
    err: str
    modules: set[str]

    @property
    def packages(self) -> set[str]:
        """The top-level packages imported (``sqlalchemy`` for ``sqlalchemy.engine``)."""
        return {name.partition(".")[0] for name in self.modules}

    @property
    def commands(self) -> set[str]:
        """The command modules imported."""
        return self.modules & COMMAND_MODULES


def probe(folder: Path, *args: str) -> Probe:
    """Run ``consultations ARGS`` in a new interpreter (in ``folder``, at 80 columns)."""
    report = folder / "probe.json"
    report.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULTATIONS_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=folder,
        env={**env, "COLUMNS": "80"},
    )
    assert done.returncode == 0, done.stderr  # the probe itself ran to the end
    found = json.loads(report.read_text(encoding="utf-8"))
    return Probe(found["code"], done.stdout, done.stderr, set(found["modules"]))


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_import_no_command_and_no_database_library(
    tmp_path: Path, option: str
) -> None:
    result = probe(tmp_path, option)
    assert result.code == 0, result.err
    assert result.packages & (ONLY_WHERE_NEEDED | {"sqlalchemy", "rich"}) == set()
    assert result.commands == set()


def test_help_lists_every_command_with_the_short_help_click_gives_it(tmp_path: Path) -> None:
    listed = probe(tmp_path, "--help").out.split("Commands:\n", 1)[1]
    context = click.Context(cli)
    loaded = {name: cli.get_command(context, name) for name in COMMANDS}
    formatter = click.HelpFormatter(width=78)  # what click uses at 80 columns
    click.Group(commands=loaded).format_commands(context, formatter)
    assert listed == formatter.getvalue().split("Commands:\n", 1)[1]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_gives_each_command_its_docstring(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert command.help is not None
    assert COMMANDS[name].help == " ".join(command.help.split("\n\n")[0].split())


def test_a_mistyped_command_is_answered_with_the_closest_one(tmp_path: Path) -> None:
    result = probe(tmp_path, "shedule")
    assert (result.code, result.err) == (
        2,
        "error: No such command 'shedule'. Did you mean 'schedule'?\n",
    )
    assert result.packages & (ONLY_WHERE_NEEDED | {"sqlalchemy"}) == set()
    assert result.commands == set()


@pytest.mark.parametrize(("module", "name"), sorted({(m, n) for m, n, _, _ in FAILURES}))
def test_each_failure_names_an_exception(module: str, name: str) -> None:
    assert issubclass(getattr(importlib.import_module(module), name), Exception)


@pytest.mark.parametrize(
    ("args", "module"),
    [
        (["schedule"], "schedule_commands"),
        (["party", "list"], "party_commands"),
        (["meeting", "plan", "--title", "T", "--start", "2030-01-01 10:00", "--tz", "UTC"],
         "meeting_commands"),
    ],
    ids=["schedule", "party list", "meeting plan"],
)  # fmt: skip
def test_a_command_imports_its_own_module_and_nothing_it_does_not_need(
    database_url: str, migrated_engine: Engine, tmp_path: Path, args: list[str], module: str
) -> None:
    result = probe(tmp_path, "--database-url", database_url, *args)
    assert result.code == 0, result.err
    assert result.packages & ONLY_WHERE_NEEDED == set()
    assert result.commands == {CLI + module}


def test_the_schema_check_refuses_an_old_database_without_alembic(
    database_url: str, migrated_engine: Engine, tmp_path: Path
) -> None:
    migrations.downgrade(migrated_engine, "0001")
    result = probe(tmp_path, "--database-url", database_url, "schedule")
    assert result.code == 1
    assert "schema is at revision 0001" in result.err
    assert result.packages & MIGRATIONS == set()


def test_what_needs_them_imports_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'probe.db'}"
    upgraded = probe(tmp_path, "--database-url", url, "db", "upgrade")
    assert upgraded.code == 0, upgraded.err
    assert "alembic" in upgraded.packages

    feed = tmp_path / "all.ics"
    exported = probe(tmp_path, "--database-url", url, "feed", "export", "--scope", "all", "-o", str(feed))  # fmt: skip
    assert exported.code == 0, exported.err
    assert feed.read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert "ics" in exported.packages
    assert exported.packages & (MIGRATIONS | SERVER_AND_SCHEDULER) == set()

    swept = probe(tmp_path, "--database-url", url, "daemon", "--once")
    assert swept.code == 0, swept.err
    assert "apscheduler" in swept.packages
    assert swept.packages & {"uvicorn", "starlette", "alembic"} == set()  # httpx brings Pygments
