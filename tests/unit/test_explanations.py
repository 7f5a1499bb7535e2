"""How each date was worked out (portal.workdays.Worked): replayed by an independent reading of the steps, the
explanation must give the very instant the portal uses, and name every day it skipped and why.

The replay below does not call the calendar: it reads the bank holidays from the `holidays` package itself,
checks that the steps walk the London dates one after another, that each skipped day really is not a working
day (and says which holiday or closed day it is), that the counted days are working days numbered in order, and
recomputes the instant from the start, the rule and the last step.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.deadlines import timeline
from portal.procedure import Duration, preset_ids, procedure_from_text, resolve_procedure
from portal.workdays import NATIONS, Worked, WorkingCalendar

LONDON = ZoneInfo("Europe/London")
CLOSED = {dt.date(2027, 1, 14): "Partnership training day"}

STARTS = {
    "before Christmas 2026": dt.datetime(2026, 12, 23, 15, 0, tzinfo=LONDON),
    "Christmas Eve after close": dt.datetime(2026, 12, 24, 17, 30, tzinfo=LONDON),
    "before Easter 2027": dt.datetime(2027, 3, 25, 11, 0, tzinfo=LONDON),
    "Good Friday 2027": dt.datetime(2027, 3, 26, 9, 0, tzinfo=LONDON),
    "the October 2026 clock change": dt.datetime(2026, 10, 23, 16, 30, tzinfo=LONDON),
    "the March 2027 clock change": dt.datetime(2027, 3, 26, 23, 0, tzinfo=dt.UTC),
    "before the closed day": dt.datetime(2027, 1, 12, 10, 0, tzinfo=LONDON),
}


def holiday_names(nation: str, day: dt.date) -> str | None:
    return holidays.country_holidays("GB", subdiv=NATIONS[nation], years=day.year).get(day)


def replay(worked: Worked, duration: Duration, nation: str, closed: dict[dt.date, str]) -> dt.datetime:
    """The instant the explanation's steps lead to, checking each step on the way."""
    start_day = worked.start.astimezone(LONDON).date()
    close = worked.close_of_business
    for step in worked.steps:
        holiday = holiday_names(nation, step.day)
        weekend = step.day.weekday() >= 5
        working = not weekend and holiday is None and step.day not in closed
        if step.counted:
            assert working, f"{step.day} counted but is not a working day"
        elif weekend:
            assert step.why == f"weekend ({step.day:%A})"
        elif holiday is not None:
            assert step.why == f"bank holiday: {holiday}", step
        elif step.day in closed:
            assert step.why == f"closed: {closed[step.day]}", step
        else:  # a working day passed over only because the start came at or after its close
            assert step.day == start_day and step.why == "at or after close of business"
    days = [step.day for step in worked.steps]
    assert days == sorted(days) and all((b - a).days == 1 for a, b in zip(days, days[1:], strict=False)), days
    numbered = [step.why for step in worked.steps if step.why.startswith("working day ")]
    assert numbered == [f"working day {n}" for n in range(1, len(numbered) + 1)]

    def close_on(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, close, tzinfo=LONDON).astimezone(dt.UTC)

    if duration.unit in ("working_days", "same_working_day"):
        assert len(numbered) == duration.count
        if days:
            assert days[0] == start_day or worked.steps[0].day > start_day
        return close_on(days[-1] if numbered or days else start_day)
    if duration.unit == "hours":
        elapsed = worked.start + dt.timedelta(hours=duration.count)
        if not days:  # it landed on a working day: the instant stands
            assert working_day(elapsed.astimezone(LONDON).date(), nation, closed)
            return elapsed
        assert days[0] == elapsed.astimezone(LONDON).date()
        return close_on(days[-1])
    return close_on(days[-1])


def working_day(day: dt.date, nation: str, closed: dict[dt.date, str]) -> bool:
    return day.weekday() < 5 and holiday_names(nation, day) is None and day not in closed


def preset_with_closed_day(pid: str):
    """The preset as a partnership would configure it with a named training day."""
    procedure = resolve_procedure(pid)
    lines = procedure.text.splitlines()
    first_table = next(i for i, line in enumerate(lines) if line.startswith("["))
    lines.insert(first_table, 'closed_days = [{ date = 2027-01-14, name = "Partnership training day" }]')
    return procedure_from_text("\n".join(lines), f"{pid}.toml")


@pytest.mark.parametrize("pid", preset_ids())
@pytest.mark.parametrize("when", list(STARTS))
def test_every_presets_dates_are_explained_and_replay_to_the_same_instant(pid, when):
    procedure = preset_with_closed_day(pid)
    nation = procedure.calendar.nation
    for schedule in timeline(procedure, STARTS[when]):
        durations = {str(d): d for d in (*procedure.stage_reminders(schedule.stage), schedule.stage.resolve_within)}
        if schedule.stage.by:
            durations[str(schedule.stage.by)] = schedule.stage.by
        for limit in schedule.limits:
            if limit.worked is not None and limit.worked.rule in durations:
                assert replay(limit.worked, durations[limit.worked.rule], nation, CLOSED) == limit.worked.at
        assert schedule.due == min(limit.at for limit in schedule.limits)
        for at, worked, moved in schedule.reminder_why:
            assert replay(worked, durations[worked.rule], nation, CLOSED) == worked.at
            assert at == worked.at or moved.endswith(at.astimezone(LONDON).strftime("%-I:%M%p").lower())


def test_each_skipped_day_over_christmas_is_named():
    calendar = WorkingCalendar("england-and-wales")
    worked = Duration.parse("5 working days").explain(STARTS["before Christmas 2026"], calendar)
    assert [(s.day.day, s.why) for s in worked.skipped] == [
        (25, "bank holiday: Christmas Day"),
        (26, "weekend (Saturday)"),
        (27, "weekend (Sunday)"),
        (28, "bank holiday: Boxing Day (observed)"),
        (1, "bank holiday: New Year's Day"),
        (2, "weekend (Saturday)"),
        (3, "weekend (Sunday)"),
    ]
    assert worked.at == dt.datetime(2027, 1, 4, 17, tzinfo=dt.UTC)
    text = "\n".join(worked.lines())
    assert "Calendar: England and Wales bank holidays; close of business 5:00pm" in text
    assert "Rule: 5 working days" in text and "Result: Monday 4 January 2027, 5:00pm" in text


def test_a_closed_day_is_named_from_the_file_and_scotland_keeps_its_own_holidays():
    calendar = WorkingCalendar("scotland", closed_days=CLOSED)
    worked = Duration.parse("3 working days").explain(STARTS["before the closed day"], calendar)
    # Tue 12 Jan 2027: Wed 13 (1), [Thu 14 closed], Fri 15 (2), [Sat 16, Sun 17], Mon 18 (3).
    assert [(s.day.day, s.why) for s in worked.skipped] == [
        (14, "closed: Partnership training day"),
        (16, "weekend (Saturday)"),
        (17, "weekend (Sunday)"),
    ]
    assert worked.at == dt.datetime(2027, 1, 18, 17, tzinfo=dt.UTC)
    scottish = Duration.parse("1 working day").explain(dt.datetime(2026, 12, 31, 12, tzinfo=LONDON), calendar)
    # Thu 31 Dec 2026 noon: [Fri 1 Jan, Sat 2 (Scotland's 2 January holiday, on a weekend), Sun 3, Mon 4 its
    # substitute], Tue 5 Jan (1). England and Wales would count Mon 4.
    assert [s.why for s in scottish.skipped] == [
        "bank holiday: New Year's Day",
        "weekend (Saturday)",
        "weekend (Sunday)",
        "bank holiday: New Year Holiday (observed)",
    ]
    assert scottish.at == dt.datetime(2027, 1, 5, 17, tzinfo=dt.UTC)


def test_hours_across_the_clock_change_say_where_the_time_landed():
    calendar = WorkingCalendar("england-and-wales")
    # Fri 23 Oct 2026 16:30 BST (15:30Z) + 72 elapsed hours = Mon 26 Oct 15:30Z = 15:30 GMT, a working day.
    worked = Duration.parse("72 hours").explain(STARTS["the October 2026 clock change"], calendar)
    assert worked.at == dt.datetime(2026, 10, 26, 15, 30, tzinfo=dt.UTC) and worked.steps == ()
    assert "72 elapsed hours after the start is Monday 26 October 2026, 3:30pm" in worked.lines()
    # + 24 hours lands on Saturday: close of business on Monday, naming the weekend.
    worked = Duration.parse("24 hours").explain(STARTS["the October 2026 clock change"], calendar)
    assert [s.why for s in worked.skipped] == ["weekend (Saturday)", "weekend (Sunday)"]
    assert worked.at == dt.datetime(2026, 10, 26, 17, tzinfo=dt.UTC)


DURATIONS = st.one_of(
    st.integers(0, 40).map(lambda n: f"{n} working days"),
    st.integers(0, 8).map(lambda n: f"{n} working weeks"),
    st.integers(0, 200).map(lambda n: f"{n} hours"),
    st.integers(0, 60).map(lambda n: f"{n} days"),
    st.integers(0, 14).map(lambda n: f"{n} months"),
    st.just("same working day"),
)


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31), timezones=st.just(dt.UTC)
    ),
    text=DURATIONS,
    nation=st.sampled_from(sorted(NATIONS)),
    closed=st.sets(st.dates(dt.date(2025, 1, 1), dt.date(2029, 6, 30)), max_size=6),
)
def test_replaying_the_explanation_gives_the_date(start, text, nation, closed):
    closed_named = {day: f"Closed day {n}" for n, day in enumerate(sorted(closed))}
    calendar = WorkingCalendar(nation, dt.time(17, 0), closed_named)
    duration = Duration.parse(text)
    worked = duration.explain(start, calendar)
    assert worked.at == duration.after(start, calendar)
    assert replay(worked, duration, nation, closed_named) == worked.at
