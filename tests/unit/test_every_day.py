"""Every day from 2024 to 2032 (three leap days, nine sets of clock changes and bank holidays): no date rule in the
forms or the deadlines raises, and each gives an answer that makes sense."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from forms.raise_escalation import MAX_CHILD_AGE_YEARS, years_before
from portal.deadlines import schedule_stage
from portal.procedure import Duration, preset_ids, resolve_procedure

LONDON = ZoneInfo("Europe/London")
DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range((dt.date(2033, 1, 1) - dt.date(2024, 1, 1)).days)]
RULES = [Duration.parse(text) for text in ("same working day", "1 working day", "24 hours", "1 day", "1 month")]


def test_the_oldest_date_of_birth_allowed_exists_on_every_day():
    for day in DAYS:
        oldest = years_before(day, MAX_CHILD_AGE_YEARS)
        assert oldest.year == day.year - MAX_CHILD_AGE_YEARS
        assert (oldest.month, oldest.day) == (day.month, day.day) or (day.month, day.day, oldest.day) == (2, 29, 28)


@pytest.mark.parametrize("preset", preset_ids())
def test_every_deadline_rule_gives_a_later_working_time_from_any_day(preset):
    procedure = resolve_procedure(preset)
    calendar = procedure.calendar
    for day in DAYS:
        close = calendar.close_of_business(day)  # the raiser's earlier deadline, typed as a date
        assert close.astimezone(LONDON).date() == day
        for hour in (10, 18):
            start = dt.datetime.combine(day, dt.time(hour), LONDON).astimezone(dt.UTC)
            for rule in RULES:
                due = rule.after(start, calendar)
                assert due >= start or rule.unit == "same_working_day" and due.date() >= start.date(), (rule, start)
                assert calendar.is_working_day(due.astimezone(LONDON).date()), (rule, start, due)
        schedule = schedule_stage(procedure, procedure.stages[0], start, imminent=True)
        assert start < schedule.due and all(start <= moment <= schedule.due for moment in schedule.reminders)
