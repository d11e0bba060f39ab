"""What `make run` sets up on a fresh clone: the example plan and a feed to subscribe to."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from consultations.bootstrap import Application
from consultations.service_layer.feeds import new_feed
from consultations.service_layer.plan_import import import_plan, source_of
from consultations.service_layer.services import Provenance

DEMO_FEED_NAME = "TM–AZ cooperation (demo)"


def ensure_demo(app: Application, seed: Path | None, demo_feed: bool, actor: str) -> Iterator[str]:
    """Import ``seed`` into an empty log; create the demo feed once. Yield lines to show.

    The feed's token exists only at creation, so its URLs are kept beside the database
    (``<db>.feed-urls``, readable by its owner only) to show again on later starts.
    """
    provenance = Provenance(actor=actor, source="run")
    if seed is not None and app.store.head()[0] == 0:
        # Recorded as an import of the file, so a later `plan import` of it knows it.
        as_import = replace(provenance, source=source_of(seed))
        report = import_plan(app.commands, seed.read_bytes(), as_import)
        yield f"imported {seed}: {report.total} events"
    if not demo_feed:
        return
    urls_file = _urls_file(app)
    live = {row["name"] for row in app.read_models.feeds() if row["revoked_at"] is None}
    if DEMO_FEED_NAME not in live or not urls_file.exists():
        token, command = new_feed("all", DEMO_FEED_NAME, include_restricted=False)
        app.commands.execute(command, provenance)
        base, path = app.settings.public_url, f"/feeds/{token}.ics"
        urls_file.write_text(
            f"{base}{path}\nwebcal://{base.split('://', 1)[-1]}{path}\n", encoding="utf-8"
        )
        urls_file.chmod(0o600)
    yield "subscribe to the schedule (any calendar client):"
    for url in urls_file.read_text(encoding="utf-8").split():
        yield f"  {url}"


def _urls_file(app: Application) -> Path:
    database = app.engine.url.database or "consultations"
    return Path(f"{database}.feed-urls") if database != ":memory:" else Path("var/feed-urls")
