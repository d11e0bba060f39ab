"""The CLI session the report tests share, and a strict reader of the HTML compliance report."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.cli.runner import Result, run_cli

STATUSES = {
    "satisfied", "missed", "unconfirmed", "scheduled", "awaiting_record", "at_risk", "open",
    "upcoming",
}  # fmt: skip

# --- a CLI session -----------------------------------------------------------------------


class Cli:
    """The CLI on one database."""

    def __init__(self, capsys: pytest.CaptureFixture[str], url: str, engine: Engine) -> None:
        self.capsys, self.url, self.engine = capsys, url, engine

    @classmethod
    def with_parties(cls, capsys: pytest.CaptureFixture[str], url: str, engine: Engine) -> Cli:
        """A session on a database with the two parties and three areas."""
        session = cls(capsys, url, engine)
        session.ok(
            "party", "add", "TM-MFA", "--name", "MFA of Turkmenistan", "--tz", "Asia/Ashgabat"
        )
        session.ok("party", "add", "AZ-MFA", "--name", "MFA of Azerbaijan", "--tz", "Asia/Baku")
        for area_id in ("energy", "security", "culture"):
            session.ok("area", "add", area_id, "--name", area_id.title())
        return session

    def __call__(self, *args: str) -> Result:
        return run_cli(self.capsys, self.url, *args)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert (result.code, result.err) == (0, ""), result
        return result.out

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--format", "json"))

    def track(self, track_id: str, cadence: str, start: str, *options: str) -> None:
        """A track of both parties (``--tz`` defaults to Asia/Ashgabat)."""
        zone = () if "--tz" in options else ("--tz", "Asia/Ashgabat")
        self.ok(
            "track", "add", track_id, "--title", f"Track {track_id}", "--kind", "consultation",
            "--cadence", cadence, "--start", start, "--party", "TM-MFA", "--party", "AZ-MFA",
            *zone, *options,
        )  # fmt: skip

    def meeting(
        self, track_id: str, meeting_id: str, start: str, *, held: bool = False, on: str = ""
    ) -> str:
        """Plan a meeting (local wall time in the track's zone); optionally record it held."""
        self.ok(
            "meeting", "plan", "--track", track_id, "--title", f"Meeting {meeting_id}",
            "--start", start, "--id", meeting_id,
        )  # fmt: skip
        if held or on:
            self.ok("meeting", "held", meeting_id, *(("--on", on) if on else ()))
        return meeting_id

    def html(self, *args: str) -> ReportDocument:
        """The HTML compliance report, parsed and checked."""
        return ReportDocument.parse(self.ok("report", "compliance", *args, "--format", "html"))


def table_rows(text: str) -> list[list[str]]:
    """The body rows of a Rich table (one line each: the values here are short)."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.strip().startswith("│")
    ]


# --- reading the HTML --------------------------------------------------------------------

VOID_ELEMENTS = {"meta", "link", "br", "img", "hr", "input", "source", "base", "col", "wbr"}
URL_ATTRIBUTES = {"src", "href", "xlink:href", "srcset", "action", "data", "poster", "background"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find_all(self, tag: str) -> list[Node]:
        return [node for node in self.walk() if node.tag == tag]

    def having(self, attribute: str, value: str | None = None) -> list[Node]:
        """Descendants with ``attribute`` (equal to ``value`` if given)."""
        return [
            node
            for node in self.walk()
            if attribute in node.attrs and (value is None or node.attrs[attribute] == value)
        ]

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def by_class(self, name: str) -> list[Node]:
        return [node for node in self.walk() if name in node.classes()]

    def by_id(self, name: str) -> Node:
        (node,) = self.having("id", name)
        return node

    def style(self, name: str) -> str:
        """One property of the inline style."""
        declarations = dict(
            part.split(":", 1) for part in self.attrs.get("style", "").split(";") if part
        )
        return declarations[name].strip()


class _TreeBuilder(HTMLParser):
    """A strict little DOM: every end tag must close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID_ELEMENTS:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def span(bar: Node) -> tuple[float, float]:
    """The left and right edge of a timeline bar, in percent of the axis."""
    left = float(bar.style("left").removesuffix("%"))
    return left, left + float(bar.style("width").removesuffix("%"))


def css_rules(css: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of every rule, those inside ``@media`` blocks included."""
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {
            name.strip(): value.strip()
            for name, _, value in (part.partition(":") for part in body.split(";"))
            if name.strip()
        }
        rules.append((selector.strip(), declarations))
    return rules


def contrast(first: str, second: str) -> float:
    """The WCAG 2 contrast ratio of two ``#rrggbb`` (or ``#rgb``) colours."""

    def luminance(colour: str) -> float:
        digits = colour.lstrip("#")
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        assert re.fullmatch(r"[0-9a-fA-F]{6}", digits), colour
        channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


class ReportDocument:
    """The parsed HTML report, checked to be self-contained and internally consistent."""

    def __init__(self, root: Node, doctype: str) -> None:
        self.root = root
        self.doctype = doctype
        (style,) = root.find_all("style")
        self.css = css_rules(style.text())

    @classmethod
    def parse(cls, text: str) -> ReportDocument:
        builder = _TreeBuilder()
        builder.feed(text)
        builder.close()
        assert [n.tag for n in builder.stack] == ["#document"], "every element is closed"
        document = cls(builder.root, builder.doctype)
        document.check()
        return document

    def check(self) -> None:
        """Self-contained, no script, and every window the same in timeline and tables."""
        assert self.doctype.lower() == "doctype html"
        assert [n.attrs.get("charset") for n in self.root.having("charset")] == ["utf-8"]
        for node in self.root.walk():
            assert node.tag not in {"script", "link", "iframe", "object", "embed", "img"}, node
            assert not any(name.startswith("on") for name in node.attrs), node
            for name, value in node.attrs.items():
                if name in URL_ATTRIBUTES:
                    assert value.startswith("#"), (name, value)  # links within the page only
            if "style" in node.attrs:  # positions are shares of the width: any width works
                assert not re.search(r"\d(px|pt|cm|mm|in)\b", node.attrs["style"]), node.attrs
        for style in self.root.find_all("style"):
            assert "url(" not in style.text()
            assert "@import" not in style.text()
        styled = {c[2:] for node in self.root.walk() for c in node.classes() if c[:2] == "s-"}
        assert styled <= set(self.status_colours()), "every status used has its colours"
        for track in self.tracks():
            bars = [(b.attrs["data-window"], b.attrs["data-status"]) for b in self.bars(track)]
            assert bars == [(w, s) for t, w, s in self.windows() if t == track]

    # --- what the page shows -------------------------------------------------------------

    def status_colours(self) -> dict[str, tuple[str, str]]:
        """(background, text colour) of each status class in the CSS."""
        return {
            selector[3:]: (rule["background"].lower(), rule["color"].lower())
            for selector, rule in self.css
            if selector.startswith(".s-")
        }

    def tracks(self) -> list[str]:
        return [node.attrs["id"].removeprefix("track-") for node in self.root.by_class("track")]

    def table(self, track: str) -> list[Node]:
        """The rows of a track's table of windows."""
        (body,) = self.root.by_id(f"track-{track}").find_all("tbody")
        return body.find_all("tr")

    def windows(self) -> list[tuple[str, str, str]]:
        """(track, window, status) of every row of the tracks' tables."""
        return [
            (track, row.attrs["data-window"], row.attrs["data-status"])
            for track in self.tracks()
            for row in self.table(track)
        ]

    def badge(self, row: Node) -> str:
        (badge,) = row.by_class("badge")
        return badge.text()

    def lane(self, track: str) -> Node:
        (lane,) = [n for n in self.root.by_class("lane") if n.attrs["data-track"] == track]
        return lane

    def bars(self, track: str) -> list[Node]:
        return self.lane(track).by_class("bar")

    def today(self) -> Node:
        (line,) = self.root.by_class("today")
        return line

    def counts(self) -> dict[str, int]:
        """The summary's number of windows per status."""
        summary = self.root.by_id("summary")
        return {
            item.attrs["data-status"]: int(item.find_all("b")[0].text())
            for item in summary.find_all("li")
        }

    def attention(self) -> list[tuple[str, str, str]]:
        (table,) = self.root.by_id("summary").by_class("attention") or [Node("table", {})]
        return [
            (row.attrs["data-track"], row.attrs["data-window"], row.attrs["data-status"])
            for row in table.find_all("tr")
            if "data-status" in row.attrs
        ]

    def ahead(self, track: str) -> list[str]:
        """The windows of a track in the forward look."""
        cards = self.root.by_id("ahead").having("data-track", track)
        return [node.attrs["data-window"] for card in cards for node in card.having("data-window")]

    def meetings(self, track: str, window: str) -> list[tuple[str, str]]:
        """(meeting id, text) of each meeting counted in a window of a track's table."""
        (row,) = [r for r in self.table(track) if r.attrs["data-window"] == window]
        return [(item.attrs["data-meeting"], item.text()) for item in row.having("data-meeting")]

    def overdue(self) -> list[tuple[str, list[str]]]:
        """(meeting id, cell texts) of each overdue action item."""
        (body,) = self.root.by_id("overdue").find_all("tbody") or [Node("tbody", {})]
        return [
            (row.attrs["data-meeting"], [cell.text() for cell in row.find_all("td")])
            for row in body.find_all("tr")
        ]
