"""`make bench`: run every benchmark, print one table, write benchmarks/results.json.

    .venv/bin/python -m benchmarks [--size quick|full|smoke] [--only append,import,...]
                                   [--no-postgres] [--markdown]

The size comes from ``--size`` or ``BENCH_SIZE`` (default ``full``: growth up to 1,000,000
events, 5 runs of the cheap figures; ``quick`` stops at 100,000 events and runs 3 times).
Each figure is the median of its runs (min and max shown); each baseline is measured in
the same process, on the same machine, right next to it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import Figure, config_for, write_json

MODULES = {
    "append": "benchmarks.bench_append",
    "import": "benchmarks.bench_import",
    "log": "benchmarks.bench_log",  # rebuild, report, and growth from 10k to 1M events
    "feed": "benchmarks.bench_feed",
    "daemon": "benchmarks.bench_daemon",
    "postgres": "benchmarks.bench_postgres",
    "startup": "benchmarks.bench_startup",  # CLI start-up: --help, --version, three commands
}
RESULTS = Path(__file__).with_name("results.json")


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def rows_of(figures: list[Figure]) -> list[list[str]]:
    """One row per (figure, baseline); the figure's columns only on its first row."""
    rows = []
    for figure in figures:
        verdicts = figure.verdicts()
        targets = "; ".join(
            f"{t.describe(figure.unit)} {'MET' if met else 'MISSED'}" for t, met in verdicts
        )
        own = [
            f"{figure.name} [{figure.backend}]",
            f"{_number(figure.median)} {figure.unit}",
            f"{_number(min(figure.samples))}–{_number(max(figure.samples))}",
        ]
        baselines = list(figure.baselines) or [None]
        for index, name in enumerate(baselines):
            head = own if index == 0 else ["", "", ""]
            if name is None:
                base = ["—", "", "", ""]
            else:
                values = figure.baselines[name]
                base = [
                    name,
                    _number(statistics.median(values)),
                    f"{_number(min(values))}–{_number(max(values))}",
                    f"{figure.ratio(name):.2f}x",
                ]
            rows.append([*head, *base, targets if index == 0 else ""])
    return rows


HEADER = ["figure", "median", "min–max", "baseline", "median", "min–max", "ratio", "target"]


def print_table(figures: list[Figure], *, markdown: bool = False) -> None:
    rows = rows_of(figures)
    if markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "---|" * len(HEADER))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(str(r[i])) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    line = "  ".join(f"{{:{'<' if i in (0, 3, 7) else '>'}{w}}}" for i, w in enumerate(widths))
    print(line.format(*HEADER))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row).rstrip())


def print_growth(figures: list[Figure], *, markdown: bool = False) -> None:
    """The growth series: each figure by log size, and its growth against the smallest."""
    series: dict[str, dict[int, Figure]] = {}
    for figure in figures:
        if figure.size is not None:
            series.setdefault(figure.series, {})[figure.size] = figure
    if not series:
        return
    sizes = sorted({size for by_size in series.values() for size in by_size})
    header = ["figure", "unit", *[f"{s:,} events" for s in sizes], "growth (last/first)"]
    body = []
    for name, by_size in series.items():
        first, last = by_size[sizes[0]], by_size[sizes[-1]]
        growth = last.median / first.median if first.median else float("nan")
        values = [_number(by_size[s].median) if s in by_size else "" for s in sizes]
        ratio = f"{growth:.2f}x for {sizes[-1] / sizes[0]:g}x events"
        body.append([name, first.unit, *values, ratio])
    print()
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in body:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    line = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    print(line.format(*header))
    for row in body:
        print(line.format(*row))


def save(path: Path, mode: str, elapsed: float, figures: list[Figure]) -> None:
    write_json(
        path,
        {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": mode,
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "load_average": os.getloadavg(),  # other work on the machine skews figures
            },
            "seconds": elapsed,
            "figures": [f.as_json() for f in figures],
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--size", default=os.environ.get("BENCH_SIZE", "full"))
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(MODULES))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    config = config_for(args.size, postgres=not args.no_postgres)
    chosen = [m for m in args.only.split(",") if m] or list(MODULES)
    if not config.postgres and "postgres" in chosen:
        chosen.remove("postgres")
    figures: list[Figure] = []
    started = time.perf_counter()
    for key in chosen:
        print(f"[{key}] …", flush=True)
        began = time.perf_counter()
        module = importlib.import_module(MODULES[key])
        figures += module.run(config)
        print(f"[{key}] done in {time.perf_counter() - began:.0f}s", flush=True)
        save(args.output, args.size, time.perf_counter() - started, figures)  # partial results
    elapsed = time.perf_counter() - started
    main_figures = [f for f in figures if f.size is None or f.headline]
    print()
    print(
        f"consultations benchmarks, {args.size} mode, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {elapsed:.0f}s"
    )
    print_table(main_figures)
    print_growth(figures)
    if args.markdown:
        print()
        print_table(main_figures, markdown=True)
        print_growth(figures, markdown=True)
    save(args.output, args.size, elapsed, figures)
    missed = [f.name for f in main_figures for _, met in f.verdicts() if not met]
    print(f"\n{len(missed)} target(s) missed" + (": " + "; ".join(missed) if missed else ""))
    print(f"results: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
