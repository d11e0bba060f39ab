"""A ``kill -9`` in the middle of an import leaves it applied wholly or not at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon.processes import wait_until
from tests.exchange.instances import Instance, introduce, joint_track, send

# Imports a bundle with one more listener on the log, after the projections: it runs inside
# the import's transaction, says so in a file, then waits there to be killed.
IMPORTER = """
import os, sys, time
from pathlib import Path
from consultations.bootstrap import bootstrap
from consultations.service_layer.services import Provenance
from consultations.service_layer.sync import import_bundle
from consultations.settings import Settings

url, bundle, marker = sys.argv[1:]
app = bootstrap(Settings.load(url, environ={}))

def inside_the_transaction(connection, batch):
    Path(marker + ".part").write_text(str(len(batch)))
    os.replace(marker + ".part", marker)  # seen whole, or not at all
    time.sleep(600)

app.store.listeners.append(inside_the_transaction)
import_bundle(app.commands, Path(bundle).read_bytes(), Provenance(actor="test"))
"""


@pytest.mark.slow
def test_an_import_killed_inside_its_transaction_leaves_nothing(
    tm: Instance, az: Instance, tmp_path: Path
) -> None:
    introduce(tm, az)
    joint_track(tm)
    for day in range(10, 20):
        tm.ok(
            "meeting", "plan", "--track", "t", "--title", "Talks", "--start", f"2026-05-{day} 10:00"
        )
    bundle = tmp_path / "t.bundle"
    send(tm, az, bundle)
    before, schedule = az.events(), az.json("schedule", "--all")
    marker = tmp_path / "inside"
    with (tmp_path / "importer.err").open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-c", IMPORTER, az.url, str(bundle), str(marker)],
            stdin=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
    try:
        wait_until(marker.exists, 60, "the import to reach its transaction")
        assert int(marker.read_text()) > 10  # the whole bundle was being written at once
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert az.events() == before
    assert az.json("schedule", "--all") == schedule == []
    assert az.ok("events", "verify").startswith("ok: ")
    out = az.ok("sync", "import", str(bundle))
    assert out.startswith("TM-MFA: accepted entries 1–12 (12 applied)")  # TM-MFA, track, 10
    assert len(az.json("schedule", "--all")) == 10
