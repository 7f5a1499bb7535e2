"""A year of past cases for the demo partnership, made through the workflow with the clock moved, so the inbox
and the report show something real on first run (docs/reports.md, 'Demo history').

Every step runs at its own past time (the workflow takes `now`); the reminder sweep runs at each of those times,
so reminders and overdue notices happen as they would have. Nothing is sent: the senders are not woken while the
history is written, and the mail it queued is removed at the end (the cases' events remain their record).
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass, field

from flask import Flask

from portal import documents, reminders
from portal.case_actions import Actor, answer
from portal.db import database
from portal.demo import USERS
from portal.documents import wake_renderer
from portal.learning import Lessons
from portal.mail import wake_sender
from portal.models import (
    ActionLink,
    Agency,
    Contact,
    Counter,
    Document,
    Escalation,
    Outbox,
    StageParty,
    StageRecord,
    User,
)
from portal.procedure import Procedure
from portal.registry import registry
from portal.workdays import LONDON, UTC
from portal.workflow import EscalationDetails, contest, decide, escalate, raise_escalation, resolve, withdraw

MARKER = "demo-history"  # a Counter row: the history is written once
# Practitioners of the other agencies (no password: they exist to raise and answer the history's cases).
PRACTITIONERS = [
    ("health.visitor@demo.example", "Nadia Khan", "NHS Community Health", "Health Visitor"),
    ("school.lead@demo.example", "Ben Carter", "Hollyfield Primary School", "Designated Safeguarding Lead"),
]
CHILDREN = [
    "Amy Brown", "Leo Hughes", "Maya Green", "Noah Price", "Ella Wood", "Jack Hall", "Isla Ward", "Finn Shaw",
    "Ruby Cole", "Alfie Dunn", "Lily Fox", "Oscar Bell", "Zara Hunt", "Theo Lane", "Erin Moss", "Kai Reid",
]  # fmt: skip
CATEGORIES = ["thresholds", "action_or_inaction", "assessment", "decision_making", "service_provision", "roles",
              "plans", "communication"]  # fmt: skip
CONCERNS = [
    "The referral was closed without a home visit although the school reports new bruising.",
    "A strategy discussion was declined; we believe the threshold for a section 47 enquiry is met.",
    "The child protection plan has not been reviewed since the family moved address.",
    "Information about the mother's new partner has not been shared with health.",
    "Missed health appointments are not being followed up by the allocated worker.",
]
LESSONS = [
    Lessons("Agree who chairs a strategy discussion before the meeting starts.", "", "", True),
    Lessons("Share case summaries with schools within 24 hours of a strategy meeting.", "", "", False),
    Lessons(
        "Duty managers were unsure of the threshold guidance.",
        "Threshold document",
        "It does not say who decides when two agencies disagree about the level of need.",
        True,
    ),
    Lessons(
        "", "Information sharing protocol", "Health visitors are not listed as recipients of strategy notes.", False
    ),
]


@dataclass(order=True)
class _Plan:
    """One past case: what happens to it, and the next step's time (the heap orders by it)."""

    at: dt.datetime
    number: int
    outcome: str = field(compare=False)  # resolved | decided | withdrawn | contested | open
    stage: int = field(compare=False)  # the stage it ends at (resolved, withdrawn) or stays at (open)
    late: bool = field(compare=False)  # each stage runs past its deadline
    case_id: int | None = field(default=None, compare=False)


def _outcomes(procedure: Procedure) -> list[tuple[str, int, bool]]:
    """Every outcome at every stage, some late, and open cases (some overdue)."""
    last = procedure.last_index
    plans = [("resolved", k, k % 2 == 1) for k in range(last)] * 3
    plans += [("decided", last, False), ("decided", last, True)]
    plans += [("withdrawn", 0, False), ("withdrawn", min(1, last), True)]
    plans += [("contested", 0, False), ("contested", 0, True)]
    plans += [("resolved", 0, True)] * 2 + [("resolved", 0, False)] * 4
    return plans


def _on_working_day(procedure: Procedure, day: dt.date, hour: int) -> dt.datetime:
    day = procedure.calendar.working_day_on_or_after(day)
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=LONDON).astimezone(UTC)


def _people() -> dict[str, User]:
    """The practitioner of each agency (the demo's two users and the history's two), by agency name."""
    by_agency = {}
    for email, name, agency_name, title in PRACTITIONERS:
        agency = Agency.get(Agency.name == agency_name)
        user = User.get_or_none(User.email == email) or User.create(
            email=email, name=name, role="practitioner", agency=agency, job_title=title
        )
        by_agency[agency_name] = user
    for email, *_ in USERS[:2]:
        user = User.get(User.email == email)
        by_agency[user.agency.name] = user
    return by_agency


def _actor(case: Escalation, procedure: Procedure, action: str) -> Actor:
    """The first person the procedure lets take `action` now: the raiser, then the stage's named people."""
    record = StageRecord.get((StageRecord.escalation == case) & (StageRecord.stage_index == case.stage_index))
    candidates = [Actor.of(case.raiser)] + [
        Actor(email=p.email, name=p.name) for p in StageParty.select().where(StageParty.stage == record)
    ]
    return next(a for a in candidates if answer(case, procedure, a, action))


def _next_time(procedure: Procedure, case: Escalation, late: bool) -> dt.datetime:
    """When the next step is taken: half-way to the stage's deadline, or two working days after it."""
    record = StageRecord.get((StageRecord.escalation == case) & (StageRecord.stage_index == case.stage_index))
    if late:
        return procedure.calendar.add_working_days(record.due_at, 2) - dt.timedelta(hours=3)
    return record.started_at + (record.due_at - record.started_at) / 2


def write_history(app: Flask, now: dt.datetime, days: int = 365) -> int:
    """The past year's cases, once; returns how many were made (0 when the history is already there)."""
    if Counter.select().where(Counter.name == MARKER).exists():
        return 0
    procedure = registry.current()
    people = _people()
    agencies = list(people)
    chair = Contact.get_or_none(Contact.role == "cp_chair_or_iro")
    plans = _outcomes(procedure)
    heap: list[_Plan] = []
    for number, (outcome, stage, late) in enumerate(plans):
        start = (now - dt.timedelta(days=days - 20)) + dt.timedelta(days=(days - 60) * number / len(plans))
        heap.append(_Plan(_on_working_day(procedure, start.date(), 9 + number % 6), number, outcome, stage, late))
    opened = [  # still open today: two on time, two past their deadline
        ("open", 0, False, 2),
        ("open", 0, False, 6),
        ("open", 0, True, 20),
        ("open", min(1, procedure.last_index), True, 30),
    ]
    for offset, (outcome, stage, late, ago) in enumerate(opened, start=len(plans)):
        day = now.date() - dt.timedelta(days=ago * 7 // 5)
        heap.append(_Plan(_on_working_day(procedure, day, 10), offset, outcome, stage, late))
    heapq.heapify(heap)
    made: list[int] = []
    with wake_sender.paused(), wake_renderer.paused():
        while heap:
            plan = heapq.heappop(heap)
            if plan.at >= now:
                continue  # an open case's next step would be in the future: it stays as it is
            reminders.sweep(plan.at)
            if plan.case_id is None:
                plan.case_id = _raise(procedure, people, agencies, chair, plan).id
                made.append(plan.case_id)
            elif not _step(procedure, plan):
                continue
            case = Escalation.get_by_id(plan.case_id)
            if case.status == "open":
                plan.at = _next_time(procedure, case, plan.late)
                heapq.heappush(heap, plan)
            elif plan.outcome == "contested" and case.contest_until:  # the other side answers the next morning
                plan.at += dt.timedelta(hours=20)
                heapq.heappush(heap, plan)
        reminders.sweep(now)
        for document_id in documents.pending_documents(limit=1000):
            document = Document.get_by_id(document_id)
            documents.render_document(document_id, app, document.created_at)
        with database.atomic():
            Outbox.delete().where(Outbox.escalation.in_(made)).execute()  # written, never sent: nothing to send
            Counter.create(name=MARKER, value=len(made))
    return len(made)


def _raise(procedure: Procedure, people: dict, agencies: list, chair: Contact | None, plan: _Plan) -> Escalation:
    raiser_agency = agencies[plan.number % len(agencies)]
    counterpart_agency = agencies[(plan.number + 1 + plan.number // len(agencies)) % len(agencies)]
    if counterpart_agency == raiser_agency:
        counterpart_agency = agencies[(plan.number + 1) % len(agencies)]
    raiser, counterpart = people[raiser_agency], people[counterpart_agency]
    on_plan, looked_after = plan.number % 5 == 1, plan.number % 7 == 3
    categories = [CATEGORIES[plan.number % len(CATEGORIES)]]
    if plan.number % 3 == 0:
        categories.append(CATEGORIES[(plan.number + 3) % len(CATEGORIES)])
    details = EscalationDetails(
        child_name=CHILDREN[plan.number % len(CHILDREN)],
        child_dob=dt.date(2012 + plan.number % 10, 1 + plan.number % 12, 1 + plan.number % 27),
        summary=CONCERNS[plan.number % len(CONCERNS)],
        outcome_sought="A multi-agency meeting this week and an agreed plan for the child.",
        action_taken="Discussed with the other practitioner by phone; no agreement.",
        child_on_plan=on_plan,
        child_looked_after=looked_after,
        child_chair_name=chair.name if chair and (on_plan or looked_after) else "",
        child_chair_email=chair.email if chair and (on_plan or looked_after) else "",
        raiser_role=raiser.job_title,
        raiser_agency_id=raiser.agency_id,
        counterpart_name=counterpart.name,
        counterpart_email=counterpart.email,
        counterpart_agency_id=counterpart.agency_id,
        categories=categories,
        imminent_risk=plan.number % 6 == 4,
        specific_circumstance="media_attention" if plan.outcome == "decided" and plan.late else None,
    )
    return raise_escalation(procedure, raiser, details, now=plan.at)


def _step(procedure: Procedure, plan: _Plan) -> bool:
    """Take the plan's next step at its time; False when the case has reached where the plan leaves it."""
    case = Escalation.get_by_id(plan.case_id)
    lessons = LESSONS[plan.number % len(LESSONS)] if plan.number % 3 != 2 else None
    if case.status == "resolved" and plan.outcome == "contested":
        link = (
            ActionLink.select()
            .where((ActionLink.escalation == case) & (ActionLink.action == "contest") & ActionLink.used_at.is_null())
            .order_by(ActionLink.id)
            .first()
        )
        contest(procedure, case, Actor.via_link(link), "The plan agreed does not protect the child.", plan.at)
        plan.outcome = "resolved"
        plan.stage = case.stage_index
        return True
    if case.status != "open":
        return False
    if plan.outcome == "open" and case.stage_index >= plan.stage:
        return False
    if case.stage_index == procedure.last_index:
        decision = "A joint assessment within 10 working days, led by children's social care."
        decide(procedure, case, _actor(case, procedure, "decide"), decision, plan.at, lessons)
    elif case.stage_index >= plan.stage and plan.outcome in ("resolved", "contested"):
        agreed = "Agreed a joint home visit and a review in four weeks."
        resolve(procedure, case, _actor(case, procedure, "resolve"), agreed, lessons, plan.at)
    elif case.stage_index >= plan.stage and plan.outcome == "withdrawn":
        reason = "New information shows the original decision was right."
        withdraw(procedure, case, Actor.of(case.raiser), reason, plan.at)
    else:
        reason = "No agreement at this stage; the child's situation has not changed."
        escalate(procedure, case, _actor(case, procedure, "escalate"), reason, now=plan.at)
    return True
