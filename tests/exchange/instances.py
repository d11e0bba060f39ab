"""Instances of `consultations` for exchange tests: a database and a key file each, driven
through the CLI as a user would."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn

from consultations.adapters import migrations
from consultations.adapters.database import create_engine
from consultations.adapters.signing import SigningKey
from consultations.bootstrap import Application
from consultations.domain.exchange import GENESIS, Bundle, Checkpoint, canonical, chain
from consultations.entrypoints.web import create_app
from tests.cli.runner import Result, run_cli

KEY_VARIABLE = "CONSULTATIONS_IDENTITY_KEY"


class Instance:
    """One instance: its database, its identity key file, a CLI session on them."""

    def __init__(
        self, capsys: pytest.CaptureFixture[str], url: str, key_file: Path, name: str
    ) -> None:
        self.capsys, self.url, self.key_file, self.name = capsys, url, key_file, name
        self.engine = create_engine(url)
        migrations.upgrade(self.engine)

    def __call__(self, *args: str) -> Result:
        with _environment(KEY_VARIABLE, str(self.key_file)):
            return run_cli(self.capsys, self.url, *args)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert (result.code, result.err) == (0, ""), result
        return result.out

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--format", "json"))

    def events(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one())

    def rejected(self, code: int, message: str, *args: str) -> Result:
        before = self.events()
        result = self(*args)
        assert result.code == code, result
        assert result.err.count("\n") == 1, result.err
        assert result.err.startswith("error: "), result.err
        assert message in result.err, result.err
        assert self.events() == before, "a refused command must append nothing"
        return result

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def introduce(first: Instance, second: Instance, urls: dict[str, str] | None = None) -> None:
    """Give both instances their identity and register each as the other's peer.

    ``urls``: where a party's instance answers pulls, registered with it.
    """
    for instance in (first, second):
        if instance("identity", "show").code != 0:
            instance.ok("identity", "init", "--party", instance.name)
    for instance, other in ((first, second), (second, first)):
        key = other.json("identity", "show")["public_key"]
        url = (urls or {}).get(other.name)
        instance.ok("peer", "add", other.name, "--key", key, *(("--url", url) if url else ()))


def send(sender: Instance, receiver: Instance, path: Path) -> bytes:
    """Export a bundle from ``sender`` for ``receiver`` into ``path``; return its bytes."""
    sender.ok("sync", "export", "--peer", receiver.name, "-o", str(path))
    return path.read_bytes()


def forge(
    data: bytes,
    sender: Instance,
    edit: Callable[[dict[str, Any]], None] = lambda entry: None,
    *,
    entries: Callable[[list[dict[str, Any]]], None] = lambda values: None,
) -> bytes:
    """The bundle (from entry 1) with its entries edited in place by ``edit`` (and the list
    of them by ``entries``: added, removed), numbered, chained and signed again with the
    sender's own key: what a dishonest peer could send."""
    bundle = Bundle.parse(data)
    assert bundle.header.first == 1
    values = [json.loads(text) for text in bundle.entries]
    for value in values:
        edit(value)
    entries(values)
    for seq, value in enumerate(values, start=1):
        value["seq"] = seq
    texts = tuple(canonical(value) for value in values)
    header = replace(bundle.header, size=len(texts))
    checkpoint, _, _ = bundle.checkpoint()
    body = Bundle.of(header, texts).body
    signed = Checkpoint(
        checkpoint.origin,
        len(texts),
        chain(GENESIS, texts),
        checkpoint.position,
        hashlib.sha256(body.encode()).digest(),
    )
    note = SigningKey.load(sender.key_file, sender.name).sign_note(signed.text())
    return Bundle.of(header, texts, note).text().encode()


def exchange(first: Instance, second: Instance, folder: Path) -> None:
    """A bundle each way, each imported."""
    for sender, receiver in ((first, second), (second, first)):
        path = folder / f"{sender.name}-{receiver.name}-{sender.events()}.bundle"
        send(sender, receiver, path)
        receiver.ok("sync", "import", str(path))


PARTIES = {"TM-MFA": "Asia/Ashgabat", "AZ-MFA": "Asia/Baku", "KZ-MFA": "Asia/Almaty"}


def parties(instance: Instance, *names: str) -> None:
    """Register these parties on ``instance`` (those it does not have yet)."""
    known = {row["party_id"] for row in instance.json("party", "list")}
    for name in names:
        if name not in known:
            instance.ok("party", "add", name, "--name", f"MFA {name}", "--tz", PARTIES[name])


def joint_track(instance: Instance, track_id: str = "t", *options: str) -> None:
    """A yearly track of TM-MFA and AZ-MFA (their records registered first)."""
    parties(instance, "TM-MFA", "AZ-MFA")
    instance.ok(
        "track", "add", track_id, "--title", f"Talks {track_id}", "--kind", "consultation",
        "--cadence", "year", "--start", "2026-01-01", "--party", "TM-MFA", "--party", "AZ-MFA",
        *options,
    )  # fmt: skip


class Serving:
    """An application's `serve` (feeds, /healthz, /sync/pull) on a free port, in a thread."""

    def __init__(self, app: Application) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(app, check_log=False), host="127.0.0.1", port=port,
                           log_level="warning")
        )  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a result
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
