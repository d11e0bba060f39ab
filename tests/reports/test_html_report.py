"""`report compliance --format html`: the page an officer reads.

One known dataset, judged on 2026-05-10, shows every status: the summary counts its windows
by status and lists what needs attention and the overdue action items; one time axis
carries every track and a line for today; the forward look shows each track's current and
next window; each window lists the meetings counted in it. Labels are words, every status
colour pair is readable (WCAG AA, computed from the CSS the page carries), user input is
escaped, and a restricted meeting is a busy block unless the report is asked for details.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine

from consultations.domain.compliance import WindowStatus
from tests.reports.support import Cli, contrast, span

AS_OF = "2026-05-10"
LABELS = {
    "satisfied": "satisfied", "missed": "missed", "unconfirmed": "unconfirmed",
    "scheduled": "scheduled", "at_risk": "at risk", "open": "open", "upcoming": "upcoming",
}  # fmt: skip
WINDOWS = {
    ("cx", "2026"): "open",  # 1 of 2 held, nothing planned, not yet 60 days from the end
    ("cx", "2027"): "upcoming",  # the forward look reaches the next window
    ("pc", "2025-Q3"): "satisfied",
    ("pc", "2025-Q4"): "missed",  # its only meeting was cancelled
    ("pc", "2026-Q1"): "unconfirmed",  # planned, day passed, never recorded
    ("pc", "2026-Q2"): "scheduled",  # one awaiting record, one planned
    ("pc", "2026-Q3"): "upcoming",
    ("pc", "2026-Q4"): "upcoming",
    ("sec", "2026"): "satisfied",  # by a restricted meeting
    ("sec", "2027"): "upcoming",
    ("ws", "2025-H1"): "satisfied",
    ("ws", "2025-H2"): "satisfied",
    ("ws", "2026-H1"): "at_risk",  # nothing planned, ends 2026-06-30
    ("ws", "2026-H2"): "upcoming",
}
SECRET = {
    "title": "Secret pipeline talks",
    "venue": "Bunker seven",
    "agenda": "Valve codes",
    "action": "Rotate the valve codes",
}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], database_url: str, migrated_engine: Engine) -> Cli:
    return Cli.with_parties(capsys, database_url, migrated_engine)


@pytest.fixture
def known(cli: Cli) -> Cli:
    """Four tracks whose windows, on 2026-05-10, show every status (``WINDOWS``)."""
    cli.track("pc", "quarter", "2025-07-01", "--priority", "high")
    cli.meeting("pc", "pc-q3", "2025-08-10 10:00")
    cli.ok(
        "meeting", "held", "pc-q3",
        "--action", "Send the memorandum|AZ-MFA|2025-09-01",
        "--action", "Draft the 2027 plan|TM-MFA|2026-12-01",
    )  # fmt: skip
    cli.meeting("pc", "pc-q4", "2025-11-10 10:00")
    cli.ok("meeting", "cancel", "pc-q4", "--reason", "postponed")
    cli.meeting("pc", "pc-q1", "2026-02-10 10:00")
    cli.meeting("pc", "pc-q2", "2026-06-10 10:00")
    cli.meeting("pc", "pc-q2b", "2026-04-20 10:00")
    cli.track("ws", "half-year", "2025-01-01", "--tz", "Asia/Baku")
    cli.meeting("ws", "ws-h1", "2025-04-15 10:00", held=True)
    cli.meeting("ws", "ws-h2", "2025-10-21 10:00", held=True)
    cli.track("cx", "year", "2026-01-01", "--required", "2")
    cli.meeting("cx", "cx-feb", "2026-02-01 10:00", held=True)
    cli.track("sec", "year", "2026-01-01")
    cli.ok(
        "meeting", "plan", "--track", "sec", "--title", SECRET["title"],
        "--start", "2026-03-03 10:00", "--venue", SECRET["venue"], "--agenda", SECRET["agenda"],
        "--classification", "restricted", "--id", "sec-1",
    )  # fmt: skip
    cli.ok("meeting", "held", "sec-1", "--action", f"{SECRET['action']}|AZ-MFA|2026-04-01")
    return cli


def test_status_labels_are_words(known: Cli) -> None:
    document = known.html("--as-of", AS_OF)
    assert {status for *_, status in document.windows()} == set(LABELS)
    for track in document.tracks():
        for row in document.table(track):
            assert document.badge(row) == LABELS[row.attrs["data-status"]]
        for bar in document.bars(track):
            assert bar.text() == LABELS[bar.attrs["data-status"]]
            assert bar.attrs["title"].startswith(
                f"{bar.attrs['data-window']}: {LABELS[bar.attrs['data-status']]}, "
            )
    shown = document.root.by_id("summary").text() + document.root.by_id("timeline").text()
    assert "at risk" in shown
    assert "_" not in shown


def test_every_status_colour_pair_is_readable(known: Cli) -> None:
    """WCAG AA: text on its background at least 4.5:1, from the CSS the page carries."""
    document = known.html("--as-of", AS_OF)
    colours = document.status_colours()
    assert {status.value for status in WindowStatus} <= set(colours)
    for status, (fill, ink) in colours.items():
        assert contrast(fill, ink) >= 4.5, (status, fill, ink, contrast(fill, ink))
    (page,) = [
        rule["background"] for sel, rule in document.css if sel == "body" and "background" in rule
    ]
    for selector, rule in document.css:
        if "color" in rule:
            ratio = contrast(rule["color"], rule.get("background", page))
            assert ratio >= 4.5, (selector, rule, ratio)
    # The colours are those of the statuses: each badge and bar uses its status's class.
    for track in document.tracks():
        for node in [*document.table(track), *document.bars(track)]:
            status = node.attrs["data-status"]
            styled = node if "bar" in node.classes() else node.by_class("badge")[0]
            assert f"s-{status}" in styled.classes()


def test_summary_counts_windows_by_status_and_lists_what_needs_attention(known: Cli) -> None:
    document = known.html("--as-of", AS_OF)
    assert {(t, w): s for t, w, s in document.windows()} == WINDOWS
    assert document.counts() == {
        "missed": 1, "at_risk": 1, "unconfirmed": 1, "awaiting_record": 0, "open": 1,
        "scheduled": 1, "upcoming": 5, "satisfied": 4,
    }  # fmt: skip
    assert sum(document.counts().values()) == len(WINDOWS)
    assert document.attention() == [
        ("pc", "2025-Q4", "missed"), ("pc", "2026-Q1", "unconfirmed"),
        ("ws", "2026-H1", "at_risk"),
    ]  # fmt: skip
    summary = document.root.by_id("summary").text()
    assert "4 tracks, 14 windows from 2025-01-01 to 2027-12-31." in summary
    # Overdue on 2026-05-10: pc-q3's first item (the second is due in December) and the
    # restricted meeting's, whose details are withheld and which comes last.
    assert "2 action items overdue on 2026-05-10 (AZ-MFA 1, withheld 1)" in summary
    assert "the oldest was due on 2025-09-01" in summary
    assert document.overdue() == [
        ("pc-q3", ["2025-09-01", "AZ-MFA", "Send the memorandum", "Meeting pc-q3 pc-q3"]),
        ("sec-1", ["–", "–", "Busy (details withheld)", "Busy sec-1"]),
    ]
    narrowed = known.html("--as-of", AS_OF, "--track", "ws")
    assert narrowed.overdue() == []
    assert narrowed.counts()["at_risk"] == 1
    assert sum(narrowed.counts().values()) == 4


def test_one_time_axis_with_a_line_for_today(known: Cli) -> None:
    document = known.html("--as-of", AS_OF)
    today = document.today()
    assert today.attrs["data-day"] == AS_OF
    assert today.text() == f"today {AS_OF}"
    where = float(today.style("left").removesuffix("%"))
    first, last = date(2025, 1, 1), date(2027, 12, 31)  # ws starts 2025, cx runs to 2027
    share = (date.fromisoformat(AS_OF) - first).days / ((last - first).days + 1) * 100
    assert where == pytest.approx(share, abs=0.001)
    bars = {
        (track, bar.attrs["data-window"]): span(bar)
        for track in document.tracks()
        for bar in document.bars(track)
    }
    for current in [("pc", "2026-Q2"), ("ws", "2026-H1"), ("cx", "2026"), ("sec", "2026")]:
        left, right = bars[current]
        assert left < where < right, current
    assert bars["ws", "2025-H1"][0] == 0
    assert bars["cx", "2027"][1] == pytest.approx(100, abs=0.001)
    # A report judged after its last window has no line.
    assert (
        known.html("--as-of", "2031-01-01", "--to", "2026-12-31", "--ahead", "0").root.by_class(
            "today"
        )
        == []
    )


def test_the_forward_look_shows_the_current_and_next_windows(known: Cli) -> None:
    document = known.html("--as-of", AS_OF)
    assert {track: document.ahead(track) for track in document.tracks()} == {
        "cx": ["2026", "2027"],
        "pc": ["2026-Q2", "2026-Q3"],
        "sec": ["2026", "2027"],
        "ws": ["2026-H1", "2026-H2"],
    }
    assert [
        row.attrs["data-window"] for row in document.table("pc") if "current" in row.classes()
    ] == ["2026-Q2"]
    assert known.html("--as-of", AS_OF, "--ahead", "2").ahead("pc") == [
        "2026-Q2", "2026-Q3", "2026-Q4",
    ]  # fmt: skip
    assert known.html("--as-of", AS_OF, "--ahead", "0").ahead("cx") == ["2026"]
    # --ahead reaches past the end of the year in every format.
    rows = known.json("report", "compliance", "--as-of", AS_OF, "--ahead", "1")
    assert {(row["track"], row["window"]) for row in rows} == set(WINDOWS)
    plain = known.json("report", "compliance", "--as-of", AS_OF)
    assert {(row["track"], row["window"]) for row in plain} == set(WINDOWS) - {
        ("cx", "2027"), ("sec", "2027"),
    }  # fmt: skip


def test_each_window_lists_the_meetings_counted_in_it(known: Cli) -> None:
    document = known.html("--as-of", AS_OF)
    rows = known.json("report", "compliance", "--as-of", AS_OF, "--ahead", "1")
    for row in rows:
        listed = document.meetings(row["track"], row["window"])
        assert [meeting_id for meeting_id, _ in listed] == row["meetings"]
    assert document.meetings("pc", "2025-Q4") == []  # the cancelled meeting does not count
    assert document.meetings("pc", "2025-Q3") == [("pc-q3", "2025-08-10 held Meeting pc-q3 pc-q3")]
    assert document.meetings("pc", "2026-Q1") == [
        ("pc-q1", "2026-02-10 awaiting record Meeting pc-q1 pc-q1")
    ]
    assert document.meetings("pc", "2026-Q2") == [
        ("pc-q2b", "2026-04-20 awaiting record Meeting pc-q2b pc-q2b"),
        ("pc-q2", "2026-06-10 planned Meeting pc-q2 pc-q2"),
    ]
    assert document.meetings("cx", "2026") == [("cx-feb", "2026-02-01 held Meeting cx-feb cx-feb")]
    (card,) = document.root.by_id("ahead").having("data-track", "pc")
    assert "2026-06-10 planned Meeting pc-q2 pc-q2" in card.text()


def test_a_restricted_meeting_is_a_busy_block_unless_asked(known: Cli) -> None:
    page = known.ok("report", "compliance", "--as-of", AS_OF, "--format", "html")
    for detail in SECRET.values():
        assert detail not in page, detail
    document = known.html("--as-of", AS_OF)
    assert document.meetings("sec", "2026") == [
        ("sec-1", "2026-03-03 held Busy (restricted) sec-1")
    ]
    assert "Restricted meetings are shown as Busy" in document.root.text()

    cleared = known.html("--as-of", AS_OF, "--include-restricted")
    assert cleared.meetings("sec", "2026") == [
        ("sec-1", f"2026-03-03 held {SECRET['title']} sec-1")
    ]
    assert ("sec-1", ["2026-04-01", "AZ-MFA", SECRET["action"], f"{SECRET['title']} sec-1"]) in (
        cleared.overdue()
    )
    assert "Restricted meetings are shown as Busy" not in cleared.root.text()
    refused = known("report", "compliance", "--include-restricted", "--format", "csv")
    assert (refused.code, refused.out) == (2, "")
    assert "--include-restricted" in refused.err


def test_everything_from_the_database_is_escaped(cli: Cli) -> None:
    track_title = "Talks <b>&amp; \"co\"</b> <script>alert('track')</script>"
    meeting_title = '</li></ul></td></tr><img src=x onerror="alert(1)"> & Ko\''
    action = "<style>body{display:none}</style> & <a href='https://example.org'>x</a>"
    cli.ok(
        "track", "add", "esc", "--title", track_title, "--kind", "consultation",
        "--cadence", "quarter", "--start", "2026-01-01", "--party", "TM-MFA",
        "--party", "AZ-MFA", "--tz", "Asia/Baku",
    )  # fmt: skip
    cli.ok(
        "meeting", "plan", "--track", "esc", "--title", meeting_title,
        "--start", "2026-02-10 10:00", "--id", "esc-1", "--classification", "public",
    )  # fmt: skip
    cli.ok("meeting", "held", "esc-1", "--action", f"{action}|AZ-MFA|2026-03-01")
    document = cli.html("--as-of", AS_OF)  # parsed strictly: no script, img, link or handler
    assert len(document.root.find_all("style")) == 1
    assert [a.text() for a in document.root.find_all("a") if a.attrs["href"] == "#track-esc"] == [
        track_title
    ] * 3  # in the timeline, the forward look and (as at risk) the summary
    (heading,) = document.root.by_id("track-esc").find_all("h2")
    assert heading.text() == track_title
    assert document.meetings("esc", "2026-Q1") == [
        ("esc-1", f"2026-02-10 held {meeting_title} esc-1")
    ]
    assert document.overdue() == [
        ("esc-1", ["2026-03-01", "AZ-MFA", action, f"{meeting_title} esc-1"]),
    ]
