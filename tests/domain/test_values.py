"""Errors, durations, cadences and wall-time conversion."""

import pickle
from datetime import UTC, date, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from consultations.domain.cadence import Cadence, CadenceKind, parse_cadence
from consultations.domain.durations import Duration, parse_duration
from consultations.domain.errors import DomainError, InvalidInput, NotAllowed, NotFound
from consultations.domain.validation import validate_id
from consultations.domain.wall_time import local_date, parse_zone, resolve_local, to_local

# --- errors ------------------------------------------------------------------------------


def test_error_message_is_one_line_naming_the_field() -> None:
    error = InvalidInput("tz", "unknown time zone 'Europe/Atlantis'")
    assert str(error) == "tz: unknown time zone 'Europe/Atlantis'"
    assert (error.field, error.problem) == ("tz", "unknown time zone 'Europe/Atlantis'")
    assert str(NotAllowed("reason", "line one\nline two")) == "reason: line one line two"


def test_error_classes() -> None:
    for cls in (InvalidInput, NotAllowed, NotFound):
        assert issubclass(cls, DomainError)
    assert len({InvalidInput, NotAllowed, NotFound}) == 3
    copy = pickle.loads(pickle.dumps(NotFound("id", "no meeting 'm1'")))
    assert (type(copy), str(copy)) == (NotFound, "id: no meeting 'm1'")


# --- ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["TM-MFA", "pol-consult", "a", "x" * 64, "v1.2_b", "2026-h1"])
def test_valid_ids(good: str) -> None:
    assert validate_id(good) == good


@pytest.mark.parametrize("bad", ["", "x" * 65, "-lead", ".", "a b", "a/b", "é", "a\n"])
def test_invalid_ids(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_id(bad, "party")
    assert info.value.field == "party"


# --- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("PT2H", Duration(hours=2)),
        ("PT1H30M", Duration(hours=1, minutes=30)),
        ("P14D", Duration(days=14)),
        ("P6M", Duration(months=6)),
        ("P1Y", Duration(years=1)),
        ("P2W", Duration(weeks=2)),
        ("P1Y2M3DT4H5M6S", Duration(1, 2, 0, 3, 4, 5, 6)),
    ],
)
def test_duration_parses_and_round_trips(text: str, duration: Duration) -> None:
    assert parse_duration(text) == duration
    assert str(duration) == text
    assert parse_duration(text.lower()) == duration


@pytest.mark.parametrize("junk", ["", "P", "PT", "P1DT", "2H", "PT1.5H", "-P1D", "P1H", "PT1D"])
def test_duration_rejects_junk(junk: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_duration(junk, "reminders")
    assert info.value.field == "reminders"


def test_duration_to_timedelta() -> None:
    assert parse_duration("PT1H30M").to_timedelta() == timedelta(minutes=90)
    assert parse_duration("P1W1D").to_timedelta() == timedelta(days=8)
    with pytest.raises(ValueError, match="no fixed length"):
        parse_duration("P1M").to_timedelta()


@pytest.mark.parametrize(
    ("start", "period", "expected"),
    [
        (date(2026, 8, 31), "P6M", date(2027, 2, 28)),
        (date(2027, 8, 31), "P6M", date(2028, 2, 29)),
        (date(2026, 3, 15), "P6M", date(2026, 9, 15)),
        (date(2028, 2, 29), "P1Y", date(2029, 2, 28)),
        (date(2026, 1, 31), "P45D", date(2026, 3, 17)),
    ],
)
def test_month_arithmetic_clamps_month_ends(start: date, period: str, expected: date) -> None:
    assert parse_duration(period).add_to(start) == expected


def test_subtracting_a_duration() -> None:
    assert parse_duration("P6M").add_to(date(2027, 2, 28), sign=-1) == date(2026, 8, 28)


@settings(max_examples=500)
@given(
    day=st.dates(),
    years=st.integers(0, 30),
    months=st.integers(0, 40),
    weeks=st.integers(0, 60),
    days=st.integers(0, 400),
    sign=st.sampled_from((1, -1)),
)
def test_adding_a_duration_agrees_with_relativedelta(
    *, day: date, years: int, months: int, weeks: int, days: int, sign: int
) -> None:
    """Same day, or the same kind of error past the calendar's ends, as dateutil."""
    duration = Duration(years=years, months=months, weeks=weeks, days=days)
    oracle = relativedelta(
        years=sign * years, months=sign * months, weeks=sign * weeks, days=sign * days
    )
    try:
        expected: date | type[Exception] = day + oracle
    except (ValueError, OverflowError) as error:
        expected = type(error)
    try:
        found: date | type[Exception] = duration.add_to(day, sign=sign)
    except (ValueError, OverflowError) as error:
        found = type(error)
    assert found == expected


# --- cadence -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cadence"),
    [
        ("half-year", Cadence(CadenceKind.HALF_YEAR)),
        ("quarter", Cadence(CadenceKind.QUARTER)),
        ("month", Cadence(CadenceKind.MONTH)),
        ("year", Cadence(CadenceKind.YEAR)),
        ("max-gap:P6M", Cadence(CadenceKind.MAX_GAP, Duration(months=6))),
        ("max-gap:P45D", Cadence(CadenceKind.MAX_GAP, Duration(days=45))),
        ("max-gap:P1Y", Cadence(CadenceKind.MAX_GAP, Duration(years=1))),
    ],
)
def test_cadence_parses_and_round_trips(text: str, cadence: Cadence) -> None:
    assert parse_cadence(text) == cadence
    assert str(cadence) == text


@pytest.mark.parametrize(
    "junk",
    ["", "weekly", "max-gap", "max-gap:", "max-gap:6M", "max-gap:PT12H", "max-gap:P11Y", "gap:P6M"],
)
def test_cadence_rejects_junk(junk: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_cadence(junk)
    assert info.value.field == "cadence"


# --- wall time ---------------------------------------------------------------------------


def test_baku_and_ashgabat_wall_times_to_utc() -> None:
    assert resolve_local(datetime(2026, 5, 12, 10), "Asia/Baku").utc == datetime(
        2026, 5, 12, 6, tzinfo=UTC
    )
    assert resolve_local(datetime(2026, 5, 12, 10), "Asia/Ashgabat").utc == datetime(
        2026, 5, 12, 5, tzinfo=UTC
    )


def test_dst_gap_is_rejected_not_shifted() -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_local(datetime(2026, 3, 29, 2, 30), "Europe/Berlin", fold=0, field="end")
    assert str(info.value) == "end: 2026-03-29 02:30 does not exist in Europe/Berlin (DST gap)"


def test_dst_fold_needs_a_fold() -> None:
    with pytest.raises(InvalidInput, match=r"ambiguous.*--fold 0\|1"):
        resolve_local(datetime(2026, 10, 25, 2, 30), "Europe/Berlin")
    earlier = resolve_local(datetime(2026, 10, 25, 2, 30), "Europe/Berlin", 0)
    later = resolve_local(datetime(2026, 10, 25, 2, 30), "Europe/Berlin", 1)
    assert later.utc - earlier.utc == timedelta(hours=1)
    assert (earlier.fold, later.fold) == (0, 1)


def test_fold_is_ignored_where_the_time_is_not_ambiguous() -> None:
    resolved = resolve_local(datetime(2026, 7, 1, 12), "Europe/Berlin", fold=1)
    assert (resolved.fold, resolved.utc) == (None, datetime(2026, 7, 1, 10, tzinfo=UTC))


@pytest.mark.parametrize("fold", [2, -1])
def test_fold_must_be_zero_or_one(fold: int) -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_local(datetime(2026, 7, 1, 12), "Europe/Berlin", fold=fold)
    assert info.value.field == "fold"


def test_wall_time_must_be_naive() -> None:
    with pytest.raises(InvalidInput, match="without offset"):
        resolve_local(datetime(2026, 7, 1, 12, tzinfo=UTC), "Europe/Berlin")


@pytest.mark.parametrize(
    "name", ["Europe/Atlantis", "", "America", "../etc/passwd", "/etc/localtime", "localtime"]
)
def test_unknown_zones(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_zone(name)
    assert str(info.value) == f"tz: unknown time zone {name!r}"


def test_to_local_marks_the_second_occurrence_in_a_fold() -> None:
    second = to_local(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "Europe/Berlin")
    assert (second.local, second.fold) == (datetime(2026, 10, 25, 2, 30), 1)
    plain = to_local(datetime(2026, 7, 1, 10, tzinfo=UTC), "Europe/Berlin")
    assert (plain.local, plain.fold) == (datetime(2026, 7, 1, 12), None)


def test_local_date() -> None:
    assert local_date(datetime(2026, 12, 31, 20, 30, tzinfo=UTC), "Asia/Baku") == date(2027, 1, 1)
