"""Working-day calendar: the deadline rules of docs/deadlines.md, exactly.

Every instant in and out is an aware datetime; results are UTC. Dates are
London dates. Hour arithmetic is done in UTC so that "24 hours" across a
clock change is 24 elapsed hours.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
def _bank_holidays(subdivision: str, year: int) -> dict[dt.date, str]:
    return dict(holidays.country_holidays("GB", subdiv=subdivision, years=year).items())


CALENDAR_NAMES = {
    "england-and-wales": "England and Wales",
    "england": "England",
    "wales": "Wales",
    "scotland": "Scotland",
    "northern-ireland": "Northern Ireland",
}


@dataclass(frozen=True)
class Step:
    """One London date looked at while counting: counted as a working day, or skipped and why."""

    day: dt.date
    counted: bool
    why: str  # "working day 2", "weekend (Saturday)", "bank holiday: Christmas Day", "closed: Training day"


@dataclass(frozen=True)
class Worked:
    """An instant together with how it was worked out, so the two cannot disagree."""

    start: dt.datetime
    rule: str
    at: dt.datetime
    steps: tuple[Step, ...]
    notes: tuple[str, ...]  # the sentences between the steps: where counting began, why the time moved
    calendar: str
    close_of_business: dt.time

    @property
    def skipped(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if not step.counted)

    def lines(self) -> list[str]:
        """The working as sentences, in order: what the case page, the CLI and the JSON show."""
        close = format_clock(self.close_of_business)
        lines = [
            f"Start: {format_london(self.start)}",
            f"Rule: {self.rule}",
            f"Calendar: {CALENDAR_NAMES[self.calendar]} bank holidays; close of business {close} London time",
        ]
        lines += self.notes[:1]
        lines += [f"{format_date(step.day)}: {step.why}" for step in self.steps]
        lines += self.notes[1:]
        lines.append(f"Result: {format_london(self.at)}")
        return lines

    def as_json(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "rule": self.rule,
            "calendar": self.calendar,
            "close_of_business": self.close_of_business.strftime("%H:%M"),
            "days": [{"date": s.day.isoformat(), "counted": s.counted, "why": s.why} for s in self.steps],
            "notes": list(self.notes),
            "at": self.at.isoformat(),
        }


class _Working:
    """Collects the steps of one computation while the calendar does it."""

    def __init__(self, calendar: WorkingCalendar, start: dt.datetime, rule: str) -> None:
        self.calendar, self.start, self.rule = calendar, to_utc(start), rule
        self.steps: list[Step] = []
        self.notes: list[str] = []
        self.counted = 0

    def skip_to_working(self, day: dt.date) -> dt.date:
        """`day`, or the first working day after it, naming each day passed over."""
        while (why := self.calendar.why_not_working(day)) is not None:
            self.steps.append(Step(day, False, why))
            day += dt.timedelta(days=1)
        return day

    def count(self, day: dt.date) -> dt.date:
        """The next working day strictly after `day`, counted."""
        day = self.skip_to_working(day + dt.timedelta(days=1))
        self.counted += 1
        self.steps.append(Step(day, True, f"working day {self.counted}"))
        return day

    def done(self, at: dt.datetime, note: str = "") -> Worked:
        if note:
            self.notes.append(note)
        return Worked(
            self.start,
            self.rule,
            at,
            tuple(self.steps),
            tuple(self.notes),
            self.calendar.nation,
            self.calendar.close_time,
        )


class WorkingCalendar:
    """Which London dates are working days, and when each one closes."""

    def __init__(
        self,
        nation: str = "england-and-wales",
        close_of_business: dt.time = dt.time(17, 0),
        closed_days: Iterable[dt.date] | Mapping[dt.date, str] = (),
    ) -> None:
        if nation not in NATIONS:
            raise ValueError(f"unknown calendar {nation!r}: use one of {', '.join(NATIONS)}")
        self.nation = nation
        self.subdivision = NATIONS[nation]
        self.close_time = close_of_business
        names = closed_days if isinstance(closed_days, Mapping) else dict.fromkeys(closed_days, "")
        self.closed_names: dict[dt.date, str] = dict(names)
        self.closed_days = frozenset(self.closed_names)
        self._totals: dict[int, list[int]] = {}  # each year's running count of working days, by day of the year

    def bank_holiday(self, day: dt.date) -> str | None:
        """The bank holiday's name from the calendar, or None."""
        return _bank_holidays(self.subdivision, day.year).get(day)

    def is_bank_holiday(self, day: dt.date) -> bool:
        return self.bank_holiday(day) is not None

    def why_not_working(self, day: dt.date) -> str | None:
        """None for a working day; otherwise the reason in words."""
        if day.weekday() >= 5:
            return f"weekend ({day:%A})"
        if (name := self.bank_holiday(day)) is not None:
            return f"bank holiday: {name}"
        if day in self.closed_days:
            return f"closed: {self.closed_names[day] or 'a closed day in the procedure file'}"
        return None

    def is_working_day(self, day: dt.date) -> bool:
        # the reason's words are only for explanations: a report asks this some 100,000 times
        return day.weekday() < 5 and day not in self.closed_days and self.bank_holiday(day) is None

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

    def _start_day(self, work: _Working) -> dt.date:
        """The start's working day (`start_working_day`), with the steps and notes that explain it."""
        day = london(work.start).date()
        if self.start_working_day(work.start) == day:
            work.notes.append(f"Counting from {format_date(day)}: the start is on a working day before close")
            return day
        why = self.why_not_working(day) or "at or after close of business"
        work.notes.append(f"{format_date(day)} is not counted ({why}): counting from the next working day")
        work.steps.append(Step(day, False, why))
        first = work.skip_to_working(day + dt.timedelta(days=1))
        work.steps.append(Step(first, True, "the start's working day"))
        return first

    def start_working_day(self, start: dt.datetime) -> dt.date:
        """The start's own day if it is a working day and the start is before close of business, else the next."""
        day = london(start).date()
        return day if self.is_working_day(day) and start < self.close_of_business(day) else self.next_working_day(day)

    def explain_working_days(self, start: dt.datetime, count: int, rule: str = "") -> Worked:
        """Close of business on the `count`th working day after the start's working day, and why."""
        work = _Working(self, start, rule or f"{count} working days")
        day = self._start_day(work)
        for _ in range(count):
            day = work.count(day)
        return work.done(self.close_of_business(day), f"Close of business on {format_date(day)}")

    def add_working_days(self, start: dt.datetime, count: int) -> dt.datetime:
        return self.explain_working_days(start, count).at

    def working_days_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Working days from the start's working day to the end's London date: what `N working days` allows, so
        an end at close of business on the Nth working day counts N (the report's measure of time taken).

        The working days after the start's working day up to the end's date, counted from each year's running
        totals: the report asks this of every case it covers."""
        day, last = self.start_working_day(start), london(end).date()
        if last <= day:
            return 0
        return self._working_days_to(last) - self._working_days_to(day) + self._working_days_in_years(day, last)

    def _working_days_to(self, day: dt.date) -> int:
        """Working days from 1 January of `day`'s year up to and including `day`."""
        return self._running_totals(day.year)[day.timetuple().tm_yday - 1]

    def _working_days_in_years(self, first: dt.date, last: dt.date) -> int:
        """The whole years' working days between `first`'s year and `last`'s (0 within one year)."""
        return sum(self._running_totals(year)[-1] for year in range(first.year, last.year))

    def _running_totals(self, year: int) -> list[int]:
        if year not in self._totals:
            totals, count, day = [], 0, dt.date(year, 1, 1)
            while day.year == year:
                count += self.is_working_day(day)
                totals.append(count)
                day += dt.timedelta(days=1)
            self._totals[year] = totals
        return self._totals[year]

    def same_working_day(self, start: dt.datetime) -> dt.datetime:
        return self.explain_working_days(start, 0, "same working day").at

    def explain_hours(self, start: dt.datetime, hours: int, rule: str = "") -> Worked:
        """Elapsed hours; an instant falling on a non-working day moves to the next working day's close."""
        work = _Working(self, start, rule or f"{hours} hours")
        moment = work.start + dt.timedelta(hours=hours)
        day = london(moment).date()
        work.notes.append(f"{hours} elapsed hours after the start is {format_london(moment)}")
        if self.is_working_day(day):
            return work.done(moment, "That is a working day, so the time stands")
        work.steps.append(Step(day, False, self.why_not_working(day)))
        nxt = work.skip_to_working(day + dt.timedelta(days=1))
        work.steps.append(Step(nxt, True, "the next working day"))
        return work.done(self.close_of_business(nxt), f"Close of business on {format_date(nxt)}")

    def add_hours(self, start: dt.datetime, hours: int) -> dt.datetime:
        return self.explain_hours(start, hours).at

    def explain_calendar(self, start: dt.datetime, days: int = 0, months: int = 0, rule: str = "") -> Worked:
        """Close of business on the date N days or months on (clamped to month end), or the next working day."""
        work = _Working(self, start, rule or (f"{months} months" if months else f"{days} days"))
        day = london(start).date()
        if months:
            month_index = day.month - 1 + months
            year, month = day.year + month_index // 12, month_index % 12 + 1
            day = day.replace(year=year, month=month, day=min(day.day, _calendar.monthrange(year, month)[1]))
        day += dt.timedelta(days=days)
        work.notes.append(f"The calendar date reached from the start's date is {format_date(day)}")
        day = work.skip_to_working(day)
        work.steps.append(Step(day, True, "the working day it ends on"))
        return work.done(self.close_of_business(day), f"Close of business on {format_date(day)}")

    def add_calendar(self, start: dt.datetime, days: int = 0, months: int = 0) -> dt.datetime:
        return self.explain_calendar(start, days, months).at

    def explain_shift(self, moment: dt.datetime, count: int, rule: str) -> Worked:
        """`moment` moved on by `count` working days at the same London time (a paused clock's deadline)."""
        work = _Working(self, moment, rule)
        local = london(moment)
        day = local.date()
        work.notes.append(f"Moving {format_london(moment)} on by {count} working days")
        for _ in range(count):
            day = work.count(day)
        at = dt.datetime.combine(day, local.time(), tzinfo=LONDON).astimezone(UTC)
        return work.done(at, f"The same time on {format_date(day)}")

    def working_days_from(self, start: dt.date, end: dt.date) -> int:
        """Working days from `start` up to, not including, `end`."""
        return sum(self.is_working_day(start + dt.timedelta(days=n)) for n in range((end - start).days))


# English names, whatever the server's locale (strftime's %A and %B follow it), and without its cost: a list page
# formats a hundred times.
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_date(day: dt.date) -> str:
    return f"{DAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def format_clock(clock: dt.time) -> str:
    hour = clock.hour % 12 or 12
    return f"{hour}:{clock.minute:02d}{'am' if clock.hour < 12 else 'pm'}"


def format_london(moment: dt.datetime | None) -> str:
    """How the portal shows a time: `Thursday 24 December 2026, 5:00pm`."""
    if moment is None:
        return ""
    local = london(moment)
    return f"{format_date(local)}, {format_clock(local)}"
