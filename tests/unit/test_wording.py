"""Time limits in words built from each procedure's own durations and units, for every preset and a mixed file."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from portal.procedure import Duration, load_procedure, preset_ids, resolve_procedure
from portal.views.display import deadline_is_near, stage_limits, timing_rules, within, working_time_left

MIXED = Path(__file__).parent.parent / "data" / "mixed_units.toml"
PROCEDURES = [resolve_procedure(p) for p in preset_ids()] + [load_procedure(MIXED)]
# A phrase that reads as a sentence's end: "within N unit(s)" with the number agreeing, or "on the same working day".
PHRASE = re.compile(
    r"^(within (1 (hour|day|working day|working week|month)"
    r"|([02-9]|\d\d+) (hours|days|working days|working weeks|months))|on the same working day)$"
)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("5 working days", "within 5 working days"),
        ("1 working day", "within 1 working day"),
        ("0 working days", "on the same working day"),
        ("same working day", "on the same working day"),
        ("24 hours", "within 24 hours"),
        ("1 hour", "within 1 hour"),
        ("4 hours", "within 4 hours"),
        ("7 days", "within 7 days"),
        ("1 working week", "within 1 working week"),
        ("2 Working  Weeks", "within 2 working weeks"),
        ("28 days", "within 28 days"),
        ("1 month", "within 1 month"),
        ("2 months", "within 2 months"),
    ],
)
def test_each_duration_reads_as_a_time_limit(text, phrase):
    assert within(Duration.parse(text)) == phrase


@pytest.mark.parametrize("procedure", PROCEDURES, ids=lambda p: p.id)
def test_every_limit_of_every_procedure_reads_as_a_sentence_end(procedure):
    durations = [procedure.imminent_risk] + [s.resolve_within for s in procedure.stages]
    durations += [s.escalate_within for s in procedure.stages]
    for duration in filter(None, durations):
        assert PHRASE.match(within(duration)), duration
    for stage in procedure.stages:
        text = stage_limits(procedure, stage)
        assert text.startswith(f"To be resolved {within(stage.resolve_within)}.")
        if stage.escalate_within is not None:
            previous = procedure.stage(stage.index - 1).name
            assert f"If {previous} ends unresolved, the case must be escalated to this stage" in text
            assert within(stage.escalate_within) in text
        else:
            assert "escalated" not in text


@pytest.mark.parametrize("procedure", PROCEDURES, ids=lambda p: p.id)
def test_the_counting_rules_name_only_the_units_the_procedure_uses(procedure):
    rules = " ".join(timing_rules(procedure))
    units = {d.unit for s in procedure.stages for d in (s.resolve_within, s.escalate_within) if d}
    units |= {procedure.imminent_risk.unit} if procedure.imminent_risk else set()
    assert ("Working days end at close of business" in rules) == bool(units & {"working_days", "same_working_day"})
    assert ("Hours are counted around the clock" in rules) == ("hours" in units)
    assert ("Calendar" in rules) == bool(units & {"days", "months"})
    assert f"({procedure.calendar.close_time:%H:%M})" in rules


def test_the_mixed_file_names_each_unit_and_its_own_calendar():
    procedure = load_procedure(MIXED)
    rules = timing_rules(procedure)
    assert rules == [
        "Working days end at close of business (17:30); weekends and bank holidays in Northern Ireland do not count.",
        "Hours are counted around the clock; a limit in hours that ends on a weekend or bank holiday moves to close "
        "of business (17:30) on the next working day.",
        "Calendar days and months include weekends; they end at close of business (17:30), on the next working day "
        "if the last one is not.",
    ]
    assert [stage_limits(procedure, s) for s in procedure.stages] == [
        "To be resolved within 7 days.",
        "To be resolved within 2 working weeks. If Stage 1: Practitioners ends unresolved, the case must be "
        "escalated to this stage within 24 hours of that.",
        "To be resolved within 2 months. If Stage 2: Managers ends unresolved, the case must be escalated to this "
        "stage within 1 working day of that.",
    ]


HOUNSLOW = resolve_procedure("hounslow")
TUESDAY = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # GMT: London time is UTC


@pytest.mark.parametrize(
    ("now", "due", "near"),
    [
        (TUESDAY.replace(hour=16, minute=50), TUESDAY.replace(hour=17), True),  # 10 minutes
        (TUESDAY.replace(hour=15, minute=1), TUESDAY.replace(hour=17), True),  # 1 hour 59 minutes
        (TUESDAY.replace(hour=15), TUESDAY.replace(hour=17), False),  # exactly two working hours
        (TUESDAY.replace(hour=10), TUESDAY.replace(hour=17), False),
        # 16:30 on Friday 4 December, due 10:00 on Monday: 30 minutes + 1 hour of working time.
        (dt.datetime(2026, 12, 4, 16, 30, tzinfo=dt.UTC), dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC), True),
        # Due Monday at close of business: the whole of Monday's working hours are left.
        (dt.datetime(2026, 12, 4, 16, 30, tzinfo=dt.UTC), dt.datetime(2026, 12, 7, 17, tzinfo=dt.UTC), False),
        (TUESDAY.replace(hour=18), TUESDAY.replace(hour=17), True),  # already past
    ],
)
def test_a_deadline_under_two_working_hours_away_is_near(now, due, near):
    assert deadline_is_near(HOUNSLOW, due, now) is near


def test_working_time_skips_the_night_and_the_weekend():
    friday = dt.datetime(2026, 12, 4, 16, 30, tzinfo=dt.UTC)
    assert working_time_left(HOUNSLOW, dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC), friday) == dt.timedelta(hours=1.5)
