"""A Rich progress bar on stderr for long replays (projection rebuilds)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def progress_bar(
    description: str, *, only_on_terminal: bool = False
) -> Iterator[Callable[[int, int], None]]:
    """Yield a ``(done, total)`` callback; the bar appears on stderr at its first call only.

    With ``only_on_terminal`` nothing is drawn when stderr is not a terminal (scripts).
    """
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    task = bar.add_task(description, total=None)
    started = False

    def update(done: int, total: int) -> None:
        nonlocal started
        if only_on_terminal and not console.is_terminal:
            return
        if not started:
            bar.start()
            started = True
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if started:
            bar.stop()
