"""A throwaway PostgreSQL server for the test run: initdb + pg_ctl in a temporary folder.

Started as the ``postgres`` user when the tests run as root (PostgreSQL refuses root), on a
free loopback port, with durability switched off (the data is thrown away), stopped at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or the server would not start."""


BIN_DIR_VARIABLE = "CONSULTATIONS_TEST_PG_BINDIR"


def _bin_dir() -> Path:
    if BIN_DIR_VARIABLE in os.environ:  # lets a test (or a developer) choose the binaries
        chosen = Path(os.environ[BIN_DIR_VARIABLE])
        if not (chosen / "initdb").exists():
            raise PostgresUnavailable(f"no initdb in {BIN_DIR_VARIABLE}={chosen}")
        return chosen
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise PostgresUnavailable("initdb was not found on PATH nor under /usr/lib/postgresql")
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running server; ``url`` connects as the superuser ``postgres``."""

    root: Path
    bin_dir: Path
    port: int
    as_postgres: bool

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the maintenance database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb, then start the server and wait until it accepts connections."""
        bin_dir = _bin_dir()
        root = Path(tempfile.mkdtemp(prefix="consultations-pg-"))
        as_postgres = os.geteuid() == 0
        server = cls(root, bin_dir, _free_port(), as_postgres)
        if as_postgres:
            shutil.chown(root, "postgres", "postgres")
        root.chmod(0o700)
        server._run(
            "initdb",
            "-D",
            str(root / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = " ".join(
            [
                f"-p {server.port}",
                f"-k {root}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        server._run(
            "pg_ctl",
            "-D",
            str(root / "data"),
            "-l",
            str(root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        return server

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{program} failed ({result.returncode}): {result.stderr.strip()} {tail}"
            )

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still on it."""
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server and remove its files."""
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
