"""The same figures on PostgreSQL, where they apply: append, import, rebuild, report.

A throwaway server from ``tests/support/postgres.py``. It runs with ``fsync=off``,
``synchronous_commit=off`` and ``full_page_writes=off`` (its data is thrown away), for
every side alike: these figures measure CPU and protocol cost, not disk durability, and
are not comparable with the SQLite ones (WAL + synchronous=FULL, an fsync per commit).
Baselines: raw psycopg 3 (one INSERT per transaction; ``executemany`` in one transaction;
reading the same rows) and eventsourcing 9.x with its PostgreSQL recorder.
Run alone: .venv/bin/python -m benchmarks.bench_postgres
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from typing import Any

import psycopg

from benchmarks.bench_append import cycles_for, es_cycle, ours_cycle, rate
from benchmarks.bench_import import es_import, plan_toml
from benchmarks.bench_log import READ_REPORTED
from benchmarks.common import (
    Config,
    Figure,
    Target,
    bare_store,
    config_for,
    log,
    new_app,
    repeat,
)
from benchmarks.es_model import postgres_app
from benchmarks.synthetic import fill
from consultations.service_layer.plan_import import import_plan
from consultations.service_layer.reports import compliance_report
from consultations.service_layer.services import CommandService, Provenance

COLUMNS = (
    "position, stream_id, stream_version, event_type, schema_version, payload::text, "
    "metadata::text, occurred_at, recorded_at, prev_hash, hash"
)
RAW_DDL = """
CREATE TABLE IF NOT EXISTS raw_events (
    position bigint PRIMARY KEY, stream_id varchar(200) NOT NULL,
    stream_version integer NOT NULL, event_type varchar(200) NOT NULL,
    schema_version integer NOT NULL, payload json NOT NULL, metadata json NOT NULL,
    occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL,
    prev_hash varchar(64) NOT NULL, hash varchar(64) NOT NULL,
    UNIQUE (stream_id, stream_version))
"""
INSERT = "INSERT INTO raw_events VALUES (%s, %s, %s, %s, %s, %s::json, %s::json, %s, %s, %s, %s)"


def dsn(port: int, name: str) -> str:
    return f"host=127.0.0.1 port={port} user=postgres dbname={name}"


def our_rows(port: int, name: str, last: int | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn(port, name)) as connection:
        query = f"SELECT {COLUMNS} FROM events ORDER BY position"
        rows = connection.execute(query).fetchall()
    return rows[-last:] if last else rows


def raw_insert(port: int, name: str, rows: list[tuple[Any, ...]], *, each: bool) -> float:
    """Seconds to insert ``rows``: one transaction per row (``each``) or one for all."""
    with psycopg.connect(dsn(port, name)) as connection:
        connection.execute(RAW_DDL)
        connection.execute("TRUNCATE raw_events")
        connection.commit()
        start = time.perf_counter()
        if each:
            for row in rows:
                connection.execute(INSERT, row)
                connection.commit()
        else:
            with connection.cursor() as cursor:
                cursor.executemany(INSERT, rows)
            connection.commit()
        return time.perf_counter() - start


PEER_IMPORT_TIMEOUT = 300
"""Seconds the peer's PostgreSQL import may take before it is given up as hung."""


def _peer_import_child(port: int, name: str, text: str, metadata: Any, out: Any) -> None:
    es = postgres_app(port, name)
    start = time.perf_counter()
    count = es_import(es, text, metadata)
    out.put(count / (time.perf_counter() - start))
    es.close()


def peer_import(port: int, name: str, text: str, metadata: Any) -> float | None:
    """The peer's import rate (events/s), measured in a child process; None if it hung.

    Its PostgreSQL recorder saves in one psycopg pipeline, which sometimes never returns
    with thousands of events (a pipeline deadlock, psycopg issue 685): the child is killed
    after ``PEER_IMPORT_TIMEOUT`` so that the bench always finishes.
    """
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_peer_import_child, args=(port, name, text, metadata, out))
    child.start()
    child.join(PEER_IMPORT_TIMEOUT)
    if child.is_alive():
        child.kill()
        child.join()
        log(f"postgres import: the peer hung (over {PEER_IMPORT_TIMEOUT} s); run not counted")
        return None
    return None if out.empty() else float(out.get())


def raw_read(port: int, name: str, query: str) -> int:
    count = 0
    with psycopg.connect(dsn(port, name)) as connection, connection.cursor("bench") as cursor:
        cursor.execute(query)
        while batch := cursor.fetchmany(5000):
            count += len(batch)
    return count


def run(config: Config) -> list[Figure]:
    from tests.support.postgres import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer.start()
    except PostgresUnavailable as error:
        log(f"PostgreSQL skipped: {error}")
        return []
    try:
        return _run(config, server)
    finally:
        server.stop()


def _run(config: Config, server: Any) -> list[Figure]:
    port = server.port
    figures: list[Figure] = []
    note = "PostgreSQL with fsync=off (throwaway server), every side alike"
    # -- single-command append
    cycles = cycles_for(config)
    url = server.create_database("append")
    app = new_app(url)
    fill(app.store, 0)
    server.create_database("es_append")
    es = postgres_app(port, "es_append")
    no_projections = CommandService(bare_store(app), app.read_models, app.commands.clock)
    ours, bare, peer, raw = [], [], [], []
    for number in range(config.runs):
        ours.append(rate(ours_cycle, app.commands, f"r{number}", cycles))
        bare.append(rate(ours_cycle, no_projections, f"b{number}", cycles))
        peer.append(rate(es_cycle, es, f"r{number}", cycles))
        rows = our_rows(port, "append", 3 * cycles)
        raw.append(len(rows) / raw_insert(port, "append", rows, each=True))
    log(f"postgres append: ours {statistics.median(ours):.0f}/s, "
        f"peer {statistics.median(peer):.0f}/s")  # fmt: skip
    es.close()
    app.close()
    figures += [
        Figure("single-command append (with projections)", "commands/s", ours, True,
               {"eventsourcing": peer, "raw psycopg": raw},
               [Target("ratio>=", 0.5, "eventsourcing")], backend="postgresql", note=note),
        Figure("single-command append (no projections)", "commands/s", bare, True,
               {"eventsourcing": peer}, [Target("ratio>=", 1.0, "eventsourcing")],
               backend="postgresql", note=note),
    ]  # fmt: skip
    # -- batched import
    # At most 5,000 meetings: with 10,000 (14k events in one save) the peer's PostgreSQL
    # recorder hung in psycopg's Pipeline.sync (seen once with eventsourcing 9.5.6).
    text = plan_toml(min(config.import_meetings, 5_000))
    provenance = Provenance("bench", "bench")
    ours, peer, raw = [], [], []
    for number in range(config.runs):
        app = new_app(server.create_database(f"import{number}"))
        start = time.perf_counter()
        total = import_plan(app.commands, text.encode(), provenance).total
        ours.append(total / (time.perf_counter() - start))
        app.close()
        server.create_database(f"es_import{number}")
        measured = peer_import(port, f"es_import{number}", text, provenance.metadata("ImportPlan"))
        if measured is not None:
            peer.append(measured)
        rows = our_rows(port, f"import{number}")
        raw.append(len(rows) / raw_insert(port, f"import{number}", rows, each=False))
    peers = {"eventsourcing": peer} if peer else {}
    log(f"postgres import: ours {statistics.median(ours):,.0f}/s, "
        f"peer {statistics.median(peer) if peer else float('nan'):,.0f}/s, "
        f"raw {statistics.median(raw):,.0f}/s")  # fmt: skip
    figures.append(
        Figure("batched import of a large plan", "events/s", ours, True,
               peers | {"raw psycopg": raw},
               [Target("ratio>=", 1.0, "eventsourcing")] if peers else [],
               backend="postgresql", note=note)
    )  # fmt: skip
    # -- rebuild and report
    size = config.postgres_size
    app = new_app(server.create_database("log"))
    events = fill(bare_store(app), size)
    runs = config.heavy_runs
    rebuild = [events / s for s in repeat(lambda: app.projector.rebuild(app.engine), runs)]
    report = [1000 * s for s in repeat(lambda: compliance_report(app.read_models), runs)]
    read_events = [
        events / s
        for s in repeat(
            lambda: raw_read(port, "log", f"SELECT {COLUMNS} FROM events ORDER BY position"),
            runs,
        )
    ]
    read_sessions = [
        1000 * s
        for s in repeat(lambda: [raw_read(port, "log", query) for query in READ_REPORTED], runs)
    ]
    app.close()
    log(f"postgres rebuild {statistics.median(rebuild):,.0f} events/s, "
        f"report {statistics.median(report):.0f} ms")  # fmt: skip
    figures += [
        Figure(f"projection rebuild ({events:,} events)", "events/s", rebuild, True,
               {"raw psycopg (read only)": read_events}, [Target("value>=", 50_000)],
               backend="postgresql", note=note),
        Figure(f"compliance report ({events:,} events)", "ms", report, False,
               {"raw psycopg (read windows and sessions)": read_sessions}, backend="postgresql",
               note=note),
    ]  # fmt: skip
    return figures


def main() -> None:
    from benchmarks.__main__ import print_table

    print_table(run(config_for("quick")))


if __name__ == "__main__":
    main()
