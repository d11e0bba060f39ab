"""A Rich progress bar on stderr for long replays (projection rebuilds)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress


@contextmanager
def progress_bar(
    description: str, *, only_on_terminal: bool = False
) -> Iterator[Callable[[int, int], None]]:
    """Yield a ``(done, total)`` callback; the bar appears on stderr at its first call only.

    With ``only_on_terminal`` nothing is drawn when stderr is not a terminal (scripts). Rich
    is imported at that first call: a command with nothing to rebuild never loads it.
    """
    bar: Progress | None = None
    hidden = False

    def update(done: int, total: int) -> None:
        nonlocal bar, hidden
        if bar is None and not hidden:
            bar = _started(description, only_on_terminal=only_on_terminal)
            hidden = bar is None
        if bar is not None:
            bar.update(bar.task_ids[0], completed=done, total=total)

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


def _started(description: str, *, only_on_terminal: bool) -> Progress | None:
    """A running bar with one task, or None when it would not be seen."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    if only_on_terminal and not console.is_terminal:
        return None
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    bar.add_task(description, total=None)
    bar.start()
    return bar
