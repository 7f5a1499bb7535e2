"""When each stage is due and when its reminders fire: the rules of docs/deadlines.md applied to a procedure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.procedure import Procedure, Stage
from portal.workdays import to_utc


@dataclass(frozen=True)
class StageSchedule:
    stage: Stage
    starts: dt.datetime
    reminders: tuple[dt.datetime, ...]
    due: dt.datetime

    @property
    def alerts(self) -> tuple[dt.datetime, ...]:
        """Every alert of the stage in time order; the deadline is always the last."""
        return (*self.reminders, self.due)


def schedule_stage(
    procedure: Procedure,
    stage: Stage,
    starts: dt.datetime,
    imminent: bool = False,
    requested_due: dt.datetime | None = None,
) -> StageSchedule:
    """The stage's deadline and reminders if it starts at `starts`.

    Imminent risk and a raiser's own earlier deadline only ever bring the first
    stage's deadline forward ("whichever is less").
    """
    starts = to_utc(starts)
    due = stage.resolve_within.after(starts, procedure.calendar)
    if stage.index == 0:
        if imminent and procedure.imminent_risk is not None:
            due = min(due, procedure.imminent_risk.after(starts, procedure.calendar))
        if requested_due is not None:
            due = min(due, max(to_utc(requested_due), starts))
    reminders = sorted(
        {
            moment
            for moment in (r.after(starts, procedure.calendar) for r in procedure.stage_reminders(stage))
            if moment < due
        }
    )
    return StageSchedule(stage, starts, tuple(reminders), due)


def next_stage_start(procedure: Procedure, stage: Stage, failed_at: dt.datetime) -> dt.datetime:
    """When the next stage starts if `stage` fails at `failed_at` and escalation takes all the time allowed."""
    nxt = procedure.stages[stage.index + 1]
    if nxt.escalate_within is None:
        return to_utc(failed_at)
    return nxt.escalate_within.after(failed_at, procedure.calendar)


def timeline(
    procedure: Procedure,
    start: dt.datetime,
    imminent: bool = False,
    requested_due: dt.datetime | None = None,
) -> list[StageSchedule]:
    """Every stage's schedule when every stage runs to its limit."""
    schedules: list[StageSchedule] = []
    starts = to_utc(start)
    for stage in procedure.stages:
        if schedules:
            starts = next_stage_start(procedure, schedules[-1].stage, schedules[-1].due)
        schedules.append(schedule_stage(procedure, stage, starts, imminent, requested_due))
    return schedules
