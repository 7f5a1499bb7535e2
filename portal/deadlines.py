"""When each stage is due and when its reminders and overdue notices go: the rules of docs/deadlines.md applied to a
procedure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.procedure import Duration, Procedure, Stage
from portal.workdays import LONDON, london, to_utc


@dataclass(frozen=True)
class StageSchedule:
    stage: Stage
    starts: dt.datetime
    reminders: tuple[dt.datetime, ...]  # when each is sent: in working hours, before the deadline
    due: dt.datetime
    notice: dt.datetime  # when the overdue notice goes: the deadline, or the next opening if it is out of hours

    @property
    def alerts(self) -> tuple[dt.datetime, ...]:
        """Every alert of the stage in time order; the overdue notice is always the last."""
        return (*self.reminders, self.notice)


def opening(procedure: Procedure, day: dt.date) -> dt.datetime:
    """The start of working hours on a London date, as UTC."""
    return dt.datetime.combine(day, procedure.working_hours_start, tzinfo=LONDON).astimezone(dt.UTC)


def in_working_hours(procedure: Procedure, moment: dt.datetime) -> dt.datetime:
    """`moment` if it falls in working hours (from `working_hours_start` to close of business, both included, on a
    working day); otherwise the start of the next working hours. Reminders and overdue notices are sent then."""
    moment = to_utc(moment)
    calendar = procedure.calendar
    day = london(moment).date()
    if calendar.is_working_day(day):
        if moment < opening(procedure, day):
            return opening(procedure, day)
        if moment <= calendar.close_of_business(day):
            return moment
    return opening(procedure, calendar.next_working_day(day))


def next_notice(procedure: Procedure, every: Duration, after: dt.datetime) -> dt.datetime:
    """When an overdue notice sent at `after` is next repeated, `every` on.

    Working days count whole days from the notice's own date and land at the start of working hours, so
    `1 working day` is every working morning; any other duration is counted as its rule says
    (`Duration.after`), then moved into working hours.
    """
    if every.unit == "working_days":
        day = london(after).date()
        for _ in range(every.count):
            day = procedure.calendar.next_working_day(day)
        return opening(procedure, day)
    return in_working_hours(procedure, every.after(after, procedure.calendar))


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
    # A reminder moved into working hours that is no longer before the deadline merges into the overdue notice.
    reminders = sorted(
        {
            moment
            for moment in (
                in_working_hours(procedure, r.after(starts, procedure.calendar))
                for r in procedure.stage_reminders(stage)
            )
            if moment < due
        }
    )
    return StageSchedule(stage, starts, tuple(reminders), due, in_working_hours(procedure, due))


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
