"""The plan parser (compiled tomli) must read exactly what the standard tomllib reads.

Same documents accepted, same values, same error messages: a faster parser must not change
which plans import or what a rejected one is told.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomli
from hypothesis import given, settings
from hypothesis import strategies as st

EXAMPLE = Path(__file__).parents[2] / "examples" / "tm-az-cooperation.toml"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
TOKENS = ["=", "[", "]", "[[", "]]", '"', "'", '"""', "\n", "#", ",", "{", "}", "0", "9", "T",
          "t", "Z", "-", ":", ".", "\\", "\\e", "\\x41", "\\u0000", "\x00", "\r\n", "\r", "inf",
          "nan", "\t", "_", "+", "0x", "1979-05-27", "07:32", "true", "\ufeff", "é"]  # fmt: skip


def outcome(parse: object, text: str) -> tuple[str, object]:
    try:
        return "ok", parse(text)  # type: ignore[operator]
    except (tomllib.TOMLDecodeError, tomli.TOMLDecodeError) as error:
        return "error", str(error)
    except RecursionError:
        return "error", "recursion"


@st.composite
def mutations(draw: st.DrawFn) -> str:
    text = EXAMPLE_TEXT
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        operation = draw(st.sampled_from(["insert", "delete", "replace"]))
        token = draw(st.sampled_from(TOKENS) | st.text(max_size=3))
        if operation == "insert":
            text = text[:at] + token + text[at:]
        elif operation == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        else:
            text = text[:at] + token + text[at + 1 :]
    return text


@settings(max_examples=300, deadline=None)
@given(mutations() | st.text(max_size=200))
def test_tomli_reads_what_tomllib_reads(text: str) -> None:
    assert outcome(tomli.loads, text) == outcome(tomllib.loads, text)


@pytest.mark.parametrize(
    "text",
    [
        "a = {b = 1,}",  # TOML 1.1 only, from here on
        "a = {\nb = 1\n}",
        'a = "\\e"',
        'a = "\\x41"',
        "t = 2020-01-01T10:30",
        "t = 10:30",
        "a = " + "[" * 5000 + "]" * 5000,
    ],
)
def test_toml_1_1_and_deep_nesting_are_refused_like_tomllib_does(text: str) -> None:
    assert outcome(tomli.loads, text) == outcome(tomllib.loads, text)
    assert outcome(tomli.loads, text)[0] == "error"
