"""Single-command append: plan, reschedule, hold, one command (one transaction) at a time.

Ours: ``CommandService.execute`` (read the stream, decide, append with the hash chain,
update every projection in the same transaction) on SQLite WAL, synchronous=FULL.
Peers, same commands, same payloads and metadata:
- eventsourcing 9.x on SQLite: ``repository.get`` (except for the plan) and ``save``,
  one transaction per command; it has no in-transaction projections, so it does less.
- raw sqlite3: one INSERT of an equivalent event row per transaction (the fsync-bound limit).
Run alone: .venv/bin/python -m benchmarks.bench_append
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from benchmarks.common import (
    Config,
    Figure,
    Target,
    bare_store,
    config_for,
    log,
    new_app,
    raw_insert_each,
    sample_rows,
    scratch_dir,
)
from benchmarks.es_model import Meeting, MeetingsApp, sqlite_app, synchronous_of
from benchmarks.synthetic import fill
from consultations.domain.commands import PlanMeeting, RecordMeetingHeld, RescheduleMeeting
from consultations.service_layer.services import CommandService, Provenance

PROVENANCE = Provenance("bench", "bench")
ATTENDANCE = ("TM-MFA", "AZ-MFA")
OUTCOMES = ("Agreed next steps",)


def cycles_for(config: Config) -> int:
    """Meetings per run; each is three commands."""
    return {"smoke": 10, "quick": 100}.get(config.mode, 200)


def ours_cycle(service: CommandService, prefix: str, cycles: int) -> int:
    """Plan, reschedule and hold ``cycles`` meetings, one command at a time."""
    for number in range(cycles):
        meeting_id = f"{prefix}-{number}"
        start = datetime(2020, 1, 6, 10) + timedelta(days=number)
        service.execute(
            PlanMeeting(
                meeting_id=meeting_id, title=f"Session {number}", start=start,
                track_id=f"t{number % 40}", venue="Baku", participants=ATTENDANCE,
                agenda=("Review",),
            ),
            PROVENANCE,
        )  # fmt: skip
        service.execute(
            RescheduleMeeting(
                meeting_id=meeting_id, start=start + timedelta(days=1), reason="agenda clash"
            ),
            PROVENANCE,
        )
        service.execute(
            RecordMeetingHeld(meeting_id=meeting_id, attendance=ATTENDANCE, outcomes=OUTCOMES),
            PROVENANCE,
        )
    return 3 * cycles


def es_cycle(app: MeetingsApp, prefix: str, cycles: int) -> int:
    """The same three commands per meeting with the eventsourcing library."""
    for number in range(cycles):
        meeting_id = f"{prefix}-{number}"
        tz = "Asia/Baku" if number % 40 % 2 == 0 else "Asia/Ashgabat"
        start = datetime(2020, 1, 6, 10) + timedelta(days=number)
        meeting = Meeting(
            meeting_id, f"t{number % 40}", f"Session {number}", "consultation", start,
            start + timedelta(hours=2), tz, None, None, *_utc(start, tz), "Baku",
            "AZ-MFA", list(ATTENDANCE), ["Review"], "internal",
            PROVENANCE.metadata("PlanMeeting"),
        )  # fmt: skip
        app.save(meeting)
        meeting = app.repository.get(meeting.id)
        later = start + timedelta(days=1)
        meeting.reschedule(
            later, later + timedelta(hours=2), "agenda clash",
            PROVENANCE.metadata("RescheduleMeeting"),
        )  # fmt: skip
        app.save(meeting)
        meeting = app.repository.get(meeting.id)
        meeting.hold(list(ATTENDANCE), list(OUTCOMES), PROVENANCE.metadata("RecordMeetingHeld"))
        app.save(meeting)
    return 3 * cycles


def _utc(local: datetime, tz: str) -> tuple[datetime, datetime]:
    start = local.replace(tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))
    return start, start + timedelta(hours=2)


def rate(function: object, *args: object) -> float:
    start = time.perf_counter()
    count = function(*args)  # type: ignore[operator]
    return count / (time.perf_counter() - start)


def run(config: Config) -> list[Figure]:
    cycles = cycles_for(config)
    ours, bare, peer, raw = [], [], [], []
    with scratch_dir() as folder:
        app = new_app(f"sqlite:///{folder / 'ours.db'}")
        fill(app.store, 0)  # parties, areas, 40 tracks
        no_projections = CommandService(bare_store(app), app.read_models, app.commands.clock)
        es = sqlite_app(folder / "es.db")
        assert synchronous_of(es) == 2, "the peer must run with synchronous=FULL"
        for run_number in range(config.runs):
            ours.append(rate(ours_cycle, app.commands, f"r{run_number}", cycles))
            bare.append(rate(ours_cycle, no_projections, f"b{run_number}", cycles))
            peer.append(rate(es_cycle, es, f"r{run_number}", cycles))
            rows = sample_rows(folder / "ours.db")[-3 * cycles :]  # equivalent rows
            raw.append(len(rows) / raw_insert_each(folder / f"raw{run_number}.db", rows))
            log(f"append run {run_number + 1}: ours {ours[-1]:.0f}/s, peer {peer[-1]:.0f}/s")
        es.close()
        app.close()
    baselines = {"eventsourcing": peer, "raw sqlite3": raw}
    return [
        Figure(
            "single-command append (with projections)", "commands/s", ours, True,
            dict(baselines), [Target("ratio>=", 0.5, "eventsourcing")],
            note=f"{3 * cycles} commands per run (plan, reschedule, hold)",
        ),
        Figure(
            "single-command append (no projections)", "commands/s", bare, True,
            dict(baselines), [Target("ratio>=", 1.0, "eventsourcing")],
            note="the same commands, the log without projections",
        ),
    ]  # fmt: skip


def main() -> None:
    from benchmarks.__main__ import print_table

    print_table(run(config_for("quick", postgres=False)))


if __name__ == "__main__":
    main()
