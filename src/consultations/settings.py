"""Runtime settings, from arguments, the environment and an optional ``consultations.toml``.

Precedence: an explicit argument, then ``CONSULTATIONS_*`` environment variables, then the
``[consultations]`` table of ``consultations.toml`` in the working directory, then defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import tomli

from consultations.domain.durations import parse_exact_duration
from consultations.domain.errors import InvalidInput
from consultations.domain.optional import map_optional
from consultations.domain.working_calendar import (
    DEFAULT_CLOSES,
    DEFAULT_OPENS,
    DEFAULT_WEEKEND,
    WEEKDAYS,
    OfficeRules,
)

DEFAULT_DATABASE_URL = "sqlite:///var/consultations.db"
DATABASE_URL_VARIABLE = "CONSULTATIONS_DATABASE_URL"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
SETTINGS_FILE = "consultations.toml"
DEFAULT_NUDGE_AFTER = timedelta(days=1)
MAX_NUDGE_AFTER = timedelta(days=365)
MAX_SYNC_INTERVAL = timedelta(days=7)
PREFIX = "CONSULTATIONS_"
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})


class SettingsError(ValueError):
    """A setting cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the composition root needs to wire the application."""

    database_url: str = DEFAULT_DATABASE_URL
    public_url: str = DEFAULT_PUBLIC_URL  # where subscribers reach the feed server
    webhook_url: str | None = None
    webhook_secret: str | None = None  # whsec_<base64>, per Standard Webhooks
    smtp_url: str | None = None  # smtp://host:port
    smtp_from: str | None = None
    smtp_to: tuple[str, ...] = ()
    # Channels cleared for restricted meetings' details (domain/disclosure.py); off: busy blocks.
    console_restricted: bool = False
    smtp_restricted: bool = False
    webhook_restricted: bool = False
    feeds_dir_restricted: bool = False  # the daemon's --feeds-dir files
    # How long after a meeting's end the daemon nudges to record it held or cancelled.
    nudge_after: timedelta = DEFAULT_NUDGE_AFTER
    # This instance's Ed25519 private key (None: beside the SQLite database, see identity_key_path).
    identity_key: Path | None = None
    # How often the daemon pulls each peer that has a URL (None: never).
    sync_interval: timedelta | None = None
    # Working calendars (domain/working_calendar.py): the weekend days and office hours of
    # every party, and whether planning outside them is refused rather than warned about.
    weekend: frozenset[int] = DEFAULT_WEEKEND
    office_opens: time = DEFAULT_OPENS
    office_closes: time = DEFAULT_CLOSES
    strict: bool = False

    @property
    def office_rules(self) -> OfficeRules:
        """The weekend and office hours every party's working calendar shares."""
        return OfficeRules(self.weekend, self.office_opens, self.office_closes)

    @classmethod
    def load(
        cls,
        database_url: str | None = None,
        environ: Mapping[str, str] | None = None,
        file: Path | None = None,
    ) -> Settings:
        """Build settings from the argument, the environment, the settings file and defaults."""
        env = os.environ if environ is None else environ
        from_file = _read_file(file if file is not None else Path(SETTINGS_FILE))

        def value(name: str) -> str | None:
            found = env.get(PREFIX + name.upper()) or from_file.get(name)
            if found is not None and not isinstance(found, str):
                raise SettingsError(f"{name}: expected text in {SETTINGS_FILE}")
            return found or None

        def flag(name: str) -> bool:
            found = env.get(PREFIX + name.upper())
            if found is None:
                found = from_file.get(name, False)
            if isinstance(found, bool):
                return found
            if isinstance(found, str) and found.strip().lower() in _TRUE | _FALSE:
                return found.strip().lower() in _TRUE
            raise SettingsError(f"{name}: expected true or false, got {found!r}")

        def duration(name: str, maximum: timedelta) -> timedelta | None:
            found = value(name)
            if found is None:
                return None
            try:
                delay = parse_exact_duration(found, name, maximum=maximum)
            except InvalidInput as error:
                raise SettingsError(str(error)) from None
            return delay.to_timedelta()

        recipients = value("smtp_to") or ""
        opens, closes = _office_hours(value("office_hours"))
        return cls(
            database_url=database_url or value("database_url") or DEFAULT_DATABASE_URL,
            public_url=(value("public_url") or DEFAULT_PUBLIC_URL).rstrip("/"),
            webhook_url=value("webhook_url"),
            webhook_secret=value("webhook_secret"),
            smtp_url=value("smtp_url"),
            smtp_from=value("smtp_from"),
            smtp_to=tuple(r.strip() for r in recipients.split(",") if r.strip()),
            console_restricted=flag("console_restricted"),
            smtp_restricted=flag("smtp_restricted"),
            webhook_restricted=flag("webhook_restricted"),
            feeds_dir_restricted=flag("feeds_dir_restricted"),
            nudge_after=duration("nudge_after", MAX_NUDGE_AFTER) or DEFAULT_NUDGE_AFTER,
            identity_key=map_optional(value("identity_key"), Path),
            sync_interval=duration("sync_interval", MAX_SYNC_INTERVAL),
            weekend=_weekend(env.get(PREFIX + "WEEKEND", from_file.get("weekend"))),
            office_opens=opens,
            office_closes=closes,
            strict=flag("strict"),
        )

    def identity_key_path(self) -> Path:
        """Where this instance's private key is kept: ``identity_key``, or beside the database.

        Beside a SQLite file ``var/consultations.db`` it is ``var/consultations.identity.key``;
        a PostgreSQL database has no file to put it beside, so there the setting is required.
        """
        if self.identity_key is not None:
            return self.identity_key
        # Not at the top: `consultations --help` loads this module and must not load SQLAlchemy.
        from sqlalchemy.engine import make_url  # noqa: PLC0415

        url = make_url(self.database_url)
        database = url.database or ""
        if url.get_backend_name() != "sqlite" or database in {"", ":memory:"}:
            raise SettingsError(
                "identity_key: set it (CONSULTATIONS_IDENTITY_KEY): there is no database file "
                "to keep the key beside"
            )
        return Path(database).with_suffix(".identity.key")


def _weekend(found: object) -> frozenset[int]:
    """``saturday,sunday`` (or ``sat,sun``; a list in the file; empty: no weekend)."""
    if found is None:
        return DEFAULT_WEEKEND
    names = found.split(",") if isinstance(found, str) else found
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise SettingsError(f"weekend: expected day names such as saturday,sunday, got {found!r}")
    known = {name: n for n, day in enumerate(WEEKDAYS) for name in (day, day[:3])}
    days: set[int] = set()
    for name in filter(None, (name.strip().lower() for name in names)):
        if name not in known:
            raise SettingsError(f"weekend: {name!r} is not a day of the week such as saturday")
        days.add(known[name])
    if len(days) == len(WEEKDAYS):
        raise SettingsError("weekend: every day of the week is a weekend day")
    return frozenset(days)


def _office_hours(found: str | None) -> tuple[time, time]:
    """``09:00-18:00`` (local time in each party's zone)."""
    if found is None:
        return DEFAULT_OPENS, DEFAULT_CLOSES
    opens, _, closes = found.replace("–", "-").partition("-")
    try:
        hours = time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip())
    except ValueError:
        hours = None
    if hours is None or len(opens.strip()) != 5 or len(closes.strip()) != 5:
        raise SettingsError(
            f"office_hours: expected opening and closing such as 09:00-18:00, got {found!r}"
        )
    if not hours[0] < hours[1]:
        raise SettingsError(f"office_hours: {found!r} closes before it opens")
    return hours


def _read_file(path: Path) -> Mapping[str, Any]:
    if not path.exists():
        return {}
    try:
        document = tomli.loads(path.read_text(encoding="utf-8"))
    except (tomli.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: {error}") from None
    table = document.get("consultations", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [consultations] must be a table")
    return table
