"""Rendering rows for the terminal and for scripts: Rich tables, JSON and CSV.

Tables are for people: as wide as the terminal, times as they are typed, lists as plain
text, and a column of ids (or times, or any single words) is never broken mid-word. JSON
keeps every value in its canonical form; CSV writes lists as ``a; b``. Rich is imported
only to lay out a table (or measure the terminal), not by commands that print none.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from consultations.service_layer.wording import describe_time

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "csv")
BYTE_ORDER_MARK = "\ufeff"
_BOM_ASKED = "consultations.output.bom"
# An ISO 8601 date and time as the read tables store local wall times ("2026-05-14T10:00:00").
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?", re.ASCII)


def _check_bom(ctx: click.Context, output_format: str | None) -> None:
    if ctx.meta.get(_BOM_ASKED) and output_format not in (None, "csv"):
        raise click.BadParameter("only with --format csv", ctx=ctx, param_hint="'--bom'")


def _format_chosen(ctx: click.Context, _: click.Parameter, value: str) -> str:
    _check_bom(ctx, value)
    return value


def _bom_chosen(ctx: click.Context, _: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[_BOM_ASKED] = True
        _check_bom(ctx, ctx.params.get("output_format"))
    return value


def output_options(*formats: str) -> Callable[[F], F]:
    """``--format`` (one of ``formats``, default table) and, with CSV, ``--bom``."""

    def decorate(function: F) -> F:
        if "csv" in formats:
            function = click.option(
                "--bom",
                is_flag=True,
                expose_value=False,
                callback=_bom_chosen,
                help="Start the CSV with a UTF-8 byte-order mark (some spreadsheets need it).",
            )(function)
        return click.option(
            "--format",
            "output_format",
            type=click.Choice(formats),
            default="table",
            show_default=True,
            callback=_format_chosen,
            help="Output format (JSON keys are snake_case).",
        )(function)

    return decorate


format_option = output_options(*FORMATS)


def plain(value: Any) -> Any:
    """JSON fallback: dates as ISO 8601, value objects (durations, cadences) as text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


def _is_list(value: Any) -> bool:
    """A list of plain values (not of rows or lists): written as text, not as JSON."""
    return isinstance(value, list | tuple) and not any(
        isinstance(item, Mapping | list | tuple) for item in value
    )


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: lists as ``a; b``, nested values as JSON."""
    if value is None:
        return ""
    if _is_list(value):
        return "; ".join(csv_cell(item) for item in value)
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=plain)
    return str(plain(value))


def table_cell(value: Any) -> str:
    """A value as people read it: times as typed (instants in UTC), lists as ``a, b``."""
    if isinstance(value, str) and _ISO_TIME.fullmatch(value):
        return describe_time(datetime.fromisoformat(value))
    if isinstance(value, datetime):
        return describe_time(value)
    if _is_list(value):
        return ", ".join(table_cell(item) for item in value)
    return csv_cell(value)


def _one_word(value: Any) -> bool:
    """True for values a table must keep on one line: ids, times, numbers, single words."""
    if isinstance(value, str):
        return not value.split()[1:]
    return value is None or isinstance(value, date | int | float)


def terminal_width() -> int:
    """Columns of the terminal (``$COLUMNS`` wins; 80 when there is no terminal)."""
    from rich.console import Console

    return Console().width


def wrap_words(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """``text`` wrapped at spaces only, so ids and times are never broken."""
    return textwrap.wrap(
        text,
        width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or ([first.rstrip()] if first.strip() else [])


def field_lines(label: str, value: str | Sequence[str], width: int, label_width: int) -> list[str]:
    """``label  value``, the value wrapped under itself; a list one ``- item`` a line."""
    indent = " " * label_width
    head = label.ljust(label_width)
    if isinstance(value, str):
        return wrap_words(value, width, head, indent) if value else [label]
    if not value:
        return [f"{head}none"]
    lines: list[str] = []
    for item in value:
        lines += wrap_words(item, width, (indent if lines else head) + "- ", indent + "  ")
    return lines


def _take_bom() -> bool:
    """True once per command when ``--bom`` was given (a command may write several CSVs)."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and bool(ctx.meta.pop(_BOM_ASKED, False))


Column = str | tuple[str, ...]
"""A column, or in a table several stacked in one (``("start_local", "tz")``: tz below)."""


def _flat(columns: Sequence[Column]) -> list[str]:
    return [
        name for column in columns for name in ((column,) if isinstance(column, str) else column)
    ]


def render(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    output_format: str,
    *,
    title: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """Write ``rows`` (restricted to ``columns``) in the chosen format; JSON and CSV stream.

    A stacked column shows its values one under the other in a table, side by side in JSON
    and CSV.
    """
    out = stream or sys.stdout
    if output_format == "json":
        names = _flat(columns)
        out.write("[")
        for index, row in enumerate(rows):
            item = {name: row.get(name) for name in names}
            out.write(
                ("," if index else "")
                + "\n  "
                + json.dumps(item, ensure_ascii=False, default=plain)
            )
        out.write("\n]\n")
    elif output_format == "csv":
        names = _flat(columns)
        if _take_bom():
            out.write(BYTE_ORDER_MARK)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([csv_cell(row.get(name)) for name in names])
    else:
        from rich.console import Console

        laid_out = list(rows)  # a table is laid out from all of its rows
        stacks = [(c,) if isinstance(c, str) else c for c in columns]
        cells = [[[table_cell(row.get(n)) for n in stack] for stack in stacks] for row in laid_out]
        whole = [all(_one_word(row.get(n)) for row in laid_out for n in stack) for stack in stacks]
        console = Console(file=out)
        if _narrowest(stacks, cells, whole) > console.width:
            _records(stacks, cells, title, console.width, out)
        else:
            console.print(_table(stacks, cells, whole, title))


# A wrapped column narrower than this folds words: fine for text, never for ids.
_NARROW_TEXT = 12


def _narrowest(
    stacks: Sequence[tuple[str, ...]], cells: list[list[list[str]]], whole: list[bool]
) -> int:
    """The width the table needs without breaking a one-word column (borders included)."""
    from rich.cells import cell_len

    needed = 3 * len(stacks) + 1  # a border and two spaces of padding per column, one more
    for index, stack in enumerate(stacks):
        texts = [name.replace("_", " ") for name in stack]
        texts += [part for row in cells for part in row[index]]
        if whole[index]:
            needed += max(cell_len(text) for text in texts)
        else:
            words = [cell_len(word) for text in texts for word in text.split()]
            needed += min(max(words, default=1), _NARROW_TEXT)
    return needed


def _table(
    stacks: Sequence[tuple[str, ...]],
    cells: list[list[list[str]]],
    whole: list[bool],
    title: str | None,
) -> Table:
    from rich.table import Table

    table = Table(title=title, show_lines=any(len(stack) > 1 for stack in stacks))
    for stack, one_line in zip(stacks, whole, strict=True):
        header = "\n".join(name.replace("_", " ") for name in stack)
        table.add_column(header, overflow="fold", no_wrap=one_line)
    for row in cells:
        table.add_row(*(_stacked(parts) for parts in row))
    return table


def _stacked(parts: Iterable[str]) -> Text:
    """The values of a stacked cell one under the other, all but the first dimmed.

    Text, not markup: a title such as "[draft] agenda" is shown as typed.
    """
    from rich.text import Text

    cell = Text()
    for part in filter(None, parts):
        cell.append(("\n" if cell else "") + part, style="dim" if cell else "")
    return cell


def _records(
    stacks: Sequence[tuple[str, ...]],
    cells: list[list[list[str]]],
    title: str | None,
    width: int,
    out: TextIO,
) -> None:
    """Rows too wide for the terminal: one block of ``field  value`` lines each."""
    labels = [name.replace("_", " ") for stack in stacks for name in stack]
    label_width = max(map(len, labels), default=0) + 2
    lines = [title] if title else []
    for row in cells:
        lines.append("")
        values = [part for parts in row for part in parts]
        for label, value in zip(labels, values, strict=True):
            lines += field_lines(label, value, width, label_width)
    out.write("\n".join(lines) + "\n")
