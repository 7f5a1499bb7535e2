"""Working hours and repeats, without a database: when an alert is sent, when an overdue notice repeats, which
reminders merge into the overdue notice, and the procedure keys that set them.

Worked by hand on a calendar. England's bank holidays: Fri 25 Dec 2026, Mon 28 Dec (Boxing Day observed),
Fri 1 Jan 2027; Fri 28 Aug 2026 is a working day and Mon 31 Aug the summer bank holiday. Winter is GMT (London
== UTC); summer is BST (London = UTC + 1).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from portal.deadlines import in_working_hours, next_notice, schedule_stage
from portal.procedure import Duration, ProcedureError, load_procedure
from tests.conftest import TEST_PROCEDURE

UTC = dt.UTC


def at(year, month, day, hour, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def proc():
    return load_procedure(TEST_PROCEDURE)


@pytest.mark.parametrize(
    ("moment", "sent"),
    [
        (at(2026, 12, 1, 10), at(2026, 12, 1, 10)),  # Tue 10:00: in hours, it stands
        (at(2026, 12, 1, 9), at(2026, 12, 1, 9)),  # opening itself is in hours
        (at(2026, 12, 1, 17), at(2026, 12, 1, 17)),  # and so is close of business (working-day deadlines end there)
        (at(2026, 12, 1, 8, 59), at(2026, 12, 1, 9)),  # Tue 08:59: that day's opening
        (at(2026, 12, 1, 0, 30), at(2026, 12, 1, 9)),  # Tue 00:30: the same
        (at(2026, 12, 1, 17, 1), at(2026, 12, 2, 9)),  # Tue 17:01: Wednesday's opening
        (at(2026, 12, 4, 20), at(2026, 12, 7, 9)),  # Fri 20:00: Monday's
        (at(2026, 12, 5, 12), at(2026, 12, 7, 9)),  # Saturday noon: Monday's
        (at(2026, 12, 24, 18), at(2026, 12, 29, 9)),  # Christmas Eve 18:00: past Christmas, the weekend, Boxing Day
        (at(2026, 12, 31, 23), at(2027, 1, 4, 9)),  # New Year's Eve 23:00: past New Year's Day and the weekend
        (at(2026, 8, 28, 7), at(2026, 8, 28, 8)),  # Fri 28 Aug 07:00Z = 08:00 BST: 09:00 BST is 08:00Z
        (at(2026, 8, 28, 16, 30), at(2026, 9, 1, 8)),  # 17:30 BST Friday: Tue 1 Sep (Mon 31 Aug is a holiday)
    ],
)
def test_an_alert_outside_working_hours_waits_for_the_next_opening(proc, moment, sent):
    assert in_working_hours(proc, moment) == sent


@pytest.mark.parametrize(
    ("every", "after", "repeat"),
    [
        # "1 working day": the next working day's opening, whatever the time of the notice before.
        ("1 working day", at(2026, 12, 22, 17), at(2026, 12, 23, 9)),
        ("1 working day", at(2026, 12, 23, 9), at(2026, 12, 24, 9)),
        ("1 working day", at(2026, 12, 24, 9), at(2026, 12, 29, 9)),  # Christmas, the weekend, Boxing Day
        ("1 working day", at(2026, 12, 31, 9), at(2027, 1, 4, 9)),  # New Year's Day and the weekend
        ("1 working day", at(2027, 1, 9, 12), at(2027, 1, 11, 9)),  # from a Saturday (a late notice): Monday
        ("2 working days", at(2027, 1, 4, 9), at(2027, 1, 6, 9)),  # Mon -> Wed
        ("1 working week", at(2027, 1, 4, 9), at(2027, 1, 11, 9)),
        # Other durations by their own rule, then into working hours.
        ("24 hours", at(2027, 1, 5, 17), at(2027, 1, 6, 17)),  # Tue 17:00 -> Wed 17:00 (close: in hours)
        ("24 hours", at(2027, 1, 5, 18), at(2027, 1, 7, 9)),  # Wed 18:00 is after close: Thursday's opening
        ("7 days", at(2027, 1, 5, 17), at(2027, 1, 12, 17)),  # calendar days end at close of business
    ],
)
def test_an_overdue_notice_repeats_every_overdue_every_in_working_hours(proc, every, after, repeat):
    assert next_notice(proc, Duration.parse(every), after) == repeat


def test_the_first_repeat_is_the_next_working_morning_after_a_close_of_business_deadline(proc):
    """`Duration.after` would count "1 working day" from Tue 17:00 to Thursday's close (a day is skipped): the
    repeat counts from the notice's own date instead."""
    every = Duration.parse("1 working day")
    assert every.after(at(2027, 1, 5, 17), proc.calendar) == at(2027, 1, 7, 17)
    assert next_notice(proc, every, at(2027, 1, 5, 17)) == at(2027, 1, 6, 9)


HOURS = """
id = "hours"
name = "Hours"
reminders = ["12 hours", "24 hours"]
{extra}

[[stages]]
key = "practitioners"
name = "Stage 1"
parties = ["raiser", "counterpart"]
resolve_within = "36 hours"
{stage}

[[stages]]
key = "managers"
name = "Stage 2"
parties = ["raiser.line_manager", "counterpart.line_manager"]
escalate_within = "24 hours"
resolve_within = "5 working days"
"""


def hours(tmp_path: Path, extra: str = "", stage: str = ""):
    path = tmp_path / "hours.toml"
    path.write_text(HOURS.format(extra=extra, stage=stage))
    return load_procedure(path)


def test_a_reminder_pushed_to_the_deadline_or_past_it_merges_into_the_overdue_notice(tmp_path):
    proc = hours(tmp_path)
    # Raised Tue 1 Dec 2026 19:00 GMT. "36 hours" -> Thu 3 Dec 07:00 (a working day: the instant stands).
    # "12 hours" -> Wed 2 Dec 07:00, before opening: Wed 09:00, before the deadline: kept.
    # "24 hours" -> Wed 2 Dec 19:00, after close: Thu 3 Dec 09:00, after the deadline (07:00): merged, not sent.
    # The overdue notice: the deadline, 07:00, is before opening: Thu 3 Dec 09:00.
    schedule = schedule_stage(proc, proc.stages[0], at(2026, 12, 1, 19))
    assert schedule.due == at(2026, 12, 3, 7)
    assert schedule.reminders == (at(2026, 12, 2, 9),)
    assert schedule.notice == at(2026, 12, 3, 9)
    assert schedule.alerts == (at(2026, 12, 2, 9), at(2026, 12, 3, 9))


def test_two_reminders_that_working_hours_bring_together_are_one(tmp_path):
    proc = hours(tmp_path, stage='reminders = ["2 hours", "4 hours"]')
    # Raised Tue 1 Dec 2026 18:00: 20:00 and 22:00 are both after close: both Wed 2 Dec 09:00, one reminder.
    schedule = schedule_stage(proc, proc.stages[0], at(2026, 12, 1, 18))
    assert schedule.reminders == (at(2026, 12, 2, 9),)


def test_working_hours_start_and_overdue_every_are_read_from_the_file(tmp_path):
    proc = hours(
        tmp_path, 'working_hours_start = "08:00"\noverdue_every = "2 working days"', 'overdue_every = "4 hours"'
    )
    assert proc.working_hours_start == dt.time(8, 0) and proc.warnings == ()
    assert str(proc.stage_overdue_every(proc.stages[0])) == "4 hours"
    assert str(proc.stage_overdue_every(proc.stages[1])) == "2 working days"
    # "12 hours" from Tue 1 Dec 19:00 -> Wed 07:00: now Wed 08:00, the file's opening.
    assert schedule_stage(proc, proc.stages[0], at(2026, 12, 1, 19)).reminders == (at(2026, 12, 2, 8),)


def test_the_defaults_are_09_00_and_every_working_day(tmp_path):
    proc = hours(tmp_path)
    assert proc.working_hours_start == dt.time(9, 0)
    assert [str(proc.stage_overdue_every(s)) for s in proc.stages] == ["1 working day", "1 working day"]


@pytest.mark.parametrize(
    ("extra", "stage", "message"),
    [
        ('overdue_every = "0 working days"', "", r"procedure: overdue_every = '0 working days': a repeat needs"),
        ("", 'overdue_every = "same working day"', r"stage 1 \(practitioners\): overdue_every = 'same working day'"),
        ('overdue_every = "daily"', "", r"procedure: overdue_every: unknown duration 'daily'"),
        ('working_hours_start = "9am"', "", r"procedure: working_hours_start = '9am': use 24-hour HH:MM"),
        (
            'working_hours_start = "17:00"',
            "",
            r"procedure: working_hours_start = 17:00: must be before close_of_business \(17:00\)",
        ),
    ],
)
def test_bad_values_name_the_file_and_the_key(tmp_path, extra, stage, message):
    with pytest.raises(ProcedureError, match=message) as raised:
        hours(tmp_path, extra, stage)
    assert str(raised.value).startswith(f"{tmp_path / 'hours.toml'}: ")
