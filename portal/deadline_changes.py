"""Changing a stage's deadline on purpose, never silently: an earlier date agreed by the people acting at the stage,
an extension or a pause of the clock by the Business Manager (or whom the procedure's `extended_by` names).

Plain Python (no Flask). Each change is one transaction: the change row, an event on the case, the stage's
deadline and reminder rows rewritten from the schedule (portal.deadlines.schedule_stage applies every change in
order, so the case page's explanation and the reminders come from the same function), and an email to the people
at the stage, the raiser and the Business Manager. A pause writes a `restart` alert: the minute sweep ends it at its
date (docs/deadlines.md, 'Changing a deadline').
"""

from __future__ import annotations

import datetime as dt

from portal import links
from portal.case_actions import Actor
from portal.db import database
from portal.deadlines import Change, StageSchedule, opening, paused_working_days, schedule_stage
from portal.mail import queue_email, wake_sender
from portal.models import DeadlineChange, Escalation, Reminder, StageParty, StageRecord
from portal.prepared import Prepared, Slot
from portal.procedure import Procedure
from portal.routing import Recipient, business_managers, resolve_parties
from portal.workdays import format_london, london, to_utc
from portal.workflow import (
    MAX_TEXT,
    WorkflowError,
    _event,
    _now,
    _require,
    _save_transition,
    next_alert_at,
    running_pause,
)


class DateRefused(WorkflowError):
    """A date the procedure does not allow for this change; shown next to the date field."""


KINDS = {"earlier": "Earlier deadline agreed", "extend": "Deadline extended", "pause": "Clock paused"}


def _who(row: DeadlineChange) -> str:
    return row.made_by_name or row.made_by_email or "someone"


def as_change(row: DeadlineChange) -> Change:
    """A row as the schedule applies it, with the sentence the case page shows beside the deadline."""
    when = format_london(row.made_at)
    if row.kind == "pause":
        until = row.ended_at or row.until
        state = f"restarted {format_london(until)}" if row.ended_at else f"until {format_london(until)}"
        label = f"Clock paused by {_who(row)} on {when}, {state}: {row.reason}"
        return Change("pause", row.made_at, until=until, label=label)
    return Change(
        row.kind, row.made_at, due=row.due_at, label=f"{KINDS[row.kind]} by {_who(row)} on {when}: {row.reason}"
    )


# Read on every case page: SQL written once (portal/prepared.py)
_CHANGES = Prepared(
    lambda: (
        DeadlineChange.select()
        .where((DeadlineChange.escalation == Slot("case_id")) & (DeadlineChange.stage_index == Slot("stage_index")))
        .order_by(DeadlineChange.id)
    )
)
_STAGE = Prepared(
    lambda: StageRecord.select().where(
        (StageRecord.escalation == Slot("case_id")) & (StageRecord.stage_index == Slot("stage_index"))
    )
)


def changes_of(case: Escalation, stage_index: int) -> list[DeadlineChange]:
    return list(_CHANGES.run(case_id=case.id, stage_index=stage_index))


def stage_schedule(procedure: Procedure, case: Escalation, record: StageRecord) -> StageSchedule:
    """A stage of a case as it stands: its deadline, reminders and how each was worked out."""
    rows = changes_of(case, record.stage_index)
    return schedule_stage(
        procedure,
        procedure.stage(record.stage_index),
        record.started_at,
        case.imminent_risk,
        case.requested_due_at,
        raised=case.created_at,
        changes=tuple(as_change(row) for row in rows),
    )


def current_schedule(procedure: Procedure, case: Escalation) -> StageSchedule | None:
    """The open stage's schedule with its working, for the case page and these forms."""
    record = _record(case)
    if record is None or case.status != "open":
        return None
    return stage_schedule(procedure, case, record)


def paused_working_days_of(procedure: Procedure, case: Escalation) -> int:
    """Working days the case's clock was (or is planned to be) paused, over all its stages: the report shows them
    apart from the working time the case took."""
    rows = DeadlineChange.select().where((DeadlineChange.escalation == case) & (DeadlineChange.kind == "pause"))
    return sum(paused_working_days(procedure, as_change(row)) for row in rows)


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise WorkflowError("Enter the reason")
    if len(text) > MAX_TEXT:
        raise WorkflowError(f"The reason must be {MAX_TEXT:,} characters or fewer")
    return text


def _record(case: Escalation) -> StageRecord | None:
    """The current stage's record (an open case always has one)."""
    return _STAGE.first(case_id=case.id, stage_index=case.stage_index)


def agree_earlier(
    procedure: Procedure, case: Escalation, actor: Actor, due: dt.datetime, reason: str, now: dt.datetime | None = None
) -> DeadlineChange:
    """The people acting at the stage agree an earlier deadline for it; the current one stays the latest allowed."""
    now, reason, due = _now(now), _reason(reason), to_utc(due)
    _require(procedure, case, actor, "earlier")
    current = stage_schedule(procedure, case, _record(case)).due
    if due <= now:
        raise DateRefused("The earlier deadline must be in the future")
    if due >= current:
        raise DateRefused(
            f"The earlier deadline must be before the current deadline, {format_london(current)}: that is the latest "
            "the procedure allows"
        )
    return _change(procedure, case, actor, now, "earlier", reason, due_at=due)


def extend(
    procedure: Procedure, case: Escalation, actor: Actor, due: dt.datetime, reason: str, now: dt.datetime | None = None
) -> DeadlineChange:
    """The Business Manager gives the stage a later deadline, with the reason."""
    now, reason, due = _now(now), _reason(reason), to_utc(due)
    _require(procedure, case, actor, "extend")
    current = stage_schedule(procedure, case, _record(case)).due
    if due <= max(current, now):
        raise DateRefused(f"The new deadline must be after the current one, {format_london(max(current, now))}")
    return _change(procedure, case, actor, now, "extend", reason, due_at=due)


def pause(
    procedure: Procedure, case: Escalation, actor: Actor, until: dt.date, reason: str, now: dt.datetime | None = None
) -> DeadlineChange:
    """Stop the stage's clock until the start of working hours on a date (or the next working day): the deadline
    and the reminders still to come move on by the working days paused."""
    now, reason = _now(now), _reason(reason)
    _require(procedure, case, actor, "pause")
    restart = opening(procedure, procedure.calendar.working_day_on_or_after(until))
    if until <= london(now).date():
        raise DateRefused("The date the clock restarts must be after today")
    if (running := running_pause(case)) is not None:
        raise WorkflowError(f"The clock is already paused until {format_london(running.until)}")
    return _change(procedure, case, actor, now, "pause", reason, until=restart)


def restart(procedure: Procedure, case: Escalation, actor: Actor, now: dt.datetime | None = None) -> DeadlineChange:
    """End the stage's pause early: the Business Manager (or whom `extended_by` names)."""
    now = _now(now)
    _require(procedure, case, actor, "restart")
    row, outbox = _restart(procedure, case, actor, now)
    wake_sender(outbox)
    return row


def _restart(
    procedure: Procedure, case: Escalation, actor: Actor | None, now: dt.datetime
) -> tuple[DeadlineChange, list[int]]:
    with database.atomic():
        row = running_pause(case)
        if row is None:
            raise WorkflowError("The clock is not paused")
        row.ended_at = min(now, row.until)
        row.save()
        _save_transition(case)
        early = row.ended_at < row.until
        schedule = _reschedule(procedure, case, now, f"restart{row.id}")
        text = (
            f"Clock restarted early (it was paused until {format_london(row.until)}); "
            if early
            else "Clock restarted at the end of the pause; "
        ) + f"{procedure.stage(case.stage_index).name} is now due {format_london(schedule.due)}"
        _event(case, "clock_restarted", actor, now, text, change=row.id)
        outbox = _tell(procedure, case, f"restart{row.id}", "clock_restarted", f"{text}.", schedule)
    return row, outbox


def _change(procedure: Procedure, case: Escalation, actor: Actor, now: dt.datetime, kind: str, reason: str, **data):
    with database.atomic():
        _save_transition(case)  # a change made while someone else moved the case is refused, not lost
        row = DeadlineChange.create(
            escalation=case,
            stage_index=case.stage_index,
            kind=kind,
            made_at=now,
            made_by=actor.user,
            made_by_email=actor.email or "",
            made_by_name=actor.name or "",
            reason=reason,
            **data,
        )
        schedule = _reschedule(procedure, case, now, f"change{row.id}")
        stage = procedure.stage(case.stage_index).name
        if kind == "pause":
            text = f"Clock paused until {format_london(row.until)}: {stage} is now due {format_london(schedule.due)}"
        else:
            text = f"{KINDS[kind]}: {stage} is now due {format_london(schedule.due)}"
        _event(
            case,
            f"deadline_{kind}",
            actor,
            now,
            f"{text}. Reason: {reason}",
            change=row.id,
            due=schedule.due.isoformat(),
        )
        outbox = _tell(procedure, case, f"change{row.id}", f"deadline_{kind}", f"{text}. Reason: {reason}", schedule)
    wake_sender(outbox)
    return row


def _reschedule(procedure: Procedure, case: Escalation, now: dt.datetime, tag: str) -> StageSchedule:
    """The stage's deadline and alerts rewritten from its schedule: the alerts still to come are cancelled and
    written again under new keys, so none is sent twice and none is lost."""
    record = _record(case)
    schedule = stage_schedule(procedure, case, record)
    StageRecord.update(due_at=schedule.due).where(StageRecord.id == record.id).execute()
    Reminder.update(cancelled_at=now).where(
        (Reminder.escalation == case)
        & (Reminder.stage_index == case.stage_index)
        & Reminder.sent_at.is_null()
        & Reminder.cancelled_at.is_null()
        & (Reminder.kind != "copy")
    ).execute()
    key = f"{case.reference}/stage{case.stage_index + 1}/{tag}"
    rows = [(f"{key}/reminder{n}", "reminder", at) for n, at in enumerate(schedule.reminders, 1) if at > now]
    rows.append((f"{key}/deadline", "deadline", max(schedule.notice, now)))
    if (paused := running_pause(case)) is not None:
        rows.append((f"{key}/restart", "restart", paused.until))
    for row_key, kind, at in rows:
        Reminder.create(key=row_key, escalation=case, stage_index=case.stage_index, kind=kind, due_at=at)
    links.keep_open(case, case.stage_index, schedule.due)
    case.due_at = schedule.due
    Escalation.update(due_at=schedule.due, next_alert_at=next_alert_at(case)).where(Escalation.id == case.id).execute()
    return schedule


def _tell(
    procedure: Procedure, case: Escalation, tag: str, purpose: str, text: str, schedule: StageSchedule, reason: str = ""
) -> list[int]:
    """The people at the stage, the raiser and the Business Manager, each once."""
    record = _record(case)
    people: dict[str, Recipient] = {}
    for p in StageParty.select().where(StageParty.stage == record).order_by(StageParty.id):
        people.setdefault(p.email.lower(), Recipient(p.party, p.name, p.email, p.secure, p.contact_id, p.verified))
    for r in resolve_parties(procedure, ("raiser",), case) + business_managers(procedure, case):
        people.setdefault(r.email.lower(), r)
    context = {"stage_index": case.stage_index, "change": text, "reason": reason, "due": schedule.due.isoformat()}
    key = f"{case.reference}/stage{case.stage_index + 1}/{tag}"
    return [
        outbox_id
        for r in people.values()
        if (outbox_id := queue_email(case, "deadline_changed", r, f"{key}/{purpose}/{r.email.lower()}", context))
    ]


def restart_from_sweep(procedure: Procedure, case: Escalation, now: dt.datetime) -> list[int]:
    """The `restart` alert come due: the pause ends at its date, inside the sweep's transaction; returns the
    outbox rows to send once it commits."""
    if running_pause(case) is None:
        return []
    return _restart(procedure, case, None, now)[1]
