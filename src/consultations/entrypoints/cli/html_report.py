"""The compliance report as one self-contained HTML file: no script, no network.

From the top: a summary (windows by status, the windows at risk or missed, the overdue
action items), one timeline of every track on a shared time axis with a line for today,
the forward look (each track's current window and the next ones), and a table per track
with the meetings counted in each window. Every value from the database is escaped.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from pathlib import Path
from typing import Any, Final

from consultations.adapters.atomic_file import write_atomically
from consultations.domain.compliance import WindowStatus
from consultations.service_layer.reports import (
    ComplianceOverview,
    CountedMeeting,
    TrackOverview,
    WindowOverview,
)


@dataclass(frozen=True, slots=True)
class StatusStyle:
    """How a window status reads: its words, and its text colour (``ink``) on its ``fill``.

    Every pair has a contrast of at least 4.5:1 (WCAG AA for normal text).
    ``attention``: the summary lists the windows in this status as at risk or missed.
    """

    label: str
    fill: str
    ink: str
    attention: bool = False


# In the order the summary counts them: what needs attention first. One line per status;
# "awaiting_record" is the status of a running window whose sessions only await their
# record.
STATUS_STYLES: Final = {
    "missed": StatusStyle("missed", "#b71c1c", "#ffffff", attention=True),
    "at_risk": StatusStyle("at risk", "#f9a825", "#1b1b1b", attention=True),
    "unconfirmed": StatusStyle("unconfirmed", "#6a1b9a", "#ffffff", attention=True),
    "awaiting_record": StatusStyle("awaiting record", "#8d4e00", "#ffffff", attention=True),
    "open": StatusStyle("open", "#cfd8dc", "#1b1b1b"),
    "scheduled": StatusStyle("scheduled", "#1565c0", "#ffffff"),
    "upcoming": StatusStyle("upcoming", "#eceff1", "#37474f"),
    "satisfied": StatusStyle("satisfied", "#2e7d32", "#ffffff"),
}
STATUSES: Final = tuple(s for s in STATUS_STYLES if s in {w.value for w in WindowStatus})
# How a meeting counts in its window (reports.CountedMeeting.state).
MEETING_STATES: Final = {"held": "held", "planned": "planned", "unconfirmed": "awaiting record"}

PAGE, INK, MUTED = "#ffffff", "#1b1b1b", "#555555"
STYLE: Final = f"""
*{{box-sizing:border-box}}
body{{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:{INK};
background:{PAGE};margin:0 auto;padding:1.2rem 1.5rem 3rem;max-width:1280px}}
h1{{font-size:1.5rem;margin:0 0 .3rem}}
h2{{font-size:1.2rem;margin:2rem 0 .5rem;padding-top:.6rem;border-top:2px solid #e0e0e0}}
h3{{font-size:1rem;margin:1.2rem 0 .4rem}}
p{{margin:.3rem 0}}
.meta,.dates,.id{{color:{MUTED}}}
.meta{{font-size:.9rem}}.dates,.id{{font-size:.8rem}}
.badge{{display:inline-block;padding:0 .45rem;border-radius:.25rem;font-weight:600;
white-space:nowrap}}
.counts{{display:flex;flex-wrap:wrap;gap:.4rem .9rem;list-style:none;padding:0;margin:.4rem 0}}
.counts b{{font-size:1.1rem;margin-left:.25rem}}
table{{border-collapse:collapse;width:100%;font-size:.9rem}}
th,td{{border-bottom:1px solid #e0e0e0;padding:.35rem .5rem;text-align:left;
vertical-align:top;overflow-wrap:break-word}}
.nowrap,.dates,.id{{white-space:nowrap}}
th{{font-size:.8rem;color:{MUTED};border-bottom:2px solid #bdbdbd}}
tr.current{{background:#fff8e1}}
.meetings{{list-style:none;margin:0;padding:0}}
.meetings li{{margin:0 0 .15rem}}
.state{{font-weight:600}}
.day-off{{color:#8d4e00;font-size:.8rem}}
.chart{{position:relative;margin:.5rem 0 1rem;padding:1.4rem 0 1.5rem}}
.year{{position:absolute;top:0;bottom:0;border-left:1px solid #bdbdbd;padding-left:.25rem;
font-size:.8rem;color:{MUTED}}}
.lane{{position:relative;padding:.15rem 0}}
.lane a{{display:block;position:relative;z-index:3;font-size:.8rem;color:{INK};white-space:nowrap;
overflow:hidden;text-overflow:ellipsis;background:{PAGE};width:max-content;max-width:100%;
padding-right:.3rem}}
.bars{{position:relative;height:1.35rem}}
.bar{{position:absolute;top:0;bottom:0;overflow:hidden;white-space:nowrap;
text-overflow:ellipsis;font-size:.75rem;line-height:1.2rem;padding:0 .2rem;
border:1px solid #78909c;border-radius:.15rem}}
.today{{position:absolute;top:0;bottom:0;border-left:2px solid #000;z-index:2}}
.today span{{position:absolute;bottom:0;white-space:nowrap;font-size:.75rem;font-weight:600;
background:#000000;color:#ffffff;padding:0 .3rem;border-radius:.2rem}}
.today.late span{{right:0}}
.ahead{{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:.8rem}}
.card{{border:1px solid #e0e0e0;border-radius:.3rem;padding:.5rem .7rem}}
.card h3{{margin:0 0 .3rem;font-size:.95rem}}
.card section{{border-top:1px solid #eeeeee;padding:.35rem 0}}
@media (max-width:760px){{body{{padding:.8rem}}th,td{{padding:.3rem .3rem}}}}
""" + "".join(
    f".s-{name}{{background:{style.fill};color:{style.ink}}}\n"
    for name, style in STATUS_STYLES.items()
)


def write_compliance_html(overview: ComplianceOverview, output: Path | None) -> None:
    """Render the report; write it to ``output`` atomically, or to stdout."""
    document = render_compliance_html(overview)
    if output is None:
        sys.stdout.write(document)
    else:
        write_atomically(output, document.encode("utf-8"))


def render_compliance_html(overview: ComplianceOverview) -> str:
    """The whole HTML document."""
    if overview.as_of is None:
        when = f"Status today, {overview.today} (each track on the date in its own time zone)."
    else:
        when = f"Status as of {overview.as_of}."
    withheld = any(m.withheld for m in _all_meetings(overview)) or any(
        item["withheld"] for item in overview.overdue_actions
    )
    body = ["<p>No tracks.</p>"]
    if overview.tracks:
        body = [_summary(overview), _timeline(overview), _forward_look(overview)]
        body += [_overdue(overview), *(_track_section(track) for track in overview.tracks)]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Compliance report</title><style>{STYLE}</style></head><body>"
        "<h1>Compliance report</h1>"
        f'<p class="meta">{escape(when)} '
        f"Generated {overview.generated.strftime('%Y-%m-%d %H:%M')} UTC."
        + (" Restricted meetings are shown as Busy, without details." if withheld else "")
        + "</p>"
        + "".join(body)
        + "</body></html>\n"
    )


# --- parts ------------------------------------------------------------------------------


def _summary(overview: ComplianceOverview) -> str:
    windows = [w for track in overview.tracks for w in track.windows]
    counts = Counter(w.row["status"] for w in windows)
    first = min(w.row["window_start"] for w in windows) if windows else None
    last = max(w.row["window_end"] for w in windows) if windows else None
    span = f" from {first} to {last}" if windows else ""
    attention = [
        (track, w)
        for track in overview.tracks
        for w in track.windows
        if STATUS_STYLES[w.row["status"]].attention
    ]
    needing = [STATUS_STYLES[s].label for s in STATUSES if STATUS_STYLES[s].attention]
    needs = " or ".join(filter(None, (", ".join(needing[:-1]), needing[-1])))
    rows = "".join(
        f'<tr data-track="{_e(track.track["track_id"])}" data-window="{_e(w.row["window"])}" '
        f'data-status="{_e(w.row["status"])}"><td>{_track_link(track)}</td>'
        f"<td>{_window_cell(w.row)}</td><td>{_badge(w.row['status'])}</td>"
        f"<td>{_e(_sessions(w.row))}</td></tr>"
        for track, w in attention
    )
    return (
        '<section id="summary"><h2>Summary</h2>'
        f"<p>{_count(len(overview.tracks), 'track')}, "
        f"{_count(len(windows), 'window')}{_e(span)}.</p>"
        '<ul class="counts">'
        + "".join(f'<li data-status="{_e(s)}">{_badge(s)}<b>{counts[s]}</b></li>' for s in STATUSES)
        + "</ul>"
        + f'<h3 id="attention">Needs attention: {_e(needs)} ({len(attention)})</h3>'
        + (
            _table(("Track", "Window", "Status", "Sessions"), rows, "attention")
            if attention
            else f"<p>No window is {_e(needs)}.</p>"
        )
        + "<h3>Action items</h3>"
        + _overdue_summary(overview)
        + "</section>"
    )


def _overdue_summary(overview: ComplianceOverview) -> str:
    items = overview.overdue_actions
    if not items:
        return f"<p>No action item is overdue on {_e(overview.today)}.</p>"
    owners = Counter("withheld" if item["withheld"] else item["owner"] for item in items)
    dues = [item["due"] for item in items if item["due"] is not None]
    oldest = f"; the oldest was due on {min(dues)}" if dues else ""
    by_owner = ", ".join(f"{owner} {count}" for owner, count in sorted(owners.items()))
    return (
        f'<p><a href="#overdue">{_e(_count(len(items), "action item"))} overdue</a> on '
        f"{_e(overview.today)} ({_e(by_owner)}){_e(oldest)}.</p>"
    )


def _overdue(overview: ComplianceOverview) -> str:
    items = overview.overdue_actions
    rows = "".join(
        f'<tr data-meeting="{_e(item["meeting_id"])}">'
        f'<td class="nowrap">{_e(item["due"] or "–")}</td>'
        f'<td class="nowrap">{_e(item["owner"] or "–")}</td>'
        f"<td>{_e('Busy (details withheld)' if item['withheld'] else item['text'])}</td>"
        f'<td>{_e(item["title"])} <span class="id">{_e(item["meeting_id"])}</span></td>'
        "</tr>"
        for item in items
    )
    return (
        f'<section id="overdue"><h2>Overdue action items ({len(items)})</h2>'
        f'<p class="meta">Open action items past their due date on {_e(overview.today)}.</p>'
        + (_table(("Due", "Owner", "Action", "Meeting"), rows, "overdue") if items else "")
        + "</section>"
    )


def _timeline(overview: ComplianceOverview) -> str:
    windows = [w.row for track in overview.tracks for w in track.windows]
    if not windows:
        return ""
    axis = _Axis(
        date(min(w["window_start"] for w in windows).year, 1, 1),
        date(max(w["window_end"] for w in windows).year, 12, 31),
    )
    years = "".join(
        f'<div class="year" style="left:{axis.at(date(year, 1, 1))}%">{year}</div>'
        for year in range(axis.start.year, axis.end.year + 1)
    )
    today = ""
    if axis.start <= overview.today <= axis.end:
        where = axis.at(overview.today)
        late = " late" if where > 75 else ""
        today = (
            f'<div class="today{late}" style="left:{where}%" data-day="{_e(overview.today)}">'
            f"<span>today {_e(overview.today)}</span></div>"
        )
    lanes = "".join(
        f'<div class="lane" data-track="{_e(track.track["track_id"])}">{_track_link(track)}'
        f'<div class="bars">{_bars(track, axis)}</div></div>'
        for track in overview.tracks
    )
    return (
        '<section id="timeline"><h2>Timeline</h2>'
        f'<div class="chart">{years}{today}{lanes}</div></section>'
    )


@dataclass(frozen=True, slots=True)
class _Axis:
    """The shared time axis, from ``start`` to ``end`` (whole days), in percent."""

    start: date
    end: date

    def at(self, day: date) -> float:
        """The left edge of ``day``, in percent of the axis."""
        return round((day - self.start).days / ((self.end - self.start).days + 1) * 100, 3)


def _bars(track: TrackOverview, axis: _Axis) -> str:
    rows = [w.row for w in track.windows]
    bars = []
    for row, following in zip(rows, [*rows[1:], None], strict=True):
        # A closed max-gap window keeps its deadline as end, overlapping the next window:
        # draw it only up to the day before the next one starts, so no bar hides another.
        last = row["window_end"]
        if following is not None and following["window_start"] <= last:
            last = max(following["window_start"] - timedelta(days=1), row["window_start"])
        left = axis.at(row["window_start"])
        width = round(axis.at(last + timedelta(days=1)) - left, 3)
        status = row["status"]
        bars.append(
            f'<span class="bar s-{_e(status)}" style="left:{left}%;width:{width}%" '
            f'data-window="{_e(row["window"])}" data-status="{_e(status)}" '
            f'title="{_e(row["window"])}: {_e(_label(status))}, {_e(_sessions(row))}">'
            f"{_e(_label(status))}</span>"
        )
    return "".join(bars)


def _forward_look(overview: ComplianceOverview) -> str:
    cards = "".join(
        f'<div class="card" data-track="{_e(track.track["track_id"])}">'
        f"<h3>{_track_link(track)}</h3>"
        + "".join(
            f'<section data-window="{_e(w.row["window"])}">'
            f"<p>{_badge(w.row['status'])} <b>{_window_label(w.row)}</b> "
            f'<span class="dates">{_e(_dates(w.row))}</span></p>'
            f"<p>{_e(_sessions(w.row))}</p>{_meetings(w.meetings)}</section>"
            for w in track.ahead
        )
        + "</div>"
        for track in overview.tracks
        if track.ahead
    )
    return (
        '<section id="ahead"><h2>Coming up</h2>'
        '<p class="meta">Each track\'s current window and the windows after it.</p>'
        + (f'<div class="ahead">{cards}</div>' if cards else "<p>Nothing ahead.</p>")
        + "</section>"
    )


def _track_section(track: TrackOverview) -> str:
    info = track.track
    facts = [
        info["track_id"],
        f"cadence {info['cadence']}",
        f"priority {info['priority']}",
        f"areas {', '.join(info['areas']) or '–'}",
        f"time zone {info['tz']}",
    ]
    if info["retired_on"] is not None:
        facts.append(f"retired on {info['retired_on']}")
    meta = _e(" · ".join(facts))
    current = next((w for w in track.ahead if w.row["window_start"] <= track.as_of), None)
    rows = "".join(
        f'<tr data-window="{_e(w.row["window"])}" data-status="{_e(w.row["status"])}"'
        + (' class="current"' if w is current else "")
        + f"><td>{_window_cell(w.row)}</td><td>{_badge(w.row['status'])}</td>"
        f"<td>{_e(_sessions(w.row))}</td><td>{_meetings(w.meetings)}</td></tr>"
        for w in track.windows
    )
    return (
        f'<section class="track" id="track-{_e(info["track_id"])}">'
        f'<h2>{_e(info["title"])}</h2><p class="meta">{meta}</p>'
        + _table(("Window", "Status", "Sessions", "Meetings counted"), rows, "windows")
        + "</section>"
    )


# --- pieces -----------------------------------------------------------------------------


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _label(status: str) -> str:
    return STATUS_STYLES[status].label


def _badge(status: str) -> str:
    return f'<span class="badge s-{_e(status)}">{_e(_label(status))}</span>'


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _table(head: Sequence[str], rows: str, name: str) -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f'<table class="{name}"><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table>'


def _track_link(track: TrackOverview) -> str:
    info = track.track
    return f'<a href="#track-{_e(info["track_id"])}">{_e(info["title"])}</a>'


def _window_label(row: dict[str, Any]) -> str:
    # A max-gap label is two dates joined by "..": break it there, never inside a date.
    return "..<wbr>".join(
        f'<span class="nowrap">{_e(part)}</span>' for part in row["window"].split("..")
    )


def _dates(row: dict[str, Any]) -> str:
    """The window's first and last day, unless its label names them already (max-gap)."""
    if row["window"] == f"{row['window_start']}..{row['window_end']}":
        return ""
    return f"{row['window_start']} – {row['window_end']}"


def _window_cell(row: dict[str, Any]) -> str:
    dates = _dates(row)
    return _window_label(row) + (f'<br><span class="dates">{_e(dates)}</span>' if dates else "")


def _sessions(row: dict[str, Any]) -> str:
    parts = [f"{row['held']} of {row['required']} held"]
    if row["planned"]:
        parts.append(f"{row['planned']} planned")
    if row["unconfirmed"]:
        parts.append(f"{row['unconfirmed']} {MEETING_STATES['unconfirmed']}")
    return ", ".join(parts)


def _meetings(meetings: Sequence[CountedMeeting]) -> str:
    if not meetings:
        return '<p class="meta">No meeting counted.</p>'
    items = "".join(
        f'<li data-meeting="{_e(m.meeting_id)}"><span class="dates">{_e(m.day)}</span> '
        f'<span class="state">{_e(MEETING_STATES[m.state])}</span> '
        + (f"{_e(m.title)} (restricted)" if m.withheld else _e(m.title))
        + f' <span class="id">{_e(m.meeting_id)}</span>'
        + (
            f'<br><span class="day-off">non-working day: {_e("; ".join(m.non_working))}</span>'
            if m.non_working
            else ""
        )
        + "</li>"
        for m in meetings
    )
    return f'<ul class="meetings">{items}</ul>'


def _all_meetings(overview: ComplianceOverview) -> Iterable[CountedMeeting]:
    windows: Iterable[WindowOverview] = (w for t in overview.tracks for w in t.windows)
    return (m for w in windows for m in w.meetings)
