"""When each stage is due and when its reminders and overdue notices go: the rules of docs/deadlines.md applied to a
procedure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.procedure import Duration, Procedure, Stage
from portal.workdays import LONDON, Worked, format_london, london, to_utc


@dataclass(frozen=True)
class Limit:
    """One bound on a stage's deadline, or one change made to it, with how its instant was worked out."""

    label: str  # "The stage's own limit (5 working days)", "Extended by Jo Bloggs: reason"...
    at: dt.datetime
    worked: Worked | None = None  # None: a date a person gave


@dataclass(frozen=True)
class Change:
    """A deadline change recorded on a case (portal.deadline_changes), as the schedule applies it."""

    kind: str  # earlier | extend | pause
    made_at: dt.datetime
    due: dt.datetime | None = None  # earlier, extend: the new deadline
    until: dt.datetime | None = None  # pause: when the clock restarts (or restarted, if ended early)
    label: str = ""


@dataclass(frozen=True)
class StageSchedule:
    stage: Stage
    starts: dt.datetime
    reminders: tuple[dt.datetime, ...]  # when each is sent: in working hours, before the deadline
    due: dt.datetime
    notice: dt.datetime  # when the overdue notice goes: the deadline, or the next opening if it is out of hours
    limits: tuple[Limit, ...] = ()  # the procedure's bounds: the earliest is the deadline
    changes: tuple[Limit, ...] = ()  # then each change made on the case, in order
    reminder_why: tuple[tuple[dt.datetime, Worked, str], ...] = ()  # each reminder, its working and any move

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


def stage_limits(
    procedure: Procedure,
    stage: Stage,
    starts: dt.datetime,
    imminent: bool = False,
    requested_due: dt.datetime | None = None,
    raised: dt.datetime | None = None,
) -> list[Limit]:
    """The procedure's bounds on a stage's deadline ("whichever is less"): its own limit, its window from the raise,
    and at the first stage imminent risk and the raiser's own earlier date."""
    starts = to_utc(starts)
    calendar = procedure.calendar
    own = stage.resolve_within.explain(starts, calendar)
    limits = [Limit(f"The stage's own limit: {stage.resolve_within} from when it started", own.at, own)]
    if stage.by is not None:
        window = stage.by.explain(to_utc(raised) if raised is not None else starts, calendar)
        label = f"The window from the day the case was raised: {stage.by}"
        if window.at < starts:
            label += " (it ended before the stage started, so the stage is due when it starts)"
        limits.append(Limit(label, max(window.at, starts), window))
    if stage.index == 0:
        if imminent and procedure.imminent_risk is not None:
            risk = procedure.imminent_risk.explain(starts, calendar)
            limits.append(Limit(f"Imminent risk of significant harm: {procedure.imminent_risk}", risk.at, risk))
        if requested_due is not None:
            limits.append(Limit("The earlier deadline the raiser gave", max(to_utc(requested_due), starts)))
    return limits


def paused_working_days(procedure: Procedure, change: Change) -> int:
    """The working days a pause stops the clock for: from the day it was made up to, not including, its end's day."""
    return procedure.calendar.working_days_from(london(change.made_at).date(), london(change.until).date())


def _apply(procedure: Procedure, due: dt.datetime, change: Change) -> Limit:
    if change.kind != "pause":
        return Limit(change.label, to_utc(change.due))
    paused = paused_working_days(procedure, change)
    shift = procedure.calendar.explain_shift(due, paused, f"{paused} working days paused")
    return Limit(change.label, shift.at, shift)


def _shift_reminder(procedure: Procedure, moment: dt.datetime, changes: tuple[Change, ...]) -> dt.datetime:
    """A reminder still to come when the clock was paused moves on by the working days paused."""
    for change in changes:
        if change.kind == "pause" and moment >= change.made_at:
            moment = procedure.calendar.explain_shift(moment, paused_working_days(procedure, change), "").at
    return moment


def schedule_stage(
    procedure: Procedure,
    stage: Stage,
    starts: dt.datetime,
    imminent: bool = False,
    requested_due: dt.datetime | None = None,
    raised: dt.datetime | None = None,
    changes: tuple[Change, ...] = (),
) -> StageSchedule:
    """The stage's deadline and reminders if it starts at `starts`, with how each was worked out.

    The earliest of the procedure's limits is the deadline; each change recorded on the case (an earlier date
    agreed, an extension, a pause) then applies in the order it was made.
    """
    starts = to_utc(starts)
    limits = stage_limits(procedure, stage, starts, imminent, requested_due if stage.index == 0 else None, raised)
    due = min(limit.at for limit in limits)
    applied = []
    for change in changes:
        applied.append(_apply(procedure, due, change))
        due = applied[-1].at
    # A reminder moved into working hours that is no longer before the deadline merges into the overdue notice.
    why: dict[dt.datetime, tuple[dt.datetime, Worked, str]] = {}
    for duration in procedure.stage_reminders(stage):
        worked = duration.explain(starts, procedure.calendar)
        moment = in_working_hours(procedure, _shift_reminder(procedure, worked.at, changes))
        if moment < due and moment not in why:
            note = "" if moment == worked.at else f"Sent at the next working hours: {format_london(moment)}"
            why[moment] = (moment, worked, note)
    reminders = tuple(sorted(why))
    return StageSchedule(
        stage,
        starts,
        reminders,
        due,
        in_working_hours(procedure, due),
        tuple(limits),
        tuple(applied),
        tuple(why[moment] for moment in reminders),
    )


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
        schedules.append(schedule_stage(procedure, stage, starts, imminent, requested_due, raised=to_utc(start)))
    return schedules
