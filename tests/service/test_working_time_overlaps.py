"""The search for the meetings overlapping a span gives what a scan of every meeting gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from consultations.domain.working_calendar import Busy
from consultations.service_layer.working_time import _Overlapping

BASE = datetime(2027, 3, 1, tzinfo=UTC)
minutes = st.integers(0, 3 * 24 * 60)
lengths = st.integers(0, 26 * 60)


def busy(number: int, start: int, length: int) -> Busy:
    begins = BASE + timedelta(minutes=start)
    return Busy(f"m{number}", begins, begins + timedelta(minutes=length), frozenset(), "")


@given(
    meetings=st.lists(st.tuples(minutes, lengths), max_size=40),
    span=st.tuples(minutes, lengths),
)
def test_the_overlapping_meetings_are_those_a_scan_finds_in_the_same_order(
    meetings: list[tuple[int, int]], span: tuple[int, int]
) -> None:
    given_meetings = [busy(n, start, length) for n, (start, length) in enumerate(meetings)]
    start = BASE + timedelta(minutes=span[0])
    end = start + timedelta(minutes=span[1])
    scanned = [b for b in given_meetings if b.start_utc < end and start < b.end_utc]
    assert _Overlapping(given_meetings).over(start, end) == scanned
