"""`flask procedure timeline --explain` and `procedure check`: how each date was worked out, and both limits of a
stage with a window from the raise."""

from __future__ import annotations

import json


def test_explain_names_each_day_skipped_over_christmas(runner):
    args = ["procedure", "timeline", "hounslow", "--start", "2026-12-23T15:00", "--explain"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    text = result.output
    for line in (
        "Rule: 5 working days",
        "Calendar: England and Wales bank holidays; close of business 5:00pm London time",
        "Friday 25 December 2026: bank holiday: Christmas Day",
        "Monday 28 December 2026: bank holiday: Boxing Day (observed)",
        "Friday 1 January 2027: bank holiday: New Year's Day",
        "Monday 4 January 2027: working day 5",
        "Result: Monday 4 January 2027, 5:00pm",
    ):
        assert line in text, line
    assert "<- the earliest: the deadline" in text  # stage 2's window from the raise


def test_explain_json_carries_the_working_of_each_limit_and_reminder(runner):
    args = ["procedure", "timeline", "hounslow", "--start", "2026-12-23T15:00", "--explain", "--json"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    stages = json.loads(result.output)["stages"]
    own, window = stages[1]["limits"]
    assert window["label"] == "The window from the day the case was raised: 10 working days"
    assert window["worked"]["rule"] == "10 working days" and window["at"] == stages[1]["due"]
    assert own["worked"]["start"] == stages[1]["starts"]  # London is on UTC in winter
    days = stages[0]["limits"][0]["worked"]["days"]
    assert {"date": "2026-12-25", "counted": False, "why": "bank holiday: Christmas Day"} in days
    assert [d["why"] for d in days if d["counted"]][-1] == "working day 5"
    assert all(r["worked"]["at"] for r in stages[0]["reminders_explained"])


def test_check_prints_both_limits_of_a_windowed_stage(runner):
    result = runner.invoke(args=["procedure", "check", "hounslow"])
    assert result.exit_code == 0, result.output
    assert "Timeline for a case raised now" in result.output
    assert result.output.count("The window from the day the case was raised") == 3
    assert result.output.count("The stage's own limit") == 3
