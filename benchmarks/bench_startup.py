"""CLI start-up: the wall time of a whole `consultations` process, as a user waits for it.

Baseline, measured in the same run: ``python -c "import sqlalchemy, click"`` with the same
interpreter (the two libraries a database command cannot do without). As hyperfine does,
each command runs many times after a warm-up and the median is quoted; the baseline and the
command alternate, run by run, so both see the same load on a shared machine, and each
figure's ratio is against the baseline runs interleaved with its own.

Commands: ``--help`` and ``--version`` (target: no slower than the baseline, 1.0x);
``schedule``, ``party list`` and ``meeting plan`` on a database holding the example plan
(target: within 2.0x). Each ``meeting plan`` run plans one more meeting, on a day of its own.

Run alone: .venv/bin/python -m benchmarks.bench_startup [--importtime]
(``--importtime``: what each command imports, the costliest packages first, from
``python -X importtime``; docs/performance.md quotes it.)
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from itertools import repeat
from pathlib import Path

from benchmarks.common import Config, Figure, Target, config_for, log, scratch_dir

EXAMPLE = Path(__file__).parents[1] / "examples" / "tm-az-cooperation.toml"
BASELINE = "import sqlalchemy, click"
ROUNDS = {"smoke": 5, "quick": 20, "full": 30}
WARM_UP = 2
FIRST_PLANNED = date(2031, 1, 1)  # after every meeting of the example plan


def consultations() -> list[str]:
    """The installed `consultations` script next to this interpreter (else ``-m``)."""
    script = Path(sys.executable).with_name("consultations")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "consultations"]


def environment() -> dict[str, str]:
    """This environment at an 80-column terminal, without CONSULTATIONS_* settings.

    And writing bytecode caches: the warm-up runs leave them, as a user's first run (or a
    wheel's installation) does, and the timed runs read them, as the libraries' own are read.
    """
    dropped = ("CONSULTATIONS_", "PYTHONDONTWRITEBYTECODE")
    kept = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    return {**kept, "COLUMNS": "80"}


def commands(url: str) -> dict[str, tuple[float, Iterator[list[str]]]]:
    """label → (the target ratio, the command line of each successive run)."""
    cli = [*consultations(), "--database-url", url]

    def same(*args: str) -> Iterator[list[str]]:
        while True:
            yield [*cli, *args]

    def plans() -> Iterator[list[str]]:
        day = FIRST_PLANNED
        while True:
            yield [*cli, "meeting", "plan", "--track", "political-consultations",
                   "--title", "Start-up probe", "--start", f"{day} 10:00"]  # fmt: skip
            day += timedelta(days=1)

    return {  # --help and --version touch no database
        "--help": (1.0, same("--help")),
        "--version": (1.0, same("--version")),
        "schedule": (2.0, same("schedule")),
        "party list": (2.0, same("party", "list")),
        "meeting plan": (2.0, plans()),
    }


def timed(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    """Milliseconds from starting ``argv`` to its exit; a failure stops the benchmark."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)  # fmt: skip
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return elapsed


def example_database(folder: Path, env: dict[str, str]) -> str:
    """A migrated SQLite database in ``folder`` holding the example plan; its URL."""
    url = f"sqlite:///{folder / 'example.db'}"
    for args in (["db", "upgrade"], ["plan", "import", str(EXAMPLE)]):
        subprocess.run([*consultations(), "--database-url", url, *args], cwd=folder, env=env,
                       stdout=subprocess.DEVNULL, check=True)  # fmt: skip
    return url


def run(config: Config) -> list[Figure]:
    rounds = ROUNDS.get(config.mode, ROUNDS["quick"])
    env = environment()
    baseline = [sys.executable, "-c", BASELINE]
    figures = []
    with scratch_dir() as folder:
        url = example_database(folder, env)
        for label, (ratio, runs) in commands(url).items():
            ours: list[float] = []
            theirs: list[float] = []
            for index in range(WARM_UP + rounds):
                if index % 2:  # which goes first alternates too
                    own, base = timed(next(runs), folder, env), timed(baseline, folder, env)
                else:
                    base, own = timed(baseline, folder, env), timed(next(runs), folder, env)
                if index >= WARM_UP:
                    theirs.append(base)
                    ours.append(own)
            figure = Figure(f"start-up: consultations {label}", "ms", ours, False,
                            {BASELINE: theirs}, [Target("ratio<=", ratio, BASELINE)],
                            backend="sqlite" if label[0] != "-" else "no database",
                            note=f"{rounds} runs each, alternating")  # fmt: skip
            [(target, met)] = figure.verdicts()
            log(f"{label}: {figure.median:.0f} ms, baseline {figure.baseline_median(BASELINE):.0f}"
                f" ms: {figure.ratio(BASELINE):.2f}x ({target.describe('ms')}: "
                f"{'MET' if met else 'MISSED'})")  # fmt: skip
            figures.append(figure)
    return figures


# -- what each command imports ----------------------------------------------------------------

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)")


def imported(
    argvs: Iterator[list[str]], cwd: Path, env: dict[str, str], runs: int = 5
) -> Counter[str]:
    """Self import time (ms) of each top-level package a command loads (median of ``runs``)."""
    samples: dict[str, list[float]] = {}
    for run_index in range(runs + 1):  # the first one only writes the bytecode caches
        argv = next(argvs)
        script = argv[1:] if argv[0] == sys.executable else argv  # a console script: by path
        done = subprocess.run([sys.executable, "-X", "importtime", *script], cwd=cwd, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=True)  # fmt: skip
        costs: Counter[str] = Counter()
        for found in _IMPORT_LINE.finditer(done.stderr):
            costs[found.group(2).split(".")[0]] += int(found.group(1)) / 1000
        for name, ms in costs.items():
            if run_index:
                samples.setdefault(name, []).append(ms)
    return Counter({name: statistics.median(values) for name, values in samples.items()})


def print_imports(top: int = 8) -> None:
    """For each command: the total self import time and its costliest packages."""
    env = environment()
    with scratch_dir() as folder:
        url = example_database(folder, env)
        lines = {f'python -c "{BASELINE}"': repeat([sys.executable, "-c", BASELINE])}
        for label, (_, runs) in commands(url).items():
            lines[f"consultations {label}"] = runs
        for label, argvs in lines.items():
            costs = imported(argvs, folder, env)
            heaviest = ", ".join(f"{name} {ms:.0f}" for name, ms in costs.most_common(top))
            print(f"{label}: {sum(costs.values()):.0f} ms ({heaviest})")


def main() -> None:
    from benchmarks.__main__ import print_table

    if "--importtime" in sys.argv[1:]:
        print_imports()
        return
    print_table(run(config_for("quick", postgres=False)))


if __name__ == "__main__":
    main()
