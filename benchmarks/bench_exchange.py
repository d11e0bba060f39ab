"""Bundles between two instances: size, export and import time (issue 16).

    .venv/bin/python -m benchmarks.bench_exchange [MEETINGS ...]

For the example plan, and for synthetic logs of MEETINGS joint meetings (default 10,000):
TM-MFA's instance holds the plan, writes a bundle for AZ-MFA's, which imports it. Import
time is the one append (verification, the log, every projection) measured in-process; the
CLI adds its start-up to both.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from benchmarks.common import bare_store, log, new_app, scratch_dir
from benchmarks.synthetic import fill
from consultations.bootstrap import Application
from consultations.domain.commands import AddPeer
from consultations.service_layer.identity import init_identity
from consultations.service_layer.plan_import import import_plan
from consultations.service_layer.services import Provenance
from consultations.service_layer.sync import export_bundle, import_bundle

EXAMPLE = Path(__file__).parents[1] / "examples" / "tm-az-cooperation.toml"
PROVENANCE = Provenance("bench", "bench")


def _pair(folder: Path, name: str) -> tuple[Application, Application, Path]:
    tm = new_app(f"sqlite:///{folder / f'{name}-tm.db'}")
    az = new_app(f"sqlite:///{folder / f'{name}-az.db'}")
    tm_key = folder / f"{name}-tm.key"
    keys = {}
    for app, party, key_file in ((tm, "TM-MFA", tm_key), (az, "AZ-MFA", folder / f"{name}-az.key")):
        keys[party] = init_identity(app.commands, key_file, party, PROVENANCE).public_key
    tm.commands.execute(AddPeer(peer_id="AZ-MFA", public_key=keys["AZ-MFA"]), PROVENANCE)
    az.commands.execute(AddPeer(peer_id="TM-MFA", public_key=keys["TM-MFA"]), PROVENANCE)
    return tm, az, tm_key


def measure(tm: Application, az: Application, tm_key: Path, what: str) -> None:
    """Export from TM-MFA for AZ-MFA, import there; log size and times."""
    start = time.perf_counter()
    exported = export_bundle(tm.commands, tm.read_models, tm_key, "AZ-MFA", PROVENANCE)
    export_seconds = time.perf_counter() - start
    data = exported.text.encode("utf-8")
    start = time.perf_counter()
    imported = import_bundle(az.commands, data, PROVENANCE)
    import_seconds = time.perf_counter() - start
    log(
        f"{what}: {imported.size:,} entries, bundle {len(data) / 1e3:,.0f} kB "
        f"({len(data) / imported.size:,.0f} B/entry); export {export_seconds:.2f} s, "
        f"import {import_seconds:.2f} s ({imported.size / import_seconds:,.0f} entries/s)"
    )


def main(arguments: list[str]) -> None:
    sizes = [int(argument) for argument in arguments] or [10_000]
    with scratch_dir() as folder:
        tm, az, key = _pair(folder, "example")
        import_plan(tm.commands, EXAMPLE.read_bytes(), Provenance("bench", "plan:example.toml"))
        measure(tm, az, key, "example plan")
        for meetings in sizes:
            tm, az, key = _pair(folder, f"m{meetings}")
            fill(bare_store(tm), 10 * meetings, meetings=meetings)
            tm.projector.ensure_current(tm.engine)
            measure(tm, az, key, f"{meetings:,} joint meetings")


if __name__ == "__main__":
    main(sys.argv[1:])
