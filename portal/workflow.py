"""The state machine of an escalation: raise, record, resolve, escalate, withdraw, decide.

Plain Python (no Flask). Each transition is one transaction that changes the
case, appends its event and writes its outbox rows; the sender is woken only
after the commit, and the outbox sweep covers a wake-up that never comes.

    open at stage k --resolve--> resolved
    open at stage k --escalate--> open at stage k+1       (k < last)
    open at last stage --decide--> closed
    open --withdraw (raiser)--> withdrawn
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import IntegrityError

from portal import links, stage_records
from portal.addresses import normalise_address
from portal.case_actions import AFTER_RESOLUTION, Actor, answer, escalated_by
from portal.db import database
from portal.deadlines import schedule_stage
from portal.documents import queue_copy, wake_renderer
from portal.learning import Lessons, record_lessons
from portal.mail import queue_email, wake_sender
from portal.models import (
    Counter,
    DeadlineChange,
    Document,
    Escalation,
    Event,
    JointRaiser,
    Reminder,
    StageParty,
    StageRecord,
    User,
    utcnow,
)
from portal.name_search import name_keys
from portal.prepared import Prepared, Slot
from portal.procedure import SPECIFIC_CIRCUMSTANCES, Procedure, Stage
from portal.registry import version_for
from portal.routing import Recipient, business_managers, resolve_parties
from portal.viewers import seen_lately
from portal.workdays import to_utc

MAX_TEXT = 10_000


class WorkflowError(Exception):
    """A transition the procedure does not allow; nothing was changed."""


@dataclass
class EscalationDetails:
    """What the raiser records (Hounslow stage 1, Salford's notice, Bury's Request for Resolution)."""

    child_name: str
    summary: str
    outcome_sought: str
    subject: str = "child"  # child | unborn | none (a strategic or thematic disagreement: no child's details)
    child_dob: dt.date | None = None
    child_due: dt.date | None = None  # an unborn baby's expected date of delivery
    child_identifier: str = ""
    child_on_plan: bool = False
    child_looked_after: bool = False
    child_chair_name: str = ""
    child_chair_email: str = ""
    raiser_role: str = ""
    raiser_agency_id: int | None = None
    raiser_contact_details: str = ""
    counterpart_name: str = ""
    counterpart_email: str = ""
    counterpart_agency_id: int | None = None
    counterpart_agency_other: str = ""  # an agency the directory does not list, as the raiser typed it
    joint_raisers: list[tuple[str, str, int | None]] = field(default_factory=list)  # (name, email, agency id)
    categories: list[str] = field(default_factory=list)
    category_other: str = ""
    action_taken: str = ""
    lead_aware: bool = False
    lead_name: str = ""
    imminent_risk: bool = False
    specific_circumstance: str | None = None
    requested_due_at: dt.datetime | None = None


def _stage_records(stage: Stage, answers: dict[str, str] | None) -> dict[str, str]:
    """The records the stage asks beside the action (portal.stage_records): only those, trimmed."""
    asked = stage_records.asked_at(stage.records)
    return {key: text.strip()[:MAX_TEXT] for key, text in (answers or {}).items() if key in asked and text.strip()}


def _now(now: dt.datetime | None) -> dt.datetime:
    return to_utc(now) if now is not None else utcnow()


def _required_text(value: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise WorkflowError(f"Enter {what}")
    if len(text) > MAX_TEXT:
        raise WorkflowError(f"{what[0].upper()}{what[1:]} must be {MAX_TEXT:,} characters or fewer")
    return text


def _next_reference(now: dt.datetime) -> str:
    name = f"escalation-{now.year}"
    Counter.insert(name=name, value=1).on_conflict(
        conflict_target=[Counter.name], update={Counter.value: Counter.value + 1}
    ).execute()
    return f"ESC-{now.year}-{Counter.get(Counter.name == name).value:04d}"


def _event(escalation: Escalation, kind: str, actor: Actor | None, now: dt.datetime, text: str = "", **data) -> Event:
    if actor is not None and actor.link is not None:
        data["via"] = "emailed link"
    if actor is not None and actor.user is None and actor.name:
        data["actor_name"] = actor.name  # a link recipient has no account: keep the name the email was sent to
    if kind != "viewed":  # the one place a case's last activity moves: the inbox sorts and marks "new" by it
        Escalation.update(last_activity_at=now).where(Escalation.id == escalation.id).execute()
        escalation.last_activity_at = now
    return Event.create(
        escalation=escalation,
        at=now,
        kind=kind,
        stage_index=escalation.stage_index,
        actor=actor.user if actor else None,
        actor_email=actor.email if actor else "",
        text=text,
        data=data,
    )


def _require(
    procedure: Procedure, escalation: Escalation, actor: Actor, action: str, now: dt.datetime | None = None
) -> None:
    """The procedure's answer (portal.case_actions) to this person taking this action at `now`."""
    reply = answer(escalation, procedure, actor, action, now)
    if not reply:
        raise WorkflowError(reply.reason)


def _save_transition(escalation: Escalation, **changes) -> None:
    """Apply `changes` only if nobody else changed the case since it was read (no lost updates)."""
    changes["version"] = escalation.version + 1
    updated = (
        Escalation.update(**changes)
        .where((Escalation.id == escalation.id) & (Escalation.version == escalation.version))
        .execute()
    )
    if not updated:
        raise WorkflowError(f"{escalation.reference} was changed by someone else: reload the case and try again")
    for name, value in changes.items():
        setattr(escalation, name, value)


def _use_link(actor: Actor, escalation: Escalation, now: dt.datetime) -> None:
    """A link acts once, on its own case and stage only; a second POST finds it used and changes nothing."""
    if actor.link is None:
        return
    if actor.link.escalation_id != escalation.id or actor.link.stage_index != escalation.stage_index:
        raise WorkflowError("This link is for a different case or stage")
    links.use_link(actor.link, now)


def next_alert_at(escalation: Escalation) -> dt.datetime | None:
    """The earliest alert still to send for the case: what the reminder sweep's index looks at."""
    nxt = (
        Reminder.select(Reminder.due_at)
        .where((Reminder.escalation == escalation) & Reminder.sent_at.is_null() & Reminder.cancelled_at.is_null())
        .order_by(Reminder.due_at)
        .first()
    )
    return nxt.due_at if nxt else None


def _queue_to(escalation: Escalation, purpose: str, recipients: list[Recipient], key: str, **context) -> list[int]:
    return [
        outbox_id
        for r in recipients
        if (outbox_id := queue_email(escalation, purpose, r, f"{key}/{purpose}/{r.email.lower()}", context))
    ]


def _condition_holds(condition: str, escalation: Escalation) -> bool:
    return {
        "always": True,
        "child_on_plan_or_looked_after": escalation.child_on_plan or escalation.child_looked_after,
        "imminent_risk": escalation.imminent_risk,
        "specific_circumstance": bool(escalation.specific_circumstance),
    }[condition]


def _link_actions(last: bool, escalates: bool) -> tuple[str, ...]:
    """The emailed links a party of a stage gets (portal.case_actions decides again when one is used)."""
    if last:
        return ("decide",)
    return ("resolve", "escalate") if escalates else ("resolve",)


def _add_parties(
    procedure: Procedure,
    escalation: Escalation,
    stage: Stage,
    record: StageRecord,
    people: list[tuple[Recipient, str]],
) -> list[int]:
    """Name people at a stage, each with their links and one email of the purpose given (a later purpose for the
    same address wins: an urgent notice replaces "Action needed"). Someone already named is left as they are."""
    named = {p.email.lower() for p in StageParty.select(StageParty.email).where(StageParty.stage == record)}
    purposes: dict[str, tuple[Recipient, str]] = {}
    for person, purpose in people:
        if person.email.lower() not in named:
            purposes[person.email.lower()] = (purposes.get(person.email.lower(), (person,))[0], purpose)
    key = f"{escalation.reference}/stage{stage.index + 1}"
    last = stage.index >= procedure.last_index
    escalating = escalated_by(procedure, stage, escalation)
    outbox: list[int] = []
    for recipient, purpose in purposes.values():
        StageParty.create(
            stage=record,
            party=recipient.party,
            name=recipient.name,
            email=recipient.email,
            secure=recipient.secure,
            contact=recipient.contact_id,
            verified=recipient.verified,
        )
        issued = {
            action: links.issue_link(escalation, stage.index, recipient.email, recipient.name, action, record.due_at).id
            for action in _link_actions(last, recipient.party in escalating)
        }
        outbox += _queue_to(escalation, purpose, [recipient], key, stage_index=stage.index, links=issued)
    return outbox


def _start_stage(
    procedure: Procedure,
    escalation: Escalation,
    stage: Stage,
    starts: dt.datetime,
    named: list[Recipient] | None = None,
    urgent: list[tuple[Recipient, str]] = (),
) -> tuple[StageRecord, list[int]]:
    """Record the stage, its people, links, reminders and emails. Runs inside the caller's transaction.

    `urgent` adds acting parties told at once by their own email (imminent risk, a specific circumstance): one
    email each, carrying their links."""
    schedule = schedule_stage(
        procedure,
        stage,
        starts,
        escalation.imminent_risk,
        escalation.requested_due_at if stage.index == 0 else None,
        raised=escalation.created_at,  # a stage's window (`by`) counts from the raise
    )
    record = StageRecord.create(
        escalation=escalation, stage_index=stage.index, stage_key=stage.key, started_at=starts, due_at=schedule.due
    )
    people = [(r, "stage_started") for r in named or resolve_parties(procedure, stage.parties, escalation)]
    outbox = _add_parties(procedure, escalation, stage, record, people + list(urgent))
    key = f"{escalation.reference}/stage{stage.index + 1}"
    for notification in stage.notify:
        if _condition_holds(notification.when, escalation):
            people = resolve_parties(procedure, (notification.role,), escalation)
            outbox += _queue_to(escalation, "stage_notice", people, key, stage_index=stage.index)
    for copy in stage.copies:
        for person in resolve_parties(procedure, (copy.role,), escalation):
            outbox.append(
                queue_copy(escalation, copy.document, person, f"{key}/copy/{person.email.lower()}", stage.index, starts)
            )
        Reminder.create(
            key=f"{key}/copy/{copy.role}",
            escalation=escalation,
            stage_index=stage.index,
            kind="copy",
            due_at=copy.within.after(starts, procedure.calendar),
        )
    for number, moment in enumerate(schedule.reminders, start=1):
        Reminder.create(
            key=f"{key}/reminder{number}",
            escalation=escalation,
            stage_index=stage.index,
            kind="reminder",
            due_at=moment,
        )
    # The overdue notice (in working hours); the sweep adds its repeats and the escalation watch when it goes.
    Reminder.create(
        key=f"{key}/deadline", escalation=escalation, stage_index=stage.index, kind="deadline", due_at=schedule.notice
    )
    return record, outbox


def _end_stage(escalation: Escalation, ending: str, statement: str, now: dt.datetime) -> None:
    StageRecord.update(ended_at=now, ending=ending, statement=statement).where(
        (StageRecord.escalation == escalation) & (StageRecord.stage_index == escalation.stage_index)
    ).execute()
    links.supersede_links(escalation, escalation.stage_index, now)
    Reminder.update(cancelled_at=now).where(
        (Reminder.escalation == escalation)
        & (Reminder.stage_index == escalation.stage_index)
        & Reminder.sent_at.is_null()
        & Reminder.cancelled_at.is_null()
        & (Reminder.kind != "copy")
    ).execute()
    # A pause still running ends with its stage: the clock it stopped is gone, and the report must not count paused
    # days after the stage ended (its restart reminder is cancelled above)
    if (running := running_pause(escalation)) is not None:
        running.ended_at = min(now, running.until)
        running.save()


# The stage's pause not yet ended (one at a time), read on every case page: SQL written once (portal/prepared.py)
_RUNNING_PAUSE = Prepared(
    lambda: DeadlineChange.select().where(
        (DeadlineChange.escalation == Slot("case_id"))
        & (DeadlineChange.stage_index == Slot("stage_index"))
        & (DeadlineChange.kind == "pause")
        & DeadlineChange.ended_at.is_null()
    )
)


def running_pause(case: Escalation) -> DeadlineChange | None:
    return _RUNNING_PAUSE.first(case_id=case.id, stage_index=case.stage_index)


def _documents(
    escalation: Escalation, kinds: tuple[str, ...], stage_index: int | None, now: dt.datetime, when: str = ""
) -> list[int]:
    """Ask for the procedure's documents, each showing the case as it stands at `now`; returns their ids. `when`
    tells apart two of a kind at one stage (Bury's Request for Resolution as level 4 starts, and with its decision)."""
    ids = []
    for kind in kinds:
        suffix = ("" if stage_index is None else f"-stage{stage_index + 1}") + (f"-{when}" if when else "")
        key = f"{escalation.reference}/{kind}{suffix}"
        Document.insert(
            escalation=escalation, kind=kind, stage_index=stage_index, key=key, created_at=now
        ).on_conflict_ignore().execute()
        ids.append(Document.get(Document.key == key).id)
    return ids


def urgent_parties(
    procedure: Procedure, escalation: Escalation, purposes: tuple[str, ...] = ("imminent_risk", "specific_circumstance")
) -> list[tuple[Recipient, str]]:
    """Imminent risk: the people the procedure names act at once beside the stage's parties (the raiser's manager
    and safeguarding lead in the seeds). A specific circumstance: the DCS and the partnership act at the stage
    the procedure sends it to."""
    urgent = []
    if escalation.imminent_risk and "imminent_risk" in purposes:
        urgent += [(r, "imminent_risk") for r in resolve_parties(procedure, procedure.imminent_risk_notify, escalation)]
    if escalation.specific_circumstance and "specific_circumstance" in purposes:
        notify = procedure.specific_circumstances_notify
        urgent += [(r, "specific_circumstance") for r in resolve_parties(procedure, notify, escalation)]
    return urgent


def raise_escalation(
    procedure: Procedure,
    raiser: User,
    details: EscalationDetails,
    now: dt.datetime | None = None,
    submission_key: str | None = None,
) -> Escalation:
    """Open a case at the first stage, with its deadline, people, reminders and emails.

    A form submitted twice carries the same `submission_key`: the second gets the first's case.
    """
    if submission_key:
        existing = Escalation.get_or_none(Escalation.submission_key == submission_key)
        if existing is not None:
            return existing
    now = _now(now)
    if details.subject not in Escalation.SUBJECTS:
        raise WorkflowError(f"Unknown subject {details.subject!r}")
    strategic = details.subject == "none"
    child_name = "" if strategic else _required_text(details.child_name, "the child's name")
    summary = _required_text(details.summary, "a brief description of the concern")
    outcome = _required_text(details.outcome_sought, "the outcome sought")
    circumstance = details.specific_circumstance or None
    if circumstance is not None and circumstance not in SPECIFIC_CIRCUMSTANCES:
        raise WorkflowError(f"Unknown specific circumstance {circumstance!r}")
    requested = to_utc(details.requested_due_at) if details.requested_due_at else None
    if requested is not None:
        if requested <= now:
            raise WorkflowError("The earlier deadline must be in the future")
        normal = schedule_stage(procedure, procedure.stages[0], now, details.imminent_risk).due
        if requested > normal:
            raise WorkflowError("The earlier deadline must be before the procedure's own deadline for this stage")
    try:
        with database.atomic():
            escalation = Escalation.create(
                reference=_next_reference(now),
                procedure_id=procedure.id,
                procedure_version=version_for(procedure) if procedure.digest else None,
                subject=details.subject,
                child_name=child_name,
                child_name_key=name_keys(child_name)[0],
                child_surname_key=name_keys(child_name)[1],
                last_activity_at=now,
                child_dob=None if details.subject != "child" else details.child_dob,
                child_due=details.child_due if details.subject == "unborn" else None,
                child_identifier=details.child_identifier.strip(),
                child_on_plan=details.child_on_plan,
                child_looked_after=details.child_looked_after,
                child_chair_name=details.child_chair_name.strip()
                if details.child_on_plan or details.child_looked_after
                else "",
                child_chair_email=details.child_chair_email.strip().lower()
                if details.child_on_plan or details.child_looked_after
                else "",
                raiser=raiser,
                raiser_role=details.raiser_role.strip(),
                raiser_agency=details.raiser_agency_id or raiser.agency_id,
                raiser_contact_details=details.raiser_contact_details.strip(),
                counterpart_name=details.counterpart_name.strip(),
                counterpart_email=details.counterpart_email.strip().lower(),
                counterpart_agency=details.counterpart_agency_id,
                counterpart_agency_other="" if details.counterpart_agency_id else details.counterpart_agency_other,
                categories=list(details.categories),
                category_other=details.category_other.strip(),
                summary=summary,
                action_taken=details.action_taken.strip(),
                outcome_sought=outcome,
                lead_aware=details.lead_aware,
                lead_name=details.lead_name.strip(),
                imminent_risk=details.imminent_risk,
                specific_circumstance=circumstance,
                requested_due_at=requested,
                stage_index=procedure.stage(procedure.specific_circumstances_stage).index if circumstance else 0,
                stage_started_at=now,
                created_at=now,
                submission_key=submission_key or None,
            )
            for name, email, agency_id in details.joint_raisers:
                JointRaiser.create(
                    escalation=escalation,
                    name=_required_text(name, "the name of the practitioner raising it jointly"),
                    email=normalise_address(email),
                    agency=agency_id,
                )
            _event(escalation, "raised", Actor.of(raiser), now, summary)
            if circumstance:
                _event(escalation, "specific_circumstance", None, now, SPECIFIC_CIRCUMSTANCES[circumstance])
            start = procedure.stage(escalation.stage_index)
            record, outbox = _start_stage(
                procedure, escalation, start, now, urgent=urgent_parties(procedure, escalation)
            )
            key = f"{escalation.reference}/raised"
            outbox += _queue_to(
                escalation,
                "business_manager_update",
                business_managers(procedure, escalation),
                key,
                not_listed_agency=escalation.counterpart_agency_other,
            )
            asked = _documents(escalation, procedure.raise_documents, None, now)
            escalation.due_at = record.due_at
            escalation.next_alert_at = next_alert_at(escalation)
            escalation.save()
    except IntegrityError:
        # Two submissions of the same form at once: the other one won; show its case.
        existing = Escalation.get_or_none(Escalation.submission_key == submission_key) if submission_key else None
        if existing is None:
            raise
        return existing
    wake_sender(outbox)
    wake_renderer(asked)
    return escalation


def add_record(
    procedure: Procedure,
    escalation: Escalation,
    actor: Actor,
    text: str,
    now: dt.datetime | None = None,
    records: dict[str, str] | None = None,
) -> Event:
    """A written record of a discussion, by the raiser or someone acting at the stage."""
    now = _now(now)
    text = _required_text(text, "a record of the discussion")
    _require(procedure, escalation, actor, "record")
    answers = _stage_records(procedure.stage(escalation.stage_index), records)
    with database.atomic():
        _save_transition(escalation)
        return _event(escalation, "record", actor, now, text, **({"records": answers} if answers else {}))


def _finish(
    procedure: Procedure,
    escalation: Escalation,
    actor: Actor,
    now: dt.datetime,
    kind: str,
    status: str,
    text: str,
    documents: tuple[str, ...] = (),
    lessons: Lessons | None = None,
    **data,
) -> None:
    """End the current stage and the case: resolved, closed by decision, or withdrawn. Everyone involved so far
    is told; after a resolution the other side's parties at the stage are asked whether it stands."""
    with database.atomic():
        _use_link(actor, escalation, now)
        ending = {"resolved": "resolved", "closed": "decided", "withdrawn": "withdrawn"}[status]
        other_side = _other_side(escalation, actor) if status == "resolved" else []
        contest_until = procedure.contest_within.after(now, procedure.calendar) if other_side else None
        _save_transition(
            escalation, status=status, outcome=text, closed_at=now, next_alert_at=None, contest_until=contest_until
        )
        _end_stage(escalation, ending, text, now)
        ended = _event(escalation, kind, actor, now, text, **data)
        asked = _documents(escalation, documents, escalation.stage_index, now)
        for party in other_side:
            for action in AFTER_RESOLUTION:
                links.issue_link(escalation, escalation.stage_index, party.email, party.name, action, contest_until)
        key = f"{escalation.reference}/stage{escalation.stage_index + 1}"
        context = {"stage_index": escalation.stage_index, "outstanding": data.get("outstanding", "")}
        if contest_until is not None:
            context["contest_until"] = contest_until.isoformat()
        everyone = everyone_so_far(procedure, escalation)
        outbox = _queue_to(escalation, kind, everyone, key, **context)
        outbox += _copies_of_outcome(procedure, escalation, everyone, documents, key, now)
        outbox += record_lessons(procedure, escalation, ended, lessons, now)
    wake_sender(outbox)
    wake_renderer(asked)


def _copies_of_outcome(
    procedure: Procedure,
    escalation: Escalation,
    everyone: list[Recipient],
    documents: tuple[str, ...],
    key: str,
    now: dt.datetime,
) -> list[int]:
    """The written outcome for the child's file reaches everyone told of it: the resolution record, or the final
    decision notice, attached for a secure address and otherwise behind the address check of a document link. The
    Business Manager receives every document anyway."""
    kind = next((k for k in ("resolution_record", "final_decision_notice") if k in documents), None)
    if kind is None:
        return []
    managers = {r.email.lower() for r in business_managers(procedure, escalation)}
    rows = [
        queue_copy(escalation, kind, person, f"{key}/{kind}/{person.email.lower()}", escalation.stage_index, now)
        for person in everyone
        if person.email.lower() not in managers
    ]
    return [row for row in rows if row is not None]


def everyone_so_far(procedure: Procedure, escalation: Escalation) -> list[Recipient]:
    """Every party of every stage so far, the raiser and the Business Manager: all who must learn an outcome."""
    people: dict[str, Recipient] = {}
    for r in resolve_parties(procedure, ("raiser",), escalation) + business_managers(procedure, escalation):
        people.setdefault(r.email.lower(), r)
    named = StageParty.select().join(StageRecord).where(StageRecord.escalation == escalation).order_by(StageParty.id)
    for p in named:
        people.setdefault(p.email.lower(), Recipient(p.party, p.name, p.email, p.secure, p.contact_id, p.verified))
    return list(people.values())


def _side(party: str) -> str | None:
    side = party.partition(".")[0]
    return side if side in ("raiser", "counterpart") else None


def _other_side(escalation: Escalation, actor: Actor) -> list[StageParty]:
    """The parties at the current stage from the agency that did not record the resolution."""
    here = list(
        StageParty.select()
        .join(StageRecord)
        .where((StageRecord.escalation == escalation) & (StageRecord.stage_index == escalation.stage_index))
        .order_by(StageParty.id)
    )
    email = (actor.email or "").lower()
    mine = {_side(p.party) for p in here if p.email.lower() == email}
    if actor.user is not None and actor.user.id == escalation.raiser_id:
        mine.add("raiser")
    mine.discard(None)
    if len(mine) != 1:  # the partnership's own people, or someone on both sides: nobody to ask
        return []
    return [p for p in here if _side(p.party) not in (None, *mine)]


def resolve(
    procedure: Procedure,
    escalation: Escalation,
    actor: Actor,
    statement: str,
    learning: Lessons | str = "",
    now: dt.datetime | None = None,
    outstanding: str = "",
    records: dict[str, str] | None = None,
) -> None:
    """Agreement reached at the current stage: the agreed outcome and how any outstanding issues will be pursued
    (Salford 2.5) are the record; any learning (points, a policy gap, a debrief) goes to the partnership."""
    lessons = Lessons.of(learning)
    now = _now(now)
    statement = _required_text(statement, "the agreed outcome")
    _require(procedure, escalation, actor, "resolve")
    stage = procedure.stage(escalation.stage_index)
    _finish(
        procedure,
        escalation,
        actor,
        now,
        "resolved",
        "resolved",
        statement,
        (*stage.resolve_documents, "resolution_record"),
        lessons,
        learning=lessons.points,
        outstanding=(outstanding or "").strip()[:MAX_TEXT],
        records=_stage_records(stage, records),
    )


def decide(
    procedure: Procedure,
    escalation: Escalation,
    actor: Actor,
    decision: str,
    now: dt.datetime | None = None,
    learning: Lessons | str = "",
    records: dict[str, str] | None = None,
) -> None:
    """The final decision at the last stage closes the case, with any learning for the partnership."""
    now = _now(now)
    decision = _required_text(decision, "the final decision")
    _require(procedure, escalation, actor, "decide")
    answers = _stage_records(procedure.stage(escalation.stage_index), records)
    lessons = Lessons.of(learning)
    _finish(
        procedure,
        escalation,
        actor,
        now,
        "decided",
        "closed",
        decision,
        procedure.final_documents,
        lessons,
        records=answers,
        **({"learning": lessons.points} if lessons.points else {}),
    )


def withdraw(
    procedure: Procedure, escalation: Escalation, actor: Actor, reason: str, now: dt.datetime | None = None
) -> None:
    """Only the raiser may withdraw, and must say why."""
    now = _now(now)
    reason = _required_text(reason, "the reason for withdrawing")
    _require(procedure, escalation, actor, "withdraw")
    _finish(procedure, escalation, actor, now, "withdrawn", "withdrawn", reason)


def escalate(
    procedure: Procedure,
    escalation: Escalation,
    actor: Actor,
    reason: str,
    named: list[Recipient] | None = None,
    now: dt.datetime | None = None,
    records: dict[str, str] | None = None,
) -> StageRecord:
    """Move to the next stage, which starts now with its own deadline and people."""
    now = _now(now)
    reason = _required_text(reason, "the reason for escalating")
    _require(procedure, escalation, actor, "escalate")
    answers = _stage_records(procedure.stage(escalation.stage_index), records)
    with database.atomic():
        _use_link(actor, escalation, now)
        _end_stage(escalation, "escalated", reason, now)
        nxt = procedure.stage(escalation.stage_index + 1)
        record, outbox = _to_stage(procedure, escalation, actor, now, "escalated", reason, nxt, named, records=answers)
    wake_sender(outbox)
    _wake_started(escalation, nxt)
    return record


def contest(
    procedure: Procedure, escalation: Escalation, actor: Actor, reason: str, now: dt.datetime | None = None
) -> StageRecord:
    """The other side says the resolution does not resolve it: the case reopens at the next stage."""
    now = _now(now)
    reason = _required_text(reason, "why it is not resolved")
    _require(procedure, escalation, actor, "contest", now)
    with database.atomic():
        _use_link(actor, escalation, now)
        links.supersede_links(escalation, escalation.stage_index, now)  # the others' agree / contest links
        _save_transition(escalation, status="open", outcome="", closed_at=None, contest_until=None)
        nxt = procedure.stage(escalation.stage_index + 1)
        record, outbox = _to_stage(procedure, escalation, actor, now, "contested", reason, nxt)
    wake_sender(outbox)
    _wake_started(escalation, nxt)
    return record


def flag_circumstance(
    procedure: Procedure,
    escalation: Escalation,
    actor: Actor,
    circumstance: str,
    reason: str,
    now: dt.datetime | None = None,
) -> None:
    """A specific circumstance that comes to light after raising: the procedure is overridden from now, as at
    raising ("made immediately aware by whoever first comes to know", Hounslow)."""
    now = _now(now)
    if circumstance not in SPECIFIC_CIRCUMSTANCES:
        raise WorkflowError("Select the specific circumstance")
    reason = _required_text(reason, "what has happened")
    _require(procedure, escalation, actor, "flag")
    target = procedure.stage(procedure.specific_circumstances_stage)
    with database.atomic():
        _save_transition(escalation, specific_circumstance=circumstance)
        _event(escalation, "specific_circumstance", actor, now, f"{SPECIFIC_CIRCUMSTANCES[circumstance]}. {reason}")
        urgent = urgent_parties(procedure, escalation, ("specific_circumstance",))
        if target.index > escalation.stage_index:
            _end_stage(escalation, "bypassed", reason, now)
            _, outbox = _to_stage(procedure, escalation, actor, now, "bypassed", reason, target, urgent=urgent)
        else:  # already there: the DCS and the partnership join the people acting at this stage
            record = StageRecord.get(
                (StageRecord.escalation == escalation) & (StageRecord.stage_index == escalation.stage_index)
            )
            outbox = _add_parties(procedure, escalation, procedure.stage(escalation.stage_index), record, urgent)
    wake_sender(outbox)


def agree(procedure: Procedure, escalation: Escalation, actor: Actor, note: str = "", now=None) -> Event:
    """The other side confirms the resolution stands."""
    now = _now(now)
    _require(procedure, escalation, actor, "agree", now)
    with database.atomic():
        _use_link(actor, escalation, now)
        links.supersede_links(escalation, escalation.stage_index, now, recipient=actor.email)  # their contest link
        return _event(escalation, "agreed", actor, now, (note or "").strip()[:MAX_TEXT])


def _to_stage(
    procedure: Procedure,
    escalation: Escalation,
    actor: Actor,
    now: dt.datetime,
    kind: str,
    reason: str,
    nxt: Stage,
    named: list[Recipient] | None = None,
    urgent: list[tuple[Recipient, str]] = (),
    records: dict[str, str] | None = None,
) -> tuple[StageRecord, list[int]]:
    """Start a later stage now (escalated, reopened by a contested resolution, or bypassed to by a specific
    circumstance); inside the caller's transaction, after the current stage has ended."""
    unverified = [f"{p.name} ({p.email})" for p in named or [] if not p.verified]
    _save_transition(escalation, stage_index=nxt.index, stage_started_at=now)
    written = {"records": records} if records else {}
    _event(escalation, kind, actor, now, reason, to_stage=nxt.key, unverified=unverified, **written)
    record, outbox = _start_stage(procedure, escalation, nxt, now, named, urgent)
    # Documents the stage starts with carry the record so far: rendered once the caller commits.
    _documents(escalation, nxt.start_documents, nxt.index, now, "start")
    key = f"{escalation.reference}/stage{nxt.index + 1}"
    acting = {p.email.lower() for p in StageParty.select().where(StageParty.stage == record)}
    people = resolve_parties(procedure, ("raiser",), escalation) + business_managers(procedure, escalation)
    # Someone who acts at the new stage has its "Action needed" email, with their links: not a second one.
    people = [p for p in people if p.email.lower() not in acting]
    # The Business Manager learns of anyone typed in, so the directory can be completed.
    context = {"stage_index": nxt.index, "unverified": unverified, "reopened": kind == "contested"}
    outbox += _queue_to(escalation, "escalated", people, key, **context)
    Escalation.update(due_at=record.due_at, next_alert_at=next_alert_at(escalation)).where(
        Escalation.id == escalation.id
    ).execute()
    escalation.due_at = record.due_at
    return record, outbox


def _wake_started(escalation: Escalation, stage: Stage) -> None:
    """Render the documents a stage starts with, now its start is committed."""
    if stage.start_documents:
        keys = [f"{escalation.reference}/{kind}-stage{stage.index + 1}-start" for kind in stage.start_documents]
        wake_renderer([d.id for d in Document.select(Document.id).where(Document.key.in_(keys))])


def record_view(escalation: Escalation, actor: Actor, now: dt.datetime | None = None, **data) -> Event | None:
    """Who saw a child's details, and when, is part of the case's record. Opening the page again within
    VIEW_EVERY adds nothing (None: no write, so a busy page does not commit on every GET); every document
    opened is recorded."""
    now = _now(now)
    if "document" not in data and seen_lately(escalation, actor, now):
        return None
    with database.atomic():
        return _event(escalation, "viewed", actor, now, **data)


def record_subject_access_export(escalation: Escalation, actor: Actor, now: dt.datetime | None = None, **data) -> Event:
    """An export of the child's records for a subject access request is part of the case's record."""
    return _event(escalation, "subject_access_export", actor, _now(now), **data)
