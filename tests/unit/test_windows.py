"""Windows counted from the raise (a stage's `by`): Hounslow's flowchart puts stage 2 at days 5-10 from the start,
stage 3 at 10-15 and stage 4 at 15-22, "the maximum time allowed"."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.deadlines import schedule_stage, timeline
from portal.procedure import ProcedureError, procedure_from_text, resolve_procedure
from portal.workdays import LONDON

FLOWCHART = {"line-managers": 10, "safeguarding-leads": 15, "heads-of-service": 22}


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2028, 12, 31), timezones=st.just(LONDON)),
    imminent=st.booleans(),
    # Each stage may end early (resolved or escalated at once) or run to its limit: the window still holds.
    early=st.lists(st.floats(0, 1), min_size=4, max_size=4),
)
def test_no_hounslow_stage_is_due_after_the_flowcharts_day(start, imminent, early):
    procedure = resolve_procedure("hounslow")
    calendar = procedure.calendar
    starts = start.astimezone(dt.UTC)
    for stage in procedure.stages[:4]:
        schedule = schedule_stage(procedure, stage, starts, imminent, raised=start)
        if stage.key in FLOWCHART:
            assert schedule.due <= max(calendar.add_working_days(start, FLOWCHART[stage.key]), schedule.starts)
            assert len(schedule.limits) == 2 and schedule.due == min(limit.at for limit in schedule.limits)
        ended = schedule.starts + (schedule.due - schedule.starts) * early[stage.index]
        nxt = procedure.stages[stage.index + 1]
        starts = nxt.escalate_within.after(ended, calendar) if nxt.escalate_within else ended


def test_running_every_stage_to_its_limit_ends_stage_4_on_working_day_22_not_28():
    procedure = resolve_procedure("hounslow")
    start = dt.datetime(2026, 6, 1, 10, tzinfo=LONDON)  # Monday: working day n is simply counted on
    stages = {s.stage.key: s for s in timeline(procedure, start)}
    for key, day in FLOWCHART.items():
        assert stages[key].due == procedure.calendar.add_working_days(start, day)
    without = procedure_from_text(procedure.text.replace('by = "', 'unused_by = "'), "hounslow.toml")
    assert timeline(without, start)[3].due == procedure.calendar.add_working_days(start, 28)


def test_a_bad_window_names_the_file_stage_and_value():
    text = resolve_procedure("hounslow").text.replace('by = "10 working days"', 'by = "ten days"')
    with pytest.raises(
        ProcedureError, match=r"hounslow.toml: stage 2 \(line-managers\): by: unknown duration 'ten days'"
    ):
        procedure_from_text(text, "hounslow.toml")
