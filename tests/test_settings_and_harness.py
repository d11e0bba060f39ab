"""Settings precedence, SQLite engine configuration, and the PostgreSQL harness's CI rule."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from consultations.adapters.database import DatabaseUrlError, create_engine, normalise_url
from consultations.settings import DEFAULT_DATABASE_URL, Settings, SettingsError
from tests.support.postgres import BIN_DIR_VARIABLE

ROOT = Path(__file__).resolve().parents[1]


def test_explicit_url_wins_over_environment_which_wins_over_default() -> None:
    env = {"CONSULTATIONS_DATABASE_URL": "sqlite:///from-env.db"}
    assert Settings.load("sqlite:///explicit.db", env).database_url == "sqlite:///explicit.db"
    assert Settings.load(None, env).database_url == "sqlite:///from-env.db"
    assert (
        Settings.load(None, {}).database_url
        == DEFAULT_DATABASE_URL
        == "sqlite:///var/consultations.db"
    )


def test_postgresql_urls_use_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(DatabaseUrlError, match="unsupported backend 'oracle'"):
        normalise_url("oracle://u@h/db")
    with pytest.raises(DatabaseUrlError, match="cannot parse"):
        normalise_url("not a url")


def test_sqlite_file_is_created_on_demand_in_wal_mode(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'c.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000
    assert (tmp_path / "nested" / "dir" / "c.db").exists()
    engine.dispose()


def test_creating_an_engine_does_not_connect(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'lazy.db'}")
    assert not (tmp_path / "lazy.db").exists()
    assert isinstance(engine, sa.Engine)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", "PostgreSQL is required when CI=true"), ("", "SKIPPED")]
)
def test_missing_postgresql_fails_under_ci_and_skips_otherwise(
    tmp_path: Path, ci: str, outcome: str
) -> None:
    env = {**os.environ, "CI": ci, BIN_DIR_VARIABLE: str(tmp_path)}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rs",
            "-p",
            "no:cacheprovider",
            "tests/eventlog/test_log_contract.py",
            "-k",
            "TestSqlEventLog and postgresql and new_stream",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert outcome in completed.stdout
    assert completed.returncode == (1 if ci else 0), completed.stdout[-2000:]


def test_settings_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    file = tmp_path / "consultations.toml"
    file.write_text(
        '[consultations]\nwebhook_url = "http://127.0.0.1:9/hook"\n'
        'smtp_to = "a@example.org, b@example.org"\npublic_url = "https://cal.example.org/"\n',
        encoding="utf-8",
    )
    env = {"CONSULTATIONS_WEBHOOK_URL": "http://127.0.0.1:10/env"}
    settings = Settings.load(None, env, file)
    assert settings.webhook_url == "http://127.0.0.1:10/env"
    assert settings.smtp_to == ("a@example.org", "b@example.org")
    assert settings.public_url == "https://cal.example.org"
    assert Settings.load(None, {}, tmp_path / "absent.toml").webhook_url is None


def test_a_broken_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "consultations.toml"
    file.write_text("[consultations\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"consultations\.toml"):
        Settings.load(None, {}, file)
    file.write_text("[consultations]\nsmtp_url = 25\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"smtp_url: expected text"):
        Settings.load(None, {}, file)


def test_nudge_after_is_a_day_by_default_and_an_exact_iso_duration(tmp_path: Path) -> None:
    absent = tmp_path / "absent.toml"
    assert Settings.load(None, {}, absent).nudge_after == timedelta(days=1)
    env = {"CONSULTATIONS_NUDGE_AFTER": "PT36H"}
    assert Settings.load(None, env, absent).nudge_after == timedelta(hours=36)
    file = tmp_path / "consultations.toml"
    file.write_text('[consultations]\nnudge_after = "P2D"\n', encoding="utf-8")
    assert Settings.load(None, {}, file).nudge_after == timedelta(days=2)
    for bad, problem in (
        ("P1M", "must not use years or months"),
        ("PT0S", "must be longer than zero"),
        ("soon", "is not an ISO 8601 duration"),
        ("P400D", "is longer than 365 days"),
    ):
        with pytest.raises(SettingsError, match=rf"^nudge_after: .*{problem}"):
            Settings.load(None, {"CONSULTATIONS_NUDGE_AFTER": bad}, absent)


def test_working_calendar_settings_weekend_office_hours_and_strict(tmp_path: Path) -> None:
    absent = tmp_path / "absent.toml"
    default = Settings.load(None, {}, absent)
    assert (default.weekend, default.office_opens, default.office_closes, default.strict) == (
        frozenset({5, 6}), time(9), time(18), False
    )  # fmt: skip
    env = {
        "CONSULTATIONS_WEEKEND": "fri, Saturday",
        "CONSULTATIONS_OFFICE_HOURS": "08:30-17:00",
        "CONSULTATIONS_STRICT": "yes",
    }
    chosen = Settings.load(None, env, absent)
    assert chosen.office_rules.weekend == frozenset({4, 5})
    assert (chosen.office_rules.opens, chosen.office_rules.closes) == (time(8, 30), time(17))
    assert chosen.strict
    assert Settings.load(None, {"CONSULTATIONS_WEEKEND": ""}, absent).weekend == frozenset()
    file = tmp_path / "consultations.toml"
    file.write_text('[consultations]\nweekend = ["sunday"]\nstrict = true\n', encoding="utf-8")
    from_file = Settings.load(None, {}, file)
    assert (from_file.weekend, from_file.strict) == (frozenset({6}), True)
    for name, bad, problem in (
        ("WEEKEND", "sabbath", "'sabbath' is not a day of the week"),
        ("WEEKEND", "mon,tue,wed,thu,fri,sat,sun", "every day of the week"),
        ("OFFICE_HOURS", "9-18", "expected opening and closing such as 09:00-18:00"),
        ("OFFICE_HOURS", "18:00-09:00", "closes before it opens"),
        ("STRICT", "maybe", "expected true or false"),
    ):
        with pytest.raises(SettingsError, match=rf"^{name.lower()}: .*{problem}"):
            Settings.load(None, {f"CONSULTATIONS_{name}": bad}, absent)
