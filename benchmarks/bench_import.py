"""Batched import of a large plan: one TOML file, all of it appended in one transaction.

Ours: ``import_plan`` (parse, validate, decide every command, append with the hash chain
and update every projection, one transaction) into an empty SQLite WAL database.
Peers, from the same TOML text to the same number of events with the same payloads:
- eventsourcing 9.x on SQLite: parse, build the aggregates, one ``save(*aggregates)``.
- raw sqlite3: ``executemany`` of the rows our import stored, in one transaction.
Run alone: .venv/bin/python -m benchmarks.bench_import
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import tomli

from benchmarks.common import (
    Config,
    Figure,
    Target,
    config_for,
    log,
    new_app,
    raw_insert_batch,
    sample_rows,
    scratch_dir,
)
from benchmarks.es_model import Entry, Meeting, sqlite_app, synchronous_of
from consultations.service_layer.plan_import import import_plan
from consultations.service_layer.services import Provenance

TRACKS = 40
PARTIES = {"TM-MFA": "Asia/Ashgabat", "AZ-MFA": "Asia/Baku"}
AREAS = ("energy", "security", "culture", "trade")
FIRST = date(2015, 1, 5)


def plan_toml(meetings: int) -> str:
    """A plan with 2 parties, 4 areas, 40 tracks and ``meetings`` meetings (all past).

    One in ten is cancelled, one in three of the others was held, the rest stay planned.
    """
    out: list[str] = []
    for party, tz in PARTIES.items():
        out += [f"[parties.{party}]", f'name = "Ministry of Foreign Affairs {party}"',
                f'tz = "{tz}"', ""]  # fmt: skip
    for area in AREAS:
        out += [f"[areas.{area}]", f'name = "{area.title()}"', ""]
    cadences = ("half-year", "quarter", "month", "year", "max-gap:P6M")
    for number in range(TRACKS):
        tz = "Asia/Baku" if number % 2 == 0 else "Asia/Ashgabat"
        out += [
            f"[tracks.t{number}]", f'title = "Track {number}: bilateral consultations"',
            'kind = "consultation"', f'cadence = "{cadences[number % len(cadences)]}"',
            "required = 1", "start = 2015-01-01", f'tz = "{tz}"',
            'parties = ["TM-MFA", "AZ-MFA"]', f'areas = ["{AREAS[number % 4]}"]',
            'priority = "high"', 'duration = "PT2H"', 'reminders = ["P7D", "P1D"]',
            'host_rotation = ["TM-MFA", "AZ-MFA"]', "",
        ]  # fmt: skip
    for number in range(meetings):
        track = number % TRACKS
        tz = "Asia/Baku" if track % 2 == 0 else "Asia/Ashgabat"
        day = FIRST + timedelta(days=7 * (number // TRACKS) + track % 5)
        host = ("AZ-MFA", "TM-MFA")[number % 2]
        out += [
            f"[meetings.m{number}]", f'track = "t{track}"',
            f'title = "Session {number} of track {track}: review of the joint work plan"',
            f"start = {day.isoformat()}T10:00:00", f"end = {day.isoformat()}T12:00:00",
            f'tz = "{tz}"', f'venue = "{"Baku" if host == "AZ-MFA" else "Ashgabat"}"',
            f'host = "{host}"', 'participants = ["TM-MFA", "AZ-MFA"]',
            'agenda = ["Review of the work plan", "Next steps"]', 'classification = "internal"',
        ]  # fmt: skip
        if number % 10 == 9:
            out += ['status = "cancelled"', 'reason = "postponed by mutual agreement"']
        elif number % 3 == 0:
            out += ['status = "held"', 'attendance = ["TM-MFA", "AZ-MFA"]',
                    'outcomes = ["Agreed next steps"]']  # fmt: skip
        out.append("")
    return "\n".join(out)


def es_import(app: Any, text: str, metadata: dict[str, Any]) -> int:
    """The peer's import: parse, build every aggregate, save them all in one transaction."""
    document = tomli.loads(text)  # the parser our import uses
    aggregates: list[Any] = []
    for kind, section in (("party", "parties"), ("area", "areas"), ("track", "tracks")):
        for key, entry in document.get(section, {}).items():
            aggregates.append(Entry(kind, key, _plain(entry), metadata))
    for key, entry in document.get("meetings", {}).items():
        tz = ZoneInfo(entry["tz"])
        start_utc = entry["start"].replace(tzinfo=tz).astimezone(UTC)
        end_utc = entry["end"].replace(tzinfo=tz).astimezone(UTC)
        meeting = Meeting(
            key, entry["track"], entry["title"], "consultation", entry["start"], entry["end"],
            entry["tz"], None, None, start_utc, end_utc, entry.get("venue"), entry.get("host"),
            entry.get("participants", []), entry.get("agenda", []),
            entry.get("classification", "internal"), metadata,
        )  # fmt: skip
        status = entry.get("status", "planned")
        if status == "held":
            meeting.hold(entry.get("attendance", []), entry.get("outcomes", []), metadata)
        elif status == "cancelled":
            meeting.cancel(entry["reason"], metadata)
        aggregates.append(meeting)
    recordings = app.save(*aggregates)
    return len(recordings)


def _plain(entry: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(entry, default=str))


def run(config: Config) -> list[Figure]:
    meetings = config.import_meetings
    text = plan_toml(meetings)
    content = text.encode("utf-8")
    provenance = Provenance("bench", "bench")
    ours, peer, raw = [], [], []
    events = 0
    with scratch_dir() as folder:
        for run_number in range(config.runs):
            app = new_app(f"sqlite:///{folder / f'ours{run_number}.db'}")
            start = time.perf_counter()
            report = import_plan(app.commands, content, provenance)
            ours.append(report.total / (time.perf_counter() - start))
            events = report.total
            app.close()
            es = sqlite_app(folder / f"es{run_number}.db")
            assert synchronous_of(es) == 2
            start = time.perf_counter()
            count = es_import(es, text, provenance.metadata("ImportPlan"))
            peer.append(count / (time.perf_counter() - start))
            es.close()
            assert count == events, f"peer stored {count} events, ours {events}"
            rows = sample_rows(folder / f"ours{run_number}.db")
            raw.append(len(rows) / raw_insert_batch(folder / f"raw{run_number}.db", rows))
            log(f"import run {run_number + 1}: {events} events, ours {ours[-1]:,.0f}/s, "
                f"peer {peer[-1]:,.0f}/s, raw {raw[-1]:,.0f}/s")  # fmt: skip
    return [
        Figure(
            "batched import of a large plan", "events/s", ours, True,
            {"eventsourcing": peer, "raw sqlite3": raw},
            [Target("ratio>=", 1.0, "eventsourcing")],
            note=f"{meetings:,} meetings, {events:,} events, {len(content) / 1e6:.1f} MB of TOML",
        )
    ]  # fmt: skip


def main() -> None:
    from benchmarks.__main__ import print_table

    print_table(run(config_for("quick", postgres=False)))


if __name__ == "__main__":
    main()
