"""Helpers for tests that run the daemon as real OS processes.

* :class:`Processes` starts ``python -m consultations …`` with a given environment, sends
  logs to files, and kills whatever is still running when the test ends (by process id).
* :class:`TcpGate` is a TCP relay in front of a receiver that can *hold* connections: the
  sender has connected and written its request, yet nothing reaches the receiver. That is
  how a test catches a daemon "after the claim, before the send" and kills it there.
* :func:`wait_until` polls a condition with a deadline, and fails early (with the logs) if a
  process that should be running has died.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

HOST = "127.0.0.1"
T = TypeVar("T")


class ProcessDied(AssertionError):
    """A process the test relies on exited early."""


@dataclass
class Process:
    """One ``python -m consultations …`` process, its logs in files."""

    name: str
    args: tuple[str, ...]
    popen: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    @property
    def alive(self) -> bool:
        """Still running."""
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status, ``-N`` if killed by signal N, None while running."""
        return self.popen.poll()

    def stdout(self) -> str:
        """What it wrote on stdout so far."""
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        """What it wrote on stderr so far."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float) -> int:
        """Wait for it to exit (``subprocess.TimeoutExpired`` after ``timeout``); its status."""
        return self.popen.wait(timeout=timeout)

    def kill(self, timeout: float = 10.0) -> int:
        """``kill -9`` and reap it; its status (``-9`` unless it had exited already)."""
        if self.alive:
            self.popen.send_signal(signal.SIGKILL)
        return self.popen.wait(timeout=timeout)

    def terminate(self, timeout: float) -> int:
        """SIGTERM, then wait up to ``timeout`` for it to exit; its status."""
        if self.alive:
            self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=timeout)

    def describe(self) -> str:
        """Name, arguments, status and logs, for failure messages."""
        return (
            f"{self.name} (pid {self.pid}, {' '.join(self.args)}) status {self.returncode}\n"
            f"--- stdout (tail) ---\n{self.stdout()[-3000:]}\n"
            f"--- stderr (tail) ---\n{self.stderr()[-3000:]}"
        )


class Processes:
    """Starts CLI processes for one test and kills the leftovers (by id) at :meth:`close`."""

    def __init__(self, log_dir: Path, workdir: Path) -> None:
        self.log_dir = log_dir
        self.workdir = workdir
        self.started: list[Process] = []
        log_dir.mkdir(parents=True, exist_ok=True)
        workdir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, env: Mapping[str, str], *args: str) -> Process:
        """``python -m consultations *args`` with ``env`` added to a cleaned environment."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CONSULTATIONS_")}
        environment.update(env)
        environment["PYTHONUNBUFFERED"] = "1"  # logs reach the files before a kill -9
        index = len(self.started)
        stdout_path = self.log_dir / f"{index:02d}-{name}.out"
        stderr_path = self.log_dir / f"{index:02d}-{name}.err"
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            popen = subprocess.Popen(
                [sys.executable, "-m", "consultations", *args],
                env=environment,
                cwd=self.workdir,  # no stray consultations.toml is read
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        process = Process(name, tuple(args), popen, stdout_path, stderr_path)
        self.started.append(process)
        return process

    def run(self, name: str, env: Mapping[str, str], *args: str, timeout: float) -> Process:
        """Start and wait for the exit (killed, then failing, after ``timeout``)."""
        process = self.start(name, env, *args)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"timed out after {timeout}s:\n{process.describe()}") from None
        return process

    def close(self) -> None:
        """Kill (-9) every process that is still running and reap it."""
        for process in self.started:
            if process.alive:
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    process.kill(timeout=10)


def wait_until(
    condition: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    running: Iterable[Process] = (),
    interval: float = 0.02,
) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds.

    Fails at once if one of ``running`` has exited, with its logs in the message.
    """
    watched = list(running)
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        for process in watched:
            if not process.alive:
                raise ProcessDied(f"while waiting for {what}:\n{process.describe()}")
        if time.monotonic() >= deadline:
            logs = "\n".join(p.describe() for p in watched)
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")
        time.sleep(interval)


class TcpGate:
    """A TCP relay to ``127.0.0.1:target_port`` that can hold connections instead.

    While holding, connections are accepted (so the sender's connect and write succeed and it
    waits for an answer) but nothing is read or passed on. :meth:`open` drops every held
    connection unread (its sender is presumed dead) and relays later ones both ways.
    """

    def __init__(self, target_port: int, *, holding: bool = True) -> None:
        self.target_port = target_port
        self._holding = holding
        self._lock = threading.Lock()
        self._held: list[socket.socket] = []
        self.dropped = 0  # held connections closed unread by open()
        self.relayed = 0  # connections passed on to the target
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []

    def start(self) -> TcpGate:
        """Listen on a free port and accept in a background thread."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and close every socket."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            for sock in [*self._held, *self._sockets]:
                _close(sock)
            self._held.clear()
            self._sockets.clear()
        if self._listener is not None:
            _close(self._listener)

    def __enter__(self) -> TcpGate:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Where a webhook sender should POST."""
        assert self._listener is not None, "not started"
        return f"http://{HOST}:{self._listener.getsockname()[1]}/hooks"

    def held(self) -> int:
        """Connections accepted and held (not read, not passed on)."""
        with self._lock:
            return len(self._held)

    def held_bytes(self) -> int:
        """Bytes the senders of held connections wrote that nobody has read (peeked)."""
        total = 0
        with self._lock:
            for sock in self._held:
                with contextlib.suppress(BlockingIOError, OSError):
                    total += len(sock.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        return total

    def open(self) -> int:
        """Drop the held connections unread and relay from now on; how many were dropped."""
        with self._lock:
            held, self._held = self._held, []
            self._holding = False
        for sock in held:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            _close(sock)  # RST: whatever it buffered is discarded, never forwarded
        self.dropped += len(held)
        return len(held)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                if self._holding:
                    self._held.append(client)
                    continue
                self._sockets.append(client)
                self.relayed += 1
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((HOST, self.target_port), timeout=5)
        except OSError:
            _close(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._sockets.append(upstream)
        back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        back.start()
        _pipe(client, upstream)
        back.join(timeout=30)
        _close(client)
        _close(upstream)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
