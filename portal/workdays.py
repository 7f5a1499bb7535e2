"""Working-day calendar: the deadline rules of docs/deadlines.md, exactly.

Every instant in and out is an aware datetime; results are UTC. Dates are
London dates. Hour arithmetic is done in UTC so that "24 hours" across a
clock change is 24 elapsed hours.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC

# Procedure calendar names -> the `holidays` UK subdivision.
NATIONS = {
    "england-and-wales": "ENG",
    "england": "ENG",
    "wales": "WLS",
    "scotland": "SCT",
    "northern-ireland": "NIR",
}


def to_utc(moment: dt.datetime) -> dt.datetime:
    """Normalise an aware datetime to UTC; naive ones are refused (ambiguous)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: give a timezone (times are UTC or Europe/London)")
    return moment.astimezone(UTC)


def london(moment: dt.datetime) -> dt.datetime:
    return to_utc(moment).astimezone(LONDON)


@lru_cache(maxsize=64)
def _bank_holidays(subdivision: str, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("GB", subdiv=subdivision, years=year))


class WorkingCalendar:
    """Which London dates are working days, and when each one closes."""

    def __init__(
        self,
        nation: str = "england-and-wales",
        close_of_business: dt.time = dt.time(17, 0),
        closed_days: Iterable[dt.date] = (),
    ) -> None:
        if nation not in NATIONS:
            raise ValueError(f"unknown calendar {nation!r}: use one of {', '.join(NATIONS)}")
        self.nation = nation
        self.subdivision = NATIONS[nation]
        self.close_time = close_of_business
        self.closed_days = frozenset(closed_days)

    def is_bank_holiday(self, day: dt.date) -> bool:
        return day in _bank_holidays(self.subdivision, day.year)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and not self.is_bank_holiday(day) and day not in self.closed_days

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        day += dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        return day if self.is_working_day(day) else self.next_working_day(day)

    def close_of_business(self, day: dt.date) -> dt.datetime:
        """Close of business on a London date, as UTC (17:00 is 16:00Z in summer)."""
        return dt.datetime.combine(day, self.close_time, tzinfo=LONDON).astimezone(UTC)

    def start_working_day(self, start: dt.datetime) -> dt.date:
        """The start's own day if it is a working day and the start is before close of business, else the next."""
        local = london(start)
        day = local.date()
        if self.is_working_day(day) and to_utc(start) < self.close_of_business(day):
            return day
        return self.next_working_day(day)

    def add_working_days(self, start: dt.datetime, count: int) -> dt.datetime:
        """Close of business on the `count`th working day after the start's working day."""
        day = self.start_working_day(start)
        for _ in range(count):
            day = self.next_working_day(day)
        return self.close_of_business(day)

    def working_days_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Working days from the start's working day to the end's London date: what `N working days` allows, so
        an end at close of business on the Nth working day counts N (the report's measure of time taken)."""
        day, last, count = self.start_working_day(start), london(end).date(), 0
        while day < last:
            day = self.next_working_day(day)
            count += day <= last
        return count

    def same_working_day(self, start: dt.datetime) -> dt.datetime:
        return self.close_of_business(self.start_working_day(start))

    def add_hours(self, start: dt.datetime, hours: int) -> dt.datetime:
        """Elapsed hours; an instant falling on a non-working day moves to the next working day's close."""
        moment = to_utc(start) + dt.timedelta(hours=hours)
        day = moment.astimezone(LONDON).date()
        if self.is_working_day(day):
            return moment
        return self.close_of_business(self.next_working_day(day))

    def add_calendar(self, start: dt.datetime, days: int = 0, months: int = 0) -> dt.datetime:
        """Close of business on the date N days or months on (clamped to month end), or the next working day."""
        day = london(start).date()
        if months:
            month_index = day.month - 1 + months
            year, month = day.year + month_index // 12, month_index % 12 + 1
            day = day.replace(year=year, month=month, day=min(day.day, _calendar.monthrange(year, month)[1]))
        day += dt.timedelta(days=days)
        return self.close_of_business(self.working_day_on_or_after(day))


def format_london(moment: dt.datetime | None) -> str:
    """How the portal shows a time: `Thursday 24 December 2026, 5:00pm`."""
    if moment is None:
        return ""
    local = london(moment)
    clock = f"{local.strftime('%I').lstrip('0')}:{local.strftime('%M')}{local.strftime('%p').lower()}"
    return f"{local.strftime('%A')} {local.day} {local.strftime('%B %Y')}, {clock}"
