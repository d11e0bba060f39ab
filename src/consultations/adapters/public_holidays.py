"""Public holidays from the ``holidays`` package (``domain.working_calendar.PublicHolidays``).

Names are in each country's own language (``Novruz bayramı``, ``Milli bahar baýramy``), as
the package gives them whatever the machine's locale. Nothing is stored: every read asks
the installed package, so a date it estimated and a later version fixes shows up where it
now falls as soon as the package is upgraded. The package is imported on first use, so a
command that never looks at a calendar does not pay for it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from consultations.domain.working_calendar import Holiday

if TYPE_CHECKING:
    from holidays import HolidayBase


class HolidaysPackage:
    """Every country the ``holidays`` package covers, public holidays only (days off)."""

    def __init__(self) -> None:
        self._calendars: dict[str, HolidayBase] = {}

    def supports(self, country: str) -> bool:
        """True when the package has a calendar for the ISO 3166-1 alpha-2 ``country``."""
        from holidays import list_supported_countries  # noqa: PLC0415 - see the module doc

        return country in list_supported_countries(include_aliases=False)

    def on(self, country: str, day: date) -> tuple[Holiday, ...]:
        """The public holidays of ``country`` on ``day``, each marked if its date is estimated."""
        calendar = self._calendar(country)
        # The package marks an estimated date in the name, with its translated label, as
        # ObservedHolidayBase itself tells them apart ("(təxmini)", "(observed, estimated)").
        label = calendar.tr(getattr(calendar, "estimated_label", "") or "")
        marker = label.strip("%s ()（）")
        return tuple(
            Holiday(name, estimated=bool(marker) and marker in name)
            for name in calendar.get_list(day)
        )

    def works_on_weekend(self, country: str, day: date) -> bool:
        """True when ``day`` is a weekend day that ``country`` decreed a working day."""
        calendar = self._calendar(country)
        calendar.get(day)  # fills the year in, and with it its decreed working days
        return day in getattr(calendar, "weekend_workdays", ())

    def _calendar(self, country: str) -> HolidayBase:
        found = self._calendars.get(country)
        if found is None:
            import holidays  # noqa: PLC0415 - see the module doc

            language = holidays.country_holidays(country).default_language
            found = holidays.country_holidays(country, language=language)
            self._calendars[country] = found
        return found
