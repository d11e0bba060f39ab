"""Profile one figure with pyinstrument and print its call tree (the top frames).

    .venv/bin/python -m benchmarks.profile rebuild|report|import|append [SIZE]

SIZE is the log size (rebuild, report, append: 30 plan/reschedule/hold cycles on a log
of that size), or the number of meetings (import); feed profiles the cold render of 10,000
meetings. The output is the figure's time by frame, slowest first.
"""

from __future__ import annotations

import sys
from typing import Any

from pyinstrument import Profiler

from benchmarks.bench_append import ours_cycle
from benchmarks.bench_feed import bootstrap_with_meetings
from benchmarks.common import bare_store, new_app, scratch_dir
from benchmarks.synthetic import fill
from consultations.domain.feeds import Scope
from consultations.service_layer.feeds import FeedSpec


def profiled(function: Any, *args: Any) -> None:
    profiler = Profiler(interval=0.001)
    profiler.start()
    function(*args)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False))


def main() -> None:
    what = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    with scratch_dir() as folder:
        app = new_app(f"sqlite:///{folder / 'profile.db'}")
        if what == "import":
            from benchmarks.bench_import import plan_toml
            from consultations.service_layer.plan_import import import_plan
            from consultations.service_layer.services import Provenance

            content = plan_toml(size or 5_000).encode()
            profiled(import_plan, app.commands, content, Provenance("bench", "bench"))
        elif what == "append":
            fill(bare_store(app), size)
            app.projector.rebuild(app.engine)
            ours_cycle(app.commands, "warm", 5)
            profiled(ours_cycle, app.commands, "p", 30)
        elif what == "feed":
            app.close()
            app = bootstrap_with_meetings(folder / "feed.db")
            spec = FeedSpec("bench", "bench", Scope("all"))
            app.feeds.render(spec)
            profiled(app.feeds.render, spec)
        else:
            fill(bare_store(app), size or 100_000)
            app.projector.rebuild(app.engine)
            if what == "rebuild":
                profiled(app.projector.rebuild, app.engine)
            elif what == "report":
                from consultations.service_layer.reports import compliance_report

                compliance_report(app.read_models)
                profiled(compliance_report, app.read_models)
            else:
                raise SystemExit(f"unknown figure {what!r}")
        app.close()


if __name__ == "__main__":
    main()
