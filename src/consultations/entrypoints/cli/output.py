"""Rendering rows for the terminal and for scripts: Rich tables, JSON and CSV."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TextIO

import click
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "csv")
format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format (JSON keys are snake_case).",
)


def plain(value: Any) -> Any:
    """JSON fallback: dates as ISO 8601, value objects (durations, cadences) as text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=plain)
    return str(plain(value))


def render(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    output_format: str,
    *,
    title: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """Write ``rows`` (restricted to ``columns``) in the chosen format; JSON and CSV stream."""
    out = stream or sys.stdout
    if output_format == "json":
        out.write("[")
        for index, row in enumerate(rows):
            item = {column: row.get(column) for column in columns}
            out.write(
                ("," if index else "")
                + "\n  "
                + json.dumps(item, ensure_ascii=False, default=plain)
            )
        out.write("\n]\n")
    elif output_format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in columns])
    else:
        table = Table(title=title, show_lines=False)
        for column in columns:
            table.add_column(column.replace("_", " "), overflow="fold")
        for row in rows:
            table.add_row(*(_cell(row.get(column)) for column in columns))
        Console(file=out, width=max(120, Console().width)).print(table)
