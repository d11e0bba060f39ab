"""Working calendars on the real `holidays` data: holidays, substitutes, weekends, hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from consultations.adapters.public_holidays import HolidaysPackage
from consultations.domain.wall_time import resolve_local
from consultations.domain.working_calendar import (
    Busy,
    Closure,
    Conflict,
    OfficeRules,
    PartyCalendar,
    SlotSearch,
    WorkingCalendar,
)

HOLIDAYS = HolidaysPackage()
CALENDAR = WorkingCalendar(HOLIDAYS)
TM = PartyCalendar("TM-MFA", "Asia/Ashgabat", "TM")
AZ = PartyCalendar("AZ-MFA", "Asia/Baku", "AZ")
DE = PartyCalendar("DE-AA", "Europe/Berlin", "DE")  # a zone with summer time


def utc(local: str, tz: str) -> datetime:
    return resolve_local(datetime.fromisoformat(local), tz).utc


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_novruz_is_a_public_holiday_in_both_countries(year: int) -> None:
    # Azerbaijan: 20-24 March; Turkmenistan: 21-22 March.
    az = CALENDAR.day_off(AZ, date(year, 3, 22))
    tm = CALENDAR.day_off(TM, date(year, 3, 21))
    assert az is not None
    assert tm is not None
    assert (az.kind, tm.kind) == (Conflict.HOLIDAY, Conflict.HOLIDAY)
    assert az.text == f"AZ-MFA: {year}-03-22 is Novruz bayramı, a public holiday"
    assert tm.text.startswith(f"TM-MFA: {year}-03-21 is Milli bahar baýramy")
    assert not az.estimated


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_independence_days(year: int) -> None:
    turkmen = CALENDAR.day_off(TM, date(year, 9, 27))
    azerbaijani = CALENDAR.day_off(AZ, date(year, 5, 28))
    assert turkmen is not None
    assert "Garaşsyzlyk güni" in turkmen.text
    assert azerbaijani is not None
    assert "Müstəqillik Günü" in azerbaijani.text
    assert turkmen.kind is azerbaijani.kind is Conflict.HOLIDAY
    # 27 September 2026 is a Sunday: Turkmenistan rests on Tuesday the 29th instead.
    if year == 2026:
        observed = CALENDAR.day_off(TM, date(2026, 9, 29))
        assert observed is not None
        assert observed.kind is Conflict.HOLIDAY


def test_azerbaijans_restoration_of_independence_on_18_october_is_a_working_day() -> None:
    # The holidays data lists 18 October as a memorable working day, not a day off.
    assert date(2027, 10, 18).weekday() == 0
    assert CALENDAR.day_off(AZ, date(2027, 10, 18)) is None


def test_a_decreed_substitute_day_off_and_the_saturday_worked_for_it() -> None:
    # Friday 27 June 2025 was made a day off in Azerbaijan, Saturday 21 June worked instead.
    friday = CALENDAR.day_off(AZ, date(2025, 6, 27))
    assert friday is not None
    assert friday.kind is Conflict.HOLIDAY
    assert "21.06.2025" in friday.text
    assert CALENDAR.day_off(AZ, date(2025, 6, 21)) is None  # a working Saturday in Baku
    saturday = CALENDAR.day_off(TM, date(2025, 6, 21))
    assert saturday is not None
    assert saturday.kind is Conflict.WEEKEND
    assert CALENDAR.day_off(TM, date(2025, 6, 27)) is None


def test_an_estimated_date_is_shown_as_estimated() -> None:
    # Eid al-Fitr 2027 (Ramazan bayramı) is only estimated; 2026's is confirmed.
    estimated = CALENDAR.day_off(AZ, date(2027, 3, 9))
    confirmed = CALENDAR.day_off(AZ, date(2026, 3, 20))
    assert estimated is not None
    assert confirmed is not None
    assert estimated.estimated
    assert not confirmed.estimated
    assert estimated.text == (
        "AZ-MFA: 2027-03-09 is Ramazan bayrami (təxmini), a public holiday (its date is estimated)"
    )
    turkmen = CALENDAR.day_off(TM, date(2027, 3, 9))
    assert turkmen is not None
    assert turkmen.estimated


def test_weekends_follow_the_setting() -> None:
    saturday, friday = date(2027, 4, 10), date(2027, 4, 9)
    found = CALENDAR.day_off(AZ, saturday)
    assert found is not None
    assert found.text == "AZ-MFA: 2027-04-10 is a Saturday, not a working day"
    assert CALENDAR.day_off(AZ, friday) is None
    friday_saturday = WorkingCalendar(HOLIDAYS, OfficeRules(weekend=frozenset({4, 5})))
    found = friday_saturday.day_off(AZ, friday)
    assert found is not None
    assert found.kind is Conflict.WEEKEND
    assert friday_saturday.day_off(AZ, date(2027, 4, 11)) is None  # Sunday


def test_a_closure_is_a_non_working_day_with_its_reason() -> None:
    closed = PartyCalendar(
        "TM-MFA", "Asia/Ashgabat", "TM", (Closure(date(2027, 4, 5), date(2027, 4, 9), "move"),)
    )
    found = CALENDAR.day_off(closed, date(2027, 4, 7))
    assert found is not None
    assert found.kind is Conflict.CLOSURE
    assert found.text == "TM-MFA: 2027-04-07 is closed (move)"
    assert CALENDAR.day_off(closed, date(2027, 4, 12)) is None


def test_a_party_without_a_country_is_held_only_to_its_closures() -> None:
    nowhere = PartyCalendar("X", "Asia/Baku")
    saturday_night = utc("2027-03-20 22:00", "Asia/Baku")
    assert CALENDAR.check([nowhere], saturday_night, saturday_night + timedelta(hours=1)) == []
    other = Busy("m", saturday_night, saturday_night + timedelta(hours=2), frozenset({"X"}), "")
    assert (
        CALENDAR.clashes([nowhere], saturday_night, saturday_night + timedelta(hours=1), [other])
        == []
    )


def test_office_hours_are_each_partys_own_and_follow_summer_time() -> None:
    # 11:00-13:00 in Baku is 09:00-11:00 in Berlin in July (CEST), 08:00-10:00 in January.
    july = utc("2027-07-13 11:00", "Asia/Baku")
    january = utc("2027-01-12 11:00", "Asia/Baku")
    assert CALENDAR.check([TM, AZ, DE], july, july + timedelta(hours=2)) == []
    found = CALENDAR.check([TM, AZ, DE], january, january + timedelta(hours=2))
    assert [f.text for f in found] == [
        "DE-AA: 08:00–10:00 Europe/Berlin on 2027-01-12 is outside its office hours (09:00–18:00)"
    ]
    late = utc("2027-03-23 17:30", "Asia/Baku")  # 18:30 in Ashgabat
    texts = [f.text for f in CALENDAR.check([TM, AZ], late, late + timedelta(hours=1))]
    assert (
        "TM-MFA: 18:30–19:30 Asia/Ashgabat on 2027-03-23 is outside its office hours (09:00–18:00)"
        in texts
    )
    assert (
        "AZ-MFA: 17:30–18:30 Asia/Baku on 2027-03-23 is outside its office hours (09:00–18:00)"
        in texts
    )


def test_a_meeting_over_several_days_is_not_held_against_the_nights() -> None:
    start = utc("2027-05-25 10:00", "Asia/Ashgabat")
    assert CALENDAR.check([TM, AZ], start, start + timedelta(days=2, hours=7)) == []
    overnight = utc("2027-05-25 18:30", "Asia/Ashgabat")
    found = CALENDAR.check([TM], overnight, overnight + timedelta(hours=6))
    assert [f.kind for f in found] == [Conflict.OFFICE_HOURS]


def test_overlaps_name_the_party_and_the_other_meeting() -> None:
    start = utc("2027-04-13 10:00", "Asia/Baku")
    other = Busy(
        "pc-2027-q2", start + timedelta(hours=2), start + timedelta(hours=5),
        frozenset({"TM-MFA"}), "2027-04-13 13:00 Asia/Ashgabat",
    )  # fmt: skip
    found = CALENDAR.clashes([TM, AZ], start, start + timedelta(hours=3), [other])
    assert [f.text for f in found] == [
        "TM-MFA: overlaps meeting 'pc-2027-q2' (2027-04-13 13:00 Asia/Ashgabat)"
    ]
    assert CALENDAR.clashes([TM, AZ], start, start + timedelta(hours=2), [other]) == []


def test_common_office_hours_of_three_zones_shrink_in_winter() -> None:
    # Shared hours: 12:00-17:00 Baku in January (5 h), 11:00-17:00 in July (6 h).
    now = datetime(2026, 12, 6, tzinfo=UTC)

    def search(first: date) -> SlotSearch:
        return SlotSearch((TM, AZ, DE), "Asia/Baku", timedelta(hours=6), first,
                          first + timedelta(days=6), first, now)  # fmt: skip

    winter, why = CALENDAR.find_slots(search(date(2027, 1, 11)))
    assert winter == ()
    assert why == (
        "no day from 2027-01-11 to 2027-01-17 suits every party (2 weekend days, "
        "5 days whose shared office hours are shorter than the meeting)"
    )
    summer, _ = CALENDAR.find_slots(search(date(2027, 7, 12)))
    assert [(s.start.local, s.end.local) for s in summer] == [
        (datetime(2027, 7, 12, 11), datetime(2027, 7, 12, 17)),
        (datetime(2027, 7, 13, 11), datetime(2027, 7, 13, 17)),
        (datetime(2027, 7, 14, 11), datetime(2027, 7, 14, 17)),
    ]
    assert summer[0].reasons[1] == "inside the office hours they share (11:00–17:00 Asia/Baku)"


def test_slots_skip_holidays_and_booked_hours_nearest_the_target_first() -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    # Around Novruz 2027: 20-26 March are days off in Baku or Ashgabat, or weekends.
    booked = Busy(
        "other", utc("2027-03-19 09:00", "Asia/Baku"), utc("2027-03-19 18:00", "Asia/Baku"),
        frozenset({"AZ-MFA"}), "",
    )  # fmt: skip
    search = SlotSearch(
        (TM, AZ), "Asia/Baku", timedelta(hours=2), date(2027, 3, 17), date(2027, 3, 31),
        date(2027, 3, 22), now, (booked,), count=3,
    )  # fmt: skip
    slots, why = CALENDAR.find_slots(search)
    assert why is None
    assert [s.start.local for s in slots] == [
        datetime(2027, 3, 18, 9, 0),  # 4 days from the target; the 19th is booked
        datetime(2027, 3, 17, 9, 0),  # 5 days
        datetime(2027, 3, 29, 9, 0),  # 7 days: Azerbaijan rests until Friday the 26th
    ]


def test_office_rules_refuse_hours_that_close_before_they_open() -> None:
    with pytest.raises(ValueError, match="open before they close"):
        OfficeRules(opens=time(18), closes=time(9))
