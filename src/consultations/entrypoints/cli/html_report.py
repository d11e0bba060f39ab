"""The compliance report as one self-contained HTML file: a timeline per track, no network."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from html import escape
from itertools import groupby
from pathlib import Path
from typing import Any

from consultations.adapters.atomic_file import write_atomically

COLOURS = {
    "satisfied": "#2e7d32",
    "scheduled": "#1565c0",
    "open": "#90a4ae",
    "upcoming": "#cfd8dc",
    "at_risk": "#f9a825",
    "unconfirmed": "#8e24aa",
    "missed": "#c62828",
}
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#212121}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin:1.6rem 0 .3rem}
.meta{color:#616161}.legend span{display:inline-block;margin-right:1rem}
.legend i{display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;vertical-align:middle}
table{border-collapse:collapse;margin-top:.4rem;font-size:.9rem}
td,th{border:1px solid #e0e0e0;padding:.2rem .5rem;text-align:left}
td.status{color:#fff;font-weight:600}
svg text{font-size:10px;fill:#212121}
"""
WIDTH, BAR_TOP, BAR_HEIGHT = 900, 14, 22


def write_compliance_html(
    rows: Sequence[dict[str, Any]], as_of: date | None, output: Path | None
) -> None:
    """Render the report; write it to ``output`` atomically, or to stdout."""
    document = render_compliance_html(rows, as_of)
    if output is None:
        sys.stdout.write(document)
    else:
        write_atomically(output, document.encode("utf-8"))


def render_compliance_html(rows: Sequence[dict[str, Any]], as_of: date | None) -> str:
    """The whole HTML document."""
    when = as_of.isoformat() if as_of else "today (in each track's time zone)"
    legend = "".join(
        f'<span><i style="background:{colour}"></i>{escape(status)}</span>'
        for status, colour in COLOURS.items()
    )
    sections = [
        _track_section(list(windows)) for _, windows in groupby(rows, key=lambda row: row["track"])
    ]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Compliance report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>Compliance report</h1>"
        f'<p class="meta">Status as of {escape(when)}. Generated {generated}.</p>'
        f'<p class="legend">{legend}</p>'
        + "".join(sections)
        + ("" if sections else "<p>No tracks.</p>")
        + "</body></html>\n"
    )


def _track_section(windows: list[dict[str, Any]]) -> str:
    first = windows[0]
    heading = (
        f'<h2 id="{escape(first["track"])}">{escape(first["title"])}</h2>'
        f'<p class="meta">{escape(first["track"])} · priority {escape(first["priority"])}'
        f" · areas {escape(', '.join(first['areas']) or '–')}</p>"
    )
    return heading + _timeline(windows) + _table(windows)


def _timeline(windows: list[dict[str, Any]]) -> str:
    start: date = min(w["window_start"] for w in windows)
    end: date = max(w["window_end"] for w in windows)
    span = max((end - start).days + 1, 1)

    def x(day: date) -> float:
        return round(float((day - start).days) / span * WIDTH, 1)

    bars = []
    for w, following in zip(windows, [*windows[1:], None], strict=True):
        # A closed max-gap window keeps its deadline as end, overlapping the next window:
        # draw it only up to the day before the next one starts, so no bar hides another.
        last = w["window_end"]
        if following is not None and following["window_start"] <= last:
            last = max(following["window_start"] - timedelta(days=1), w["window_start"])
        left, right = x(w["window_start"]), x(last) + WIDTH / span
        bars.append(
            f'<rect x="{left}" y="{BAR_TOP}" width="{max(right - left - 1, 1):.1f}" '
            f'height="{BAR_HEIGHT}" fill="{COLOURS[w["status"]]}">'
            f"<title>{escape(w['window'])}: {escape(w['status'])} "
            f"({w['held']} held of {w['required']})</title></rect>"
            f'<text x="{left + 2}" y="{BAR_TOP - 3}">{escape(w["window"].split("..")[0])}</text>'
        )
    return (
        f'<svg role="img" aria-label="timeline of {escape(windows[0]["track"])}" '
        f'width="{WIDTH}" height="{BAR_TOP + BAR_HEIGHT + 4}" '
        f'viewBox="0 0 {WIDTH} {BAR_TOP + BAR_HEIGHT + 4}">{"".join(bars)}</svg>'
    )


def _table(windows: list[dict[str, Any]]) -> str:
    head = "".join(
        f"<th>{name}</th>"
        for name in ("window", "from", "to", "required", "held", "planned", "unconfirmed", "status")
    )
    body = "".join(
        "<tr>"
        f"<td>{escape(w['window'])}</td><td>{w['window_start']}</td><td>{w['window_end']}</td>"
        f"<td>{w['required']}</td><td>{w['held']}</td><td>{w['planned']}</td>"
        f"<td>{w['unconfirmed']}</td>"
        f'<td class="status" style="background:{COLOURS[w["status"]]}">{escape(w["status"])}</td>'
        "</tr>"
        for w in windows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
