"""Runtime settings: where the database is, read from arguments and the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///var/consultations.db"
DATABASE_URL_VARIABLE = "CONSULTATIONS_DATABASE_URL"
PUBLIC_URL_VARIABLE = "CONSULTATIONS_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the composition root needs to wire the application."""

    database_url: str = DEFAULT_DATABASE_URL
    public_url: str = DEFAULT_PUBLIC_URL  # where subscribers reach the feed server

    @classmethod
    def load(
        cls, database_url: str | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Build settings: an explicit argument wins over the environment, then the default."""
        env = os.environ if environ is None else environ
        return cls(
            database_url=database_url or env.get(DATABASE_URL_VARIABLE) or DEFAULT_DATABASE_URL
        )
