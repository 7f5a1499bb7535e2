"""The state machine: every transition, every illegal one, and the record each leaves."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from peewee import DatabaseError

from portal import workflow
from portal.db import database
from portal.models import (
    ActionLink,
    AppendOnlyError,
    Contact,
    Document,
    Escalation,
    Event,
    Outbox,
    Reminder,
    StageParty,
    StageRecord,
)
from portal.routing import Recipient
from portal.workflow import Actor, WorkflowError
from tests import factories

pytestmark = pytest.mark.both_engines

UTC = dt.UTC
# Tuesday 1 December 2026, 10:00 London (GMT).
START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(db):
    return factories.world()


@pytest.fixture
def proc():
    return factories.procedure()


def snapshot(case: Escalation) -> tuple:
    """Everything a refused transition must leave untouched."""
    fresh = Escalation.get_by_id(case.id)
    return (
        fresh.status,
        fresh.stage_index,
        fresh.version,
        fresh.due_at,
        Event.select().count(),
        Outbox.select().count(),
        StageRecord.select().count(),
        ActionLink.select().where(ActionLink.superseded_at.is_null()).count(),
    )


def purposes(case: Escalation) -> list[tuple[str, str]]:
    return sorted((o.purpose, o.recipient_email) for o in Outbox.select().where(Outbox.escalation == case))


def test_raise_opens_the_first_stage_with_its_deadline_people_and_alerts(world, proc):
    raiser, ours, theirs = world
    case = factories.escalation(raiser, theirs, START)

    assert case.reference == "ESC-2026-0001"
    assert (case.status, case.stage_index) == ("open", 0)
    # 5 working days from Tue 1 Dec: Wed 2, Thu 3, Fri 4, Mon 7, Tue 8 -> Tue 8 Dec 17:00 GMT.
    assert case.due_at == dt.datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
    # Reminders "24 hours" (Wed 2 Dec 10:00) and "2 working days" (Thu 3 Dec 17:00), then the deadline.
    alerts = sorted((r.kind, r.due_at) for r in Reminder.select().where(Reminder.escalation == case))
    assert alerts == [
        ("deadline", dt.datetime(2026, 12, 8, 17, 0, tzinfo=UTC)),
        ("reminder", dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC)),
        ("reminder", dt.datetime(2026, 12, 3, 17, 0, tzinfo=UTC)),
    ]
    assert case.next_alert_at == dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    parties = {(p.party, p.email) for p in StageParty.select()}
    assert parties == {("raiser", raiser.email), ("counterpart", "pat.counter@police.example")}
    assert ActionLink.select().count() == 4  # resolve + escalate for each party
    assert purposes(case) == sorted(
        [
            ("stage_started", raiser.email),
            ("stage_started", "pat.counter@police.example"),
            ("business_manager_update", "business_manager.3@agency.example"),
        ]
    )
    assert [e.kind for e in case.events] == ["raised"]
    assert [d.kind for d in Document.select()] == ["escalation_notice"]


def test_references_count_up_per_year(world):
    raiser, _, theirs = world
    first = factories.escalation(raiser, theirs, START)
    second = factories.escalation(raiser, theirs, START + dt.timedelta(minutes=5))
    next_year = factories.escalation(raiser, theirs, dt.datetime(2027, 1, 4, 9, tzinfo=UTC))
    assert [first.reference, second.reference, next_year.reference] == [
        "ESC-2026-0001",
        "ESC-2026-0002",
        "ESC-2027-0001",
    ]


def test_imminent_risk_is_due_the_same_working_day_and_tells_the_safeguarding_lead(world, ours_lead=None):
    raiser, ours, theirs = world
    case = factories.escalation(raiser, theirs, START, imminent_risk=True)
    assert case.due_at == dt.datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert ("imminent_risk", f"safeguarding_lead.{ours.id}@agency.example") in purposes(case)
    # Reminders at or after the deadline are dropped: "24 hours" is past 17:00 today.
    assert [r.kind for r in Reminder.select().where(Reminder.escalation == case)] == ["deadline"]


def test_specific_circumstance_notifies_the_dcs_and_partnership_at_once(world):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START, specific_circumstance="child_death")
    sent = purposes(case)
    assert ("specific_circumstance", "dcs.3@agency.example") in sent
    assert ("specific_circumstance", "business_manager.3@agency.example") in sent
    assert "specific_circumstance" in [e.kind for e in case.events]


def test_unknown_specific_circumstance_is_refused(world):
    raiser, _, theirs = world
    with pytest.raises(WorkflowError, match="specific circumstance"):
        factories.escalation(raiser, theirs, START, specific_circumstance="weather")
    assert Escalation.select().count() == 0


def test_raiser_may_set_an_earlier_deadline_never_a_later_one(world):
    raiser, _, theirs = world
    earlier = dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    case = factories.escalation(raiser, theirs, START, requested_due_at=earlier)
    assert case.due_at == earlier
    with pytest.raises(WorkflowError, match="before the procedure's own deadline"):
        factories.escalation(raiser, theirs, START, requested_due_at=dt.datetime(2026, 12, 9, 12, tzinfo=UTC))
    with pytest.raises(WorkflowError, match="in the future"):
        factories.escalation(raiser, theirs, START, requested_due_at=START - dt.timedelta(hours=1))
    assert Escalation.select().count() == 1


@pytest.mark.parametrize("field", ["child_name", "summary", "outcome_sought"])
def test_raise_requires_the_seed_records(world, field):
    raiser, _, theirs = world
    with pytest.raises(WorkflowError, match="Enter"):
        factories.escalation(raiser, theirs, START, **{field: "   "})
    assert Escalation.select().count() == Event.select().count() == Outbox.select().count() == 0


def test_add_record_appends_an_event_and_bumps_the_version(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    event = workflow.add_record(proc, case, Actor.of(raiser), "Spoke to DC Counter; she will review.", now=START)
    assert (event.kind, event.text, event.actor_id) == ("record", "Spoke to DC Counter; she will review.", raiser.id)
    assert Escalation.get_by_id(case.id).version == 1
    with pytest.raises(WorkflowError, match="Enter a record"):
        workflow.add_record(proc, case, Actor.of(raiser), "")


def test_resolve_records_the_agreed_outcome_and_stops_everything(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    later = START + dt.timedelta(days=1)
    workflow.resolve(proc, case, Actor(email="pat.counter@police.example"), "Assessment to start Friday.", now=later)

    case = Escalation.get_by_id(case.id)
    assert (case.status, case.outcome, case.next_alert_at, case.closed_at) == (
        "resolved",
        "Assessment to start Friday.",
        None,
        later,
    )
    stage = StageRecord.get(StageRecord.escalation == case)
    assert (stage.ending, stage.statement, stage.ended_at) == ("resolved", "Assessment to start Friday.", later)
    # Only the other side's answer stays open: the raiser may agree or say it is not resolved.
    still_open = ActionLink.select().where(ActionLink.superseded_at.is_null() & ActionLink.used_at.is_null())
    assert sorted((link.recipient_email, link.action) for link in still_open) == [
        (raiser.email, "agree"),
        (raiser.email, "contest"),
    ]
    # "2 working days" from Wed 2 Dec 10:00: Thu 3 (1), Fri 4 (2) -> Fri 4 Dec 17:00.
    assert case.contest_until == dt.datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    assert Reminder.select().where(Reminder.cancelled_at.is_null() & Reminder.sent_at.is_null()).count() == 0
    resolved = [e for e in case.events if e.kind == "resolved"][0]
    assert resolved.actor_email == "pat.counter@police.example"
    assert ("resolved", raiser.email) in purposes(case)


def answer_link(case, action: str) -> Actor:
    return Actor.via_link(ActionLink.get((ActionLink.escalation == case) & (ActionLink.action == action)))


def test_a_resolution_contested_in_time_reopens_at_the_next_stage_with_the_reason(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    workflow.resolve(proc, case, Actor(email="pat.counter@police.example"), "Assessment on Friday.", now=START)
    case = Escalation.get_by_id(case.id)
    contested_at = dt.datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # inside the 2 working days
    with time_machine.travel(contested_at, tick=False):
        record = workflow.contest(proc, case, answer_link(case, "contest"), "No assessment was booked.")
    case = Escalation.get_by_id(case.id)
    assert (case.status, case.stage_index, case.outcome, case.closed_at, case.contest_until) == (
        "open",
        1,
        "",
        None,
        None,
    )
    assert record.started_at == contested_at and record.stage_key == "line-managers"
    contested = Event.get((Event.escalation == case) & (Event.kind == "contested"))
    assert (contested.text, contested.actor_email) == ("No assessment was booked.", raiser.email)
    assert ActionLink.select().where((ActionLink.action == "agree") & ActionLink.superseded_at.is_null()).count() == 0
    assert ("escalated", Contact.get(Contact.role == "business_manager").email) in purposes(case)


def test_a_resolution_agreed_or_left_unanswered_stands(world, proc):
    raiser, _, theirs = world
    for answered in (True, False):
        case = factories.escalation(raiser, theirs, START)
        workflow.resolve(proc, case, Actor(email="pat.counter@police.example"), "Joint visit agreed.", now=START)
        case = Escalation.get_by_id(case.id)
        if answered:
            with time_machine.travel(START + dt.timedelta(hours=2), tick=False):
                workflow.agree(proc, case, answer_link(case, "agree"), "Yes, thank you.")
            assert Event.select().where((Event.escalation == case) & (Event.kind == "agreed")).count() == 1
        late = dt.datetime(2026, 12, 4, 17, 1, tzinfo=UTC)  # a minute after the 2 working days
        with time_machine.travel(late, tick=False), pytest.raises(WorkflowError):
            workflow.contest(proc, Escalation.get_by_id(case.id), answer_link(case, "contest"), "Changed my mind.")
        assert Escalation.get_by_id(case.id).status == "resolved"


def test_every_outcome_reaches_every_party_so_far_the_raiser_and_the_business_manager(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    workflow.escalate(proc, case, Actor.of(raiser), "No agreement.", now=START)
    case = Escalation.get_by_id(case.id)
    workflow.withdraw(proc, case, Actor.of(raiser), "The family moved away.", now=START)
    told = {email for purpose, email in purposes(case) if purpose == "withdrawn"}
    named = {p.email for p in StageParty.select().join(StageRecord).where(StageRecord.escalation == case)}
    assert told == named | {raiser.email, Contact.get(Contact.role == "business_manager").email}
    assert "pat.counter@police.example" in told and len(told) == 5


def test_resolve_requires_the_agreed_outcome_statement(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    before = snapshot(case)
    with pytest.raises(WorkflowError, match="Enter the agreed outcome"):
        workflow.resolve(proc, case, Actor.of(raiser), "  \n ")
    assert snapshot(case) == before


def test_escalate_starts_the_next_stage_now_with_its_own_deadline(world, proc):
    raiser, ours, theirs = world
    case = factories.escalation(raiser, theirs, START)
    # Escalated on Wed 9 Dec 2026 11:00 -> stage 2 due 5 working days on: Wed 16 Dec 17:00.
    when = dt.datetime(2026, 12, 9, 11, 0, tzinfo=UTC)
    record = workflow.escalate(proc, case, Actor.of(raiser), "No assessment by the deadline.", now=when)

    case = Escalation.get_by_id(case.id)
    assert (case.status, case.stage_index, case.stage_started_at) == ("open", 1, when)
    assert record.due_at == case.due_at == dt.datetime(2026, 12, 16, 17, 0, tzinfo=UTC)
    first = StageRecord.get(StageRecord.escalation == case, StageRecord.stage_index == 0)
    assert (first.ending, first.statement) == ("escalated", "No assessment by the deadline.")
    assert {p.email for p in record.parties} == {
        f"line_manager.{ours.id}@agency.example",
        f"line_manager.{theirs.id}@agency.example",
    }
    # Stage-1 links no longer act; stage-2 links were issued.
    assert {(link.stage_index, link.superseded_at is None) for link in ActionLink.select()} == {(0, False), (1, True)}
    # The child is not on a plan: the CP chair is not told.
    assert not [p for p in purposes(case) if p[0] == "stage_notice"]
    assert ("escalated", raiser.email) in purposes(case)


def test_escalating_for_a_child_on_a_plan_tells_the_cp_chair(world, proc):
    raiser, _, theirs = world
    chair = "cp_chair_or_iro.3@agency.example"
    case = factories.escalation(
        raiser, theirs, START, child_on_plan=True, child_chair_name="Chair", child_chair_email=chair
    )
    workflow.escalate(proc, case, Actor.of(raiser), "Unresolved.", now=START + dt.timedelta(hours=2))
    assert ("stage_notice", chair) in purposes(case)


def test_escalate_to_named_contacts_instead_of_the_directory(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    named = [Recipient("counterpart.line_manager", "Sgt Lee", "sgt.lee@police.example")]
    record = workflow.escalate(proc, case, Actor.of(raiser), "Unresolved.", named=named, now=START)
    assert [(p.name, p.email) for p in record.parties] == [("Sgt Lee", "sgt.lee@police.example")]


def test_escalate_requires_a_reason(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    before = snapshot(case)
    with pytest.raises(WorkflowError, match="Enter the reason for escalating"):
        workflow.escalate(proc, case, Actor.of(raiser), "")
    assert snapshot(case) == before


def to_last_stage(proc, raiser, theirs):
    case = factories.escalation(raiser, theirs, START)
    workflow.escalate(proc, case, Actor.of(raiser), "Stage 1 failed.", now=START + dt.timedelta(days=7))
    case = Escalation.get_by_id(case.id)
    workflow.escalate(proc, case, factories.acting(case), "Stage 2 failed.", now=START + dt.timedelta(days=14))
    return Escalation.get_by_id(case.id)


def test_escalating_past_the_last_stage_is_refused_and_changes_nothing(world, proc):
    raiser, _, theirs = world
    case = to_last_stage(proc, raiser, theirs)
    # Stage 3 "1 month" from Tue 15 Dec 2026 10:00 -> Fri 15 Jan 2027 17:00.
    assert case.due_at == dt.datetime(2027, 1, 15, 17, 0, tzinfo=UTC)
    before = snapshot(case)
    with pytest.raises(WorkflowError, match="cannot be escalated further"):
        workflow.escalate(proc, case, factories.acting(case), "Still unhappy.")
    assert snapshot(case) == before


def test_final_decision_at_the_last_stage_closes_the_case(world, proc):
    raiser, _, theirs = world
    case = to_last_stage(proc, raiser, theirs)
    bm = Actor(email="business_manager.3@agency.example")
    when = START + dt.timedelta(days=20)
    workflow.decide(proc, case, bm, "Children's Social Care will convene a strategy meeting.", now=when)
    case = Escalation.get_by_id(case.id)
    assert (case.status, case.closed_at) == ("closed", when)
    assert StageRecord.get(StageRecord.escalation == case, StageRecord.stage_index == 2).ending == "decided"
    assert "final_decision_notice" in [d.kind for d in Document.select()]
    assert ("decided", raiser.email) in purposes(case)


def test_final_decision_before_the_last_stage_is_refused(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    before = snapshot(case)
    with pytest.raises(WorkflowError, match="made at Stage 3: The partnership, not at Stage 1"):
        workflow.decide(proc, case, Actor.of(raiser), "Decided.")
    assert snapshot(case) == before


def test_resolution_at_stage_two_produces_its_proforma(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    workflow.escalate(proc, case, Actor.of(raiser), "Stage 1 failed.", now=START)
    workflow.resolve(proc, case, factories.acting(case), "Agreed: joint visit.", now=START)
    assert ("resolution_proforma", 1) in [(d.kind, d.stage_index) for d in Document.select()]


def test_only_the_raiser_may_withdraw_and_must_say_why(world, proc):
    raiser, ours, theirs = world
    case = factories.escalation(raiser, theirs, START)
    colleague = factories.user(agency_=ours)
    before = snapshot(case)
    with pytest.raises(WorkflowError, match="Only the person who raised"):
        workflow.withdraw(proc, case, Actor.of(colleague), "Not needed.")
    with pytest.raises(WorkflowError, match="Enter the reason for withdrawing"):
        workflow.withdraw(proc, case, Actor.of(raiser), "")
    assert snapshot(case) == before
    workflow.withdraw(proc, case, Actor.of(raiser), "The family moved out of area.", now=START)
    assert Escalation.get_by_id(case.id).status == "withdrawn"


@pytest.mark.parametrize("ending", ["resolve", "withdraw", "decide"])
def test_nothing_acts_on_a_finished_case(world, proc, ending):
    raiser, _, theirs = world
    case = to_last_stage(proc, raiser, theirs) if ending == "decide" else factories.escalation(raiser, theirs, START)
    actor = factories.acting(case) if ending == "decide" else Actor.of(raiser)
    getattr(workflow, ending)(proc, case, actor, "Done.", now=START + dt.timedelta(days=30))
    case = Escalation.get_by_id(case.id)
    before = snapshot(case)
    attempts = [
        lambda: workflow.add_record(proc, case, Actor.of(raiser), "More."),
        lambda: workflow.resolve(proc, case, Actor.of(raiser), "Again."),
        lambda: workflow.escalate(proc, case, Actor.of(raiser), "Again."),
        lambda: workflow.withdraw(proc, case, Actor.of(raiser), "Again."),
        lambda: workflow.decide(proc, case, Actor.of(raiser), "Again."),
    ]
    for attempt in attempts:
        with pytest.raises(WorkflowError, match=f"{case.reference} is {case.status}"):
            attempt()
    assert snapshot(case) == before


def test_a_stale_copy_of_the_case_cannot_overwrite_a_newer_change(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    mine, theirs_copy = Escalation.get_by_id(case.id), Escalation.get_by_id(case.id)
    workflow.escalate(proc, mine, Actor.of(raiser), "Unresolved.", now=START)
    before = snapshot(case)
    with pytest.raises(WorkflowError, match="changed by someone else"):
        workflow.resolve(proc, theirs_copy, Actor.of(raiser), "Agreed.", now=START)
    assert snapshot(case) == before


def test_events_cannot_be_changed_or_deleted(world):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    event = Event.get(Event.escalation == case)
    event.text = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete_instance()
    with pytest.raises(AppendOnlyError):
        Event.update(text="rewritten")
    with pytest.raises(AppendOnlyError):
        Event.delete()


def test_the_database_itself_refuses_to_change_an_event(world):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    for statement in ("UPDATE event SET text = 'rewritten'", "DELETE FROM event"):
        with pytest.raises(DatabaseError, match="append-only"), database.atomic():
            database.execute_sql(statement)
    assert Event.get(Event.escalation == case).text == case.summary


def test_viewing_a_case_is_recorded(world):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    workflow.record_view(case, Actor.of(raiser), now=START)
    assert [e.kind for e in Event.select().where(Event.escalation == case).order_by(Event.id)] == ["raised", "viewed"]


def test_naive_datetimes_are_refused(world):
    raiser, _, theirs = world
    with pytest.raises(ValueError, match="naive"):
        factories.escalation(raiser, theirs, dt.datetime(2026, 12, 1, 10, 0))


def test_someone_acting_at_the_new_stage_gets_one_email_with_their_links_not_two(world, proc):
    raiser, _, theirs = world
    case = factories.escalation(raiser, theirs, START)
    workflow.escalate(proc, case, Actor.of(raiser), "No agreement.", now=START + dt.timedelta(hours=1))
    case = Escalation.get_by_id(case.id)
    workflow.escalate(proc, case, factories.acting(case), "Managers disagree.", now=START + dt.timedelta(hours=2))

    manager = Contact.get(Contact.role == "business_manager").email  # the last stage's party, and told of escalations
    at_stage_3 = [
        (o.purpose, o.recipient_email)
        for o in Outbox.select().where((Outbox.escalation == case) & Outbox.idempotency_key.contains("/stage3/"))
    ]
    assert ("stage_started", manager) in at_stage_3 and ("escalated", manager) not in at_stage_3
    assert ("escalated", raiser.email) in at_stage_3
