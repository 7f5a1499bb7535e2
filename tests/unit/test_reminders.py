"""The reminder sweep through a whole case: each alert at its instant, once, to the right people.

Every instant below is worked out by hand from the rules of docs/deadlines.md and the
test procedure (tests/data/three_stage.toml: reminders "24 hours" and "2 working
days"; stages of 5 working days, 5 working days and 1 month; stage 2 escalate_within
"24 hours", stage 3 "2 working days"; overdue notices repeat every working day at 09:00;
working hours 09:00 to 17:00). England's bank holidays around the new year 2026/27:
Fri 25 Dec, Mon 28 Dec (Boxing Day observed), Fri 1 Jan. December and January are GMT,
so London time == UTC.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
import time_machine
from peewee import fn

from portal import links, reminders, workflow
from portal.models import (
    ActionLink,
    Contact,
    Document,
    Escalation,
    Event,
    Heartbeat,
    Outbox,
    ProcedureVersion,
    Reminder,
    utcnow,
)
from portal.procedure import load_procedure
from portal.workflow import Actor
from tests import factories
from tests.conftest import TEST_PROCEDURE

pytestmark = pytest.mark.both_engines

UTC = dt.UTC
SECOND = dt.timedelta(seconds=1)
# Thursday 24 December 2026, 10:00 London: Christmas Eve, a working day, before close of business.
RAISED = dt.datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
TEST_PROCEDURE_TEXT = Path(TEST_PROCEDURE).read_text()


def at(year, month, day, hour, minute=0, second=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def proc():
    return factories.procedure()


@pytest.fixture
def people(db):
    raiser, ours, theirs = factories.world()
    return {
        "raiser": raiser,
        "ours": ours,
        "theirs": theirs,
        "counterpart": "pat.counter@police.example",
        "bm": Contact.get(Contact.role == "business_manager").email,
        "dcs": Contact.get(Contact.role == "dcs").email,
        "cp_chair": Contact.get(Contact.role == "cp_chair_or_iro").email,
        "our_lm": f"line_manager.{ours.id}@agency.example",
        "their_lm": f"line_manager.{theirs.id}@agency.example",
        "our_lead": f"safeguarding_lead.{ours.id}@agency.example",
    }


def sweep_at(moment: dt.datetime) -> list[Outbox]:
    """Run the sweep with the clock stopped at `moment`; the outbox rows it wrote."""
    before = Outbox.select(fn.MAX(Outbox.id)).scalar() or 0
    with time_machine.travel(moment, tick=False):
        reminders.sweep(utcnow())
    return list(Outbox.select().where(Outbox.id > before).order_by(Outbox.id))


def mail(rows: list[Outbox]) -> list[tuple[str, str]]:
    return sorted((row.purpose, row.recipient_email) for row in rows)


def raise_at(moment: dt.datetime, people: dict, proc=None, **details) -> Escalation:
    with time_machine.travel(moment, tick=False):
        return factories.escalation(people["raiser"], people["theirs"], moment, proc, **details)


def act(moment: dt.datetime, transition, *args, **kwargs):
    with time_machine.travel(moment, tick=False):
        return transition(*args, now=moment, **kwargs)


def events(case: Escalation, kind: str) -> list[Event]:
    return list(Event.select().where((Event.escalation == case) & (Event.kind == kind)).order_by(Event.id))


def test_a_whole_case_across_christmas_and_new_year(people, proc):
    raiser = people["raiser"]
    case = raise_at(RAISED, people)
    stage1 = [raiser.email, people["counterpart"]]

    # Stage 1 starts Thu 24 Dec 10:00, its working day Thu 24 Dec.
    # Deadline, 5 working days: Tue 29 (1), Wed 30 (2), Thu 31 (3), [Fri 1 Jan bank holiday], Mon 4 (4),
    # Tue 5 Jan (5) -> Tue 5 Jan 2027 17:00.
    assert case.due_at == at(2027, 1, 5, 17)
    # "24 hours" is Fri 25 Dec 10:00, Christmas Day: not a working day, so close of business on the next
    # working day; Sat 26, Sun 27 and Mon 28 (Boxing Day observed) are not -> Tue 29 Dec 17:00.
    # The naive instant, the weekend and the bank holiday all pass in silence.
    for moment in (at(2026, 12, 25, 10), at(2026, 12, 26, 12), at(2026, 12, 28, 17), at(2026, 12, 29, 17) - SECOND):
        assert sweep_at(moment) == [], moment
    first = sweep_at(at(2026, 12, 29, 17))
    assert mail(first) == sorted(("reminder", email) for email in stage1)
    for row in first:
        assert row.context["kind"] == "reminder"
        assert row.context["stage_index"] == 0
        assert row.context["due"] == "2027-01-05T17:00:00+00:00"
        assert row.context["late"] is False
        assert set(row.context["links"]) == {"resolve", "escalate"}
    assert sweep_at(at(2026, 12, 29, 17)) == []  # the same instant again: nothing twice
    [event] = events(case, "reminder_sent")
    assert raiser.email in event.text and people["counterpart"] in event.text
    assert "Tuesday 5 January 2027, 5:00pm" in event.text

    # "2 working days": Tue 29 (1), Wed 30 (2) -> Wed 30 Dec 17:00.
    assert sweep_at(at(2026, 12, 30, 17) - SECOND) == []
    assert mail(sweep_at(at(2026, 12, 30, 17))) == sorted(("reminder", email) for email in stage1)
    assert sweep_at(at(2026, 12, 30, 17)) == []

    # Nothing more until the deadline: not over New Year, nor the weekend after.
    for moment in (at(2026, 12, 31, 17), at(2027, 1, 1, 17), at(2027, 1, 4, 17), at(2027, 1, 5, 17) - SECOND):
        assert sweep_at(moment) == [], moment

    # Deadline Tue 5 Jan 17:00: the parties (the raiser is one), and the Business Manager.
    overdue = sweep_at(at(2027, 1, 5, 17))
    assert mail(overdue) == sorted([("overdue", e) for e in stage1] + [("overdue", people["bm"])])
    by_email = {row.recipient_email: row.context for row in overdue}
    assert by_email[raiser.email]["kind"] == "deadline"
    assert set(by_email[raiser.email]["links"]) == {"resolve", "escalate"}  # the raiser's own escalate link
    assert by_email[people["bm"]]["case_url_path"] == f"/cases/{case.reference}"
    assert "links" not in by_email[people["bm"]]
    [missed] = events(case, "deadline_missed")
    assert people["bm"] in missed.text and missed.data["late"] is False
    assert sweep_at(at(2027, 1, 5, 17)) == []
    # Next: the first repeat, at 09:00 on the next working day, Wed 6 Jan; and the watch on escalating, stage 2's
    # "24 hours" from the deadline: Wed 6 Jan 17:00.
    assert Escalation.get_by_id(case.id).next_alert_at == at(2027, 1, 6, 9)
    stage1_rows = {r.key.rpartition("/")[2]: r.due_at for r in Reminder.select().where(Reminder.stage_index == 0)}
    assert (stage1_rows["overdue2"], stage1_rows["not-escalated"]) == (at(2027, 1, 6, 9), at(2027, 1, 6, 17))
    assert sweep_at(at(2027, 1, 6, 9) - SECOND) == []

    # The raiser escalates Wed 6 Jan 09:00, before the sweep of that minute: the repeat and the watch are cancelled.
    # Stage 2: "24 hours" -> Thu 7 Jan 09:00 (a working day);
    # "2 working days" -> Thu 7 (1), Fri 8 (2) -> Fri 8 Jan 17:00; 5 working days -> Wed 13 Jan 17:00.
    act(at(2027, 1, 6, 9), workflow.escalate, proc, Escalation.get_by_id(case.id), Actor.of(raiser), "Overdue.")
    stage2 = [people["our_lm"], people["their_lm"]]
    assert sweep_at(at(2027, 1, 7, 9) - SECOND) == []
    assert mail(sweep_at(at(2027, 1, 7, 9))) == sorted(("reminder", e) for e in stage2)
    assert sweep_at(at(2027, 1, 8, 17) - SECOND) == []
    assert mail(sweep_at(at(2027, 1, 8, 17))) == sorted(("reminder", e) for e in stage2)
    assert sweep_at(at(2027, 1, 13, 17) - SECOND) == []
    # The raiser is not a party at stage 2: their notice carries the case page instead of a link.
    overdue = sweep_at(at(2027, 1, 13, 17))
    assert mail(overdue) == sorted(
        [("overdue", e) for e in stage2] + [("overdue", raiser.email), ("overdue", people["bm"])]
    )
    by_email = {row.recipient_email: row.context for row in overdue}
    assert by_email[raiser.email]["case_url_path"] == f"/cases/{case.reference}"
    assert "links" not in by_email[raiser.email]
    assert set(by_email[people["our_lm"]]["links"]) == {"resolve", "escalate"}
    assert {row.context["due"] for row in overdue} == {"2027-01-13T17:00:00+00:00"}

    # Thu 14 Jan 09:00, the first repeat: the line managers, the Business Manager, and the next stage's people
    # (stage 3's party is the Business Manager: told once). The raiser, not a party, is not chased again.
    assert sweep_at(at(2027, 1, 14, 9) - SECOND) == []
    repeat = sweep_at(at(2027, 1, 14, 9))
    assert mail(repeat) == sorted([("still_overdue", e) for e in stage2] + [("still_overdue", people["bm"])])
    assert {row.context["notice_number"] for row in repeat} == {2}
    by_email = {row.recipient_email: row.context for row in repeat}
    assert set(by_email[people["our_lm"]]["links"]) == {"resolve", "escalate"}
    assert by_email[people["bm"]]["told_as"] == "business_manager"

    # A line manager escalates again Thu 14 Jan 10:00. Stage 3 (the Business Manager acts): "24 hours" -> Fri 15
    # Jan 10:00; "2 working days" -> Fri 15 (1), Mon 18 (2) -> Mon 18 Jan 17:00; "1 month" -> Sun 14 Feb, not a
    # working day -> Mon 15 Feb 17:00.
    case = Escalation.get_by_id(case.id)
    record = act(at(2027, 1, 14, 10), workflow.escalate, proc, case, factories.acting(case), "No.")
    assert record.due_at == at(2027, 2, 15, 17)
    assert sweep_at(at(2027, 1, 15, 10) - SECOND) == []
    assert mail(sweep_at(at(2027, 1, 15, 10))) == [("reminder", people["bm"])]
    # A final decision Fri 15 Jan 12:00 closes the case: nothing else is ever sent for it.
    case = Escalation.get_by_id(case.id)
    act(at(2027, 1, 15, 12), workflow.decide, proc, case, factories.acting(case), "Decided.")
    for moment in (at(2027, 1, 18, 17), at(2027, 2, 15, 17), at(2027, 6, 1, 12)):
        assert sweep_at(moment) == [], moment

    kinds = ("reminder_sent", "deadline_missed", "still_overdue", "not_escalated")
    assert [e.kind for e in Event.select().where(Event.kind.in_(kinds)).order_by(Event.id)] == [
        "reminder_sent",
        "reminder_sent",
        "deadline_missed",
        "reminder_sent",
        "reminder_sent",
        "deadline_missed",
        "still_overdue",
        "reminder_sent",
    ]
    # 2 + 2 reminders, 3 overdue; 2 + 2 reminders, 4 overdue, 3 still overdue; 1 reminder: each once.
    assert Outbox.select().where(Outbox.purpose.in_(("reminder", "overdue"))).count() == 16
    assert Outbox.select().where(Outbox.purpose == "still_overdue").count() == 3
    # Every repeat and watch of the stages that ended was cancelled, none sent after: nothing is left to come.
    assert Reminder.select().where(Reminder.sent_at.is_null() & Reminder.cancelled_at.is_null()).count() == 0


def test_resolving_cancels_what_was_still_to_come(people, proc):
    case = raise_at(RAISED, people)
    act(at(2026, 12, 29, 12), workflow.resolve, proc, case, Actor.of(people["raiser"]), "Agreed: assessment.")
    for moment in (at(2026, 12, 29, 17), at(2026, 12, 30, 17), at(2027, 1, 5, 17)):
        assert sweep_at(moment) == []
    assert Reminder.select().where(Reminder.sent_at.is_null() & Reminder.cancelled_at.is_null()).count() == 0


def test_a_consumer_down_for_a_day_sends_each_missed_alert_once_marked_late(people):
    case = raise_at(RAISED, people)
    # Nothing swept from Tue 29 Dec 17:00 (reminder 1) until Wed 30 Dec 17:30: reminder 2 (due Wed 30 Dec 17:00)
    # is only half an hour late, within the hour allowed, and goes; reminder 1 is a day late and it is now after
    # close of business: it waits for working hours, Thu 31 Dec 09:00, and says it is late.
    rows = sweep_at(at(2026, 12, 30, 17, 30))
    assert sorted((row.context["late"], row.recipient_email) for row in rows) == sorted(
        [(False, people["raiser"].email), (False, people["counterpart"])]
    )
    assert Escalation.get_by_id(case.id).next_alert_at == at(2026, 12, 31, 9)
    for moment in (at(2026, 12, 30, 17, 31), at(2026, 12, 31, 3), at(2026, 12, 31, 9) - SECOND):
        assert sweep_at(moment) == [], moment
    rows = sweep_at(at(2026, 12, 31, 9))
    assert sorted((row.context["late"], row.recipient_email) for row in rows) == sorted(
        [(True, people["raiser"].email), (True, people["counterpart"])]
    )
    on_time, late = events(case, "reminder_sent")
    assert on_time.data["late"] is False and "late" not in on_time.text
    assert late.data["late"] is True and "Sent late: it was due Tuesday 29 December 2026, 5:00pm" in late.text
    assert sweep_at(at(2026, 12, 31, 9)) == []
    assert Escalation.get_by_id(case.id).next_alert_at == at(2027, 1, 5, 17)


def test_alerts_missed_over_a_weekend_wait_for_monday_morning(people):
    case = raise_at(RAISED, people)
    sweep_at(at(2026, 12, 30, 17))
    # The deadline notice is due Tue 5 Jan 17:00. Down from Tue 5 Jan 16:00 until Sat 9 Jan 10:00: the notice is
    # days late and it is a Saturday: nothing goes until Mon 11 Jan 09:00, when it goes once, marked late.
    for moment in (at(2027, 1, 9, 10), at(2027, 1, 10, 22), at(2027, 1, 11, 9) - SECOND):
        assert sweep_at(moment) == [], moment
    rows = sweep_at(at(2027, 1, 11, 9))
    assert mail(rows) == sorted(("overdue", e) for e in [people["raiser"].email, people["counterpart"], people["bm"]])
    assert {row.context["late"] for row in rows} == {True}
    # The notice wrote the escalation watch (Wed 6 Jan 17:00: late, in working hours now: the next sweep) and the
    # next repeat, counted from when the late notice went: Tue 12 Jan 09:00.
    assert [row.purpose for row in sweep_at(at(2027, 1, 11, 9, 1))] == ["not_escalated"] * 3
    assert sweep_at(at(2027, 1, 12, 9) - SECOND) == []
    assert len(sweep_at(at(2027, 1, 12, 9))) == 5
    assert len(events(case, "deadline_missed")) == 1


def test_a_consumer_down_past_the_deadline_catches_up_in_one_sweep(people):
    raise_at(RAISED, people)
    rows = sweep_at(at(2027, 1, 6, 9))  # every alert of stage 1 missed
    assert sorted(Counter(row.purpose for row in rows).items()) == [("overdue", 3), ("reminder", 4)]
    assert all(row.context["late"] for row in rows)
    assert sweep_at(at(2027, 1, 6, 9, 1)) == []


def test_imminent_risk_is_due_the_same_working_day(people):
    case = raise_at(RAISED, people, imminent_risk=True)
    # At raise: the raiser's safeguarding lead is told at once (queued by the workflow, not the sweep), and acts at
    # stage 1 beside the practitioners.
    lead = Outbox.get((Outbox.escalation == case) & (Outbox.recipient_email == people["our_lead"]))
    assert lead.purpose == "imminent_risk" and set(lead.context["links"]) == {"resolve", "escalate"}
    # "same working day" -> Thu 24 Dec 17:00; both reminders fall after it, so the deadline is the only alert.
    assert case.due_at == case.next_alert_at == at(2026, 12, 24, 17)
    assert sweep_at(at(2026, 12, 24, 17) - SECOND) == []
    rows = sweep_at(at(2026, 12, 24, 17))
    assert mail(rows) == sorted(
        [
            ("overdue", people["raiser"].email),
            ("overdue", people["counterpart"]),
            ("overdue", people["our_lead"]),
            ("overdue", people["bm"]),
        ]
    )
    # Nothing over Christmas: the first repeat waits for Tue 29 Dec 09:00.
    for moment in (at(2026, 12, 25, 9), at(2026, 12, 28, 12), at(2026, 12, 29, 9) - SECOND):
        assert sweep_at(moment) == [], moment
    assert Outbox.select().where(Outbox.purpose == "imminent_risk").count() == 1


def test_a_specific_circumstance_is_told_at_raise_and_reminders_follow_the_parties(people):
    case = raise_at(RAISED, people, specific_circumstance="child_death")
    # The procedure is bypassed: the case opens at the last stage, where the DCS and the partnership act.
    assert case.stage_index == 2
    told = Outbox.select().where(Outbox.purpose == "specific_circumstance")
    assert sorted(row.recipient_email for row in told) == sorted([people["dcs"], people["bm"]])
    assert {tuple(row.context["links"]) for row in told} == {("decide",)}
    # "24 hours" from Thu 24 Dec 10:00 is Christmas Day: close of business on the next working day, Tue 29 Dec.
    rows = sweep_at(at(2026, 12, 29, 17))
    assert mail(rows) == sorted([("reminder", people["dcs"]), ("reminder", people["bm"])])
    assert Outbox.select().where(Outbox.purpose == "specific_circumstance").count() == 2
    assert len(events(case, "specific_circumstance")) == 1


def test_a_child_on_a_plan_brings_the_cp_chair_in_at_stage_two(people, proc):
    case = raise_at(
        RAISED, people, child_on_plan=True, child_chair_name="The Chair", child_chair_email=people["cp_chair"]
    )
    act(at(2026, 12, 29, 9), workflow.escalate, proc, case, Actor.of(people["raiser"]), "Unresolved.")
    chair = Outbox.get(Outbox.recipient_email == people["cp_chair"])
    assert (chair.purpose, chair.context["stage_index"]) == ("stage_notice", 1)
    # Stage 2 from Tue 29 Dec 09:00: "24 hours" -> Wed 30 Dec 09:00, to the stage's parties (the line managers).
    assert sweep_at(at(2026, 12, 30, 9) - SECOND) == []
    rows = sweep_at(at(2026, 12, 30, 9))
    assert mail(rows) == sorted([("reminder", people["our_lm"]), ("reminder", people["their_lm"])])
    # Stage 1's reminder (Tue 29 Dec 17:00) was cancelled by the escalation.
    assert not [row for row in rows if row.context["stage_index"] == 0]


SALFORD_STYLE = """
id = "salford-style"
name = "Escalation with a copy"
calendar = "england-and-wales"
reminders = ["24 hours"]

[[stages]]
key = "practitioners"
name = "Stage 1: Practitioners"
parties = ["raiser", "counterpart"]
resolve_within = "5 working days"
copies = [{ role = "raiser.service_manager", within = "2 working days", document = "escalation_notice" }]
"""


@pytest.fixture
def salford(people, tmp_path):
    path = Path(tmp_path) / "salford-style.toml"
    path.write_text(SALFORD_STYLE)
    Contact.create(
        agency=people["ours"], role="service_manager", name="Sam Service", email="sam.service@agency.example"
    )
    return load_procedure(path)


@pytest.mark.parametrize(
    "sent", [None, "without the notice", "with the notice"], ids=["never-sent", "sent-bare", "sent-with-notice"]
)
def test_a_copy_not_sent_in_time_is_reported_to_the_raiser_and_business_manager(people, salford, sent):
    case = raise_at(RAISED, people, salford)
    copy = Outbox.get((Outbox.purpose == "copy") & (Outbox.escalation == case))
    assert copy.recipient_email == "sam.service@agency.example"
    assert copy.status == "awaiting_document"  # the notice is not rendered: the copy waits for it
    if sent:
        context = dict(copy.context)
        if sent == "with the notice":
            notice = Document.create(escalation=case, kind="escalation_notice", key="notice", status="rendered")
            context["document_id"] = notice.id
        Outbox.update(status="sent", sent_at=at(2026, 12, 29, 11), context=context).where(
            Outbox.id == copy.id
        ).execute()
    copy_sent = sent == "with the notice"  # only a copy that carried the notice counts
    # "2 working days" from Thu 24 Dec 10:00: Tue 29 (1), Wed 30 (2) -> Wed 30 Dec 17:00.
    assert mail(sweep_at(at(2026, 12, 30, 17) - SECOND)) == sorted(
        [("reminder", people["raiser"].email), ("reminder", people["counterpart"])]  # "24 hours" -> Tue 29 Dec 17:00
    )
    rows = sweep_at(at(2026, 12, 30, 17))
    if copy_sent:
        assert rows == []
        assert events(case, "copy_overdue") == []
    else:
        assert mail(rows) == sorted([("copy_overdue", people["raiser"].email), ("copy_overdue", people["bm"])])
        assert {row.context["role"] for row in rows} == {"raiser.service_manager"}
        assert {row.context["due"] for row in rows} == {"2026-12-30T17:00:00+00:00"}
        [event] = events(case, "copy_overdue")
        assert "service manager" in event.text
    assert sweep_at(at(2026, 12, 30, 17)) == []
    assert Reminder.get(Reminder.kind == "copy").sent_at == at(2026, 12, 30, 17)


def test_a_case_whose_procedure_cannot_be_loaded_is_skipped_not_lost(people):
    case = raise_at(RAISED, people, load_procedure(TEST_PROCEDURE))
    version = ProcedureVersion.get_by_id(case.procedure_version_id)
    # The stored version no longer parses (say, a later portal reads a key differently): skipped, logged, not lost.
    ProcedureVersion.update(text="id = ", digest="0" * 64).where(ProcedureVersion.id == version.id).execute()
    before = Outbox.select().count()
    with time_machine.travel(at(2026, 12, 29, 17), tick=False):
        assert reminders.sweep(utcnow()) == 0
    assert Outbox.select().count() == before
    assert Escalation.get().next_alert_at == at(2026, 12, 29, 17)
    # Once the version can be read again, the next sweep sends what is due.
    ProcedureVersion.update(text=version.text, digest=version.digest).where(ProcedureVersion.id == version.id).execute()
    assert mail(sweep_at(at(2026, 12, 29, 17, 1))) == sorted(
        [("reminder", people["raiser"].email), ("reminder", people["counterpart"])]
    )


def test_every_sweep_leaves_a_heartbeat(people):
    assert reminders.last_sweep() is None
    raise_at(RAISED, people)
    sweep_at(at(2026, 12, 29, 17))
    beat = reminders.last_sweep()
    assert (beat.beat_at, beat.handled) == (at(2026, 12, 29, 17), 1)
    sweep_at(at(2026, 12, 29, 17, 1))
    assert (reminders.last_sweep().beat_at, reminders.last_sweep().handled) == (at(2026, 12, 29, 17, 1), 0)
    assert Heartbeat.select().count() == 1


def test_the_sweep_only_reads_cases_that_are_due(people):
    """Cost follows the number due: a page is read by the indexed next_alert_at, and only due cases are claimed."""
    for hour in range(10, 15):
        raise_at(at(2026, 12, 24, hour), people)
    # Reminders "24 hours" all land on Tue 29 Dec 17:00 (after Christmas); sweep in pages of 2.
    with time_machine.travel(at(2026, 12, 29, 17), tick=False):
        assert reminders.sweep(utcnow(), batch=2) == 5
    assert Reminder.select().where(Reminder.sent_at.is_null(False)).count() == 5


def test_the_periodic_task_sweeps_inside_the_app_and_wakes_the_sender(app, people):
    """tasks.reminders.sweep_reminders as the consumer runs it, in immediate mode: the app's procedures,
    its own connection, the sender woken after the commit (file backend), and a heartbeat."""
    from tasks.reminders import sweep_reminders

    with app.app_context():  # the raise wakes the sender too: in this app, not one built from the environment
        case = raise_at(RAISED, people)
    with time_machine.travel(at(2026, 12, 29, 17, 0, 30), tick=False), app.app_context():
        sweep_reminders.call_local()
    rows = Outbox.select().where((Outbox.escalation == case) & (Outbox.purpose == "reminder"))
    assert sorted(row.recipient_email for row in rows) == sorted([people["raiser"].email, people["counterpart"]])
    assert {row.status for row in rows} == {"sent"}
    assert reminders.last_sweep().beat_at == at(2026, 12, 29, 17, 0, 30)


# --- Working hours, repeats and the escalation watch ------------------------------------------------------------


def stage_mail(rows: list[Outbox], stage_index: int = 0) -> list[tuple[str, str]]:
    return mail([row for row in rows if row.context.get("stage_index") == stage_index])


@pytest.mark.parametrize(
    ("raised", "quiet", "reminded"),
    [
        # Tue 1 Dec 2026 20:00: "24 hours" is Wed 2 Dec 20:00, a working day after close: Thu 3 Dec 09:00.
        (at(2026, 12, 1, 20), (at(2026, 12, 2, 20), at(2026, 12, 2, 23, 59)), at(2026, 12, 3, 9)),
        # Tue 1 Dec 07:00: "24 hours" is Wed 2 Dec 07:00, before opening: Wed 2 Dec 09:00.
        (at(2026, 12, 1, 7), (at(2026, 12, 2, 7), at(2026, 12, 2, 8)), at(2026, 12, 2, 9)),
        # Thu 3 Dec 19:00: "24 hours" is Fri 4 Dec 19:00, after close on a Friday: Mon 7 Dec 09:00.
        (at(2026, 12, 3, 19), (at(2026, 12, 4, 19), at(2026, 12, 5, 12), at(2026, 12, 6, 23)), at(2026, 12, 7, 9)),
    ],
    ids=["evening", "early-morning", "friday-night"],
)
def test_a_reminder_outside_working_hours_goes_at_09_00_on_the_next_working_day(people, raised, quiet, reminded):
    case = raise_at(raised, people)
    for moment in (*quiet, reminded - SECOND):
        assert sweep_at(moment) == [], moment
    rows = sweep_at(reminded)
    assert mail(rows) == sorted([("reminder", people["raiser"].email), ("reminder", people["counterpart"])])
    assert {row.context["late"] for row in rows} == {False}  # sent when it was due: the working-hours time
    [event] = events(case, "reminder_sent")
    assert event.at == reminded


HOURS_PROCEDURE = """
id = "hours"
name = "Hours"
reminders = ["12 hours", "24 hours"]
imminent_risk_notify = ["raiser.safeguarding_lead"]

[specific_circumstances]
notify = ["dcs"]

[[stages]]
key = "practitioners"
name = "Stage 1"
parties = ["raiser", "counterpart"]
resolve_within = "36 hours"

[[stages]]
key = "managers"
name = "Stage 2"
parties = ["raiser.line_manager", "counterpart.line_manager"]
resolve_within = "5 working days"
"""


@pytest.fixture
def hours_procedure(tmp_path):
    path = Path(tmp_path) / "hours.toml"
    path.write_text(HOURS_PROCEDURE)
    return load_procedure(path)


def test_a_reminder_pushed_past_the_deadline_merges_into_the_overdue_notice(people, hours_procedure):
    case = raise_at(at(2026, 12, 1, 19), people, hours_procedure)
    # Raised Tue 1 Dec 19:00. Deadline "36 hours": Thu 3 Dec 07:00, a working day, so the instant stands.
    # "12 hours" -> Wed 2 Dec 07:00, before opening -> Wed 09:00. "24 hours" -> Wed 2 Dec 19:00, after close ->
    # Thu 3 Dec 09:00, after the deadline: it merges into the overdue notice, itself moved from 07:00 to 09:00.
    assert case.due_at == at(2026, 12, 3, 7)
    assert sorted((r.kind, r.due_at) for r in Reminder.select()) == [
        ("deadline", at(2026, 12, 3, 9)),
        ("reminder", at(2026, 12, 2, 9)),
    ]
    assert mail(sweep_at(at(2026, 12, 2, 9))) == sorted(
        [("reminder", people["raiser"].email), ("reminder", people["counterpart"])]
    )
    for moment in (at(2026, 12, 2, 19), at(2026, 12, 3, 7), at(2026, 12, 3, 9) - SECOND):
        assert sweep_at(moment) == [], moment
    rows = sweep_at(at(2026, 12, 3, 9))
    assert mail(rows) == sorted(
        [("overdue", people["raiser"].email), ("overdue", people["counterpart"]), ("overdue", people["bm"])]
    )
    assert {row.context["due"] for row in rows} == {"2026-12-03T07:00:00+00:00"}  # the deadline itself
    assert {row.context["late"] for row in rows} == {False}
    assert len(events(case, "reminder_sent")) == 1


@pytest.mark.parametrize(
    ("details", "purpose", "told", "first_alert"),
    [
        # Stage 1, due "36 hours" on: Mon 7 Dec 11:30, a working day, in working hours. Its reminders ("12 hours":
        # Sun 6 Dec 11:30; "24 hours": Sun 23:30) fall on a Sunday, so at Monday's close of business, after the
        # deadline: both merge into the overdue notice, the first alert, at 11:30 on Monday.
        ({"imminent_risk": True}, "imminent_risk", "our_lead", at(2026, 12, 7, 11, 30)),
        # The last stage at once, due 5 working days from Monday 7 Dec; "12 hours" (Sunday) -> Mon 7 Dec 17:00.
        ({"specific_circumstance": "child_death"}, "specific_circumstance", "dcs", at(2026, 12, 7, 17)),
    ],
    ids=["imminent-risk", "specific-circumstance"],
)
def test_imminent_risk_and_specific_circumstances_go_at_once_at_night(
    people, hours_procedure, details, purpose, told, first_alert
):
    """They are not reminders: written by the raise itself, whatever the hour (Saturday 5 Dec 2026, 23:30)."""
    case = raise_at(at(2026, 12, 5, 23, 30), people, hours_procedure, **details)
    [row] = Outbox.select().where(Outbox.purpose == purpose)
    assert (row.recipient_email, row.created_at) == (people[told], at(2026, 12, 5, 23, 30))
    assert case.next_alert_at == first_alert
    assert sweep_at(at(2026, 12, 6, 12)) == [] and sweep_at(first_alert - SECOND) == []


def test_the_overdue_notice_repeats_each_working_morning_and_the_escalation_window_is_watched(people):
    case = raise_at(RAISED, people)
    stage1 = [people["raiser"].email, people["counterpart"]]
    stage2 = [people["our_lm"], people["their_lm"]]
    sweep_at(at(2026, 12, 30, 17))  # the two reminders
    # Tue 5 Jan 17:00: the first notice, to the parties (the raiser is one) and the Business Manager.
    assert stage_mail(sweep_at(at(2027, 1, 5, 17))) == sorted(("overdue", e) for e in [*stage1, people["bm"]])
    # Wed 6 Jan 09:00, the next working morning: the parties, the Business Manager, and stage 2's line managers.
    assert sweep_at(at(2027, 1, 6, 9) - SECOND) == []
    second = sweep_at(at(2027, 1, 6, 9))
    assert mail(second) == sorted(("still_overdue", e) for e in [*stage1, people["bm"], *stage2])
    told_as = {row.recipient_email: row.context["told_as"] for row in second}
    assert [told_as[e] for e in (*stage1, people["bm"], *stage2)] == ["party"] * 2 + ["business_manager"] + [
        "next_stage"
    ] * 2
    by_email = {row.recipient_email: row.context for row in second}
    assert set(by_email[people["counterpart"]]["links"]) == {"resolve", "escalate"}
    assert "links" not in by_email[people["our_lm"]] and "case_url_path" not in by_email[people["our_lm"]]
    # Stage 2's escalate_within, "24 hours" from the deadline: Wed 6 Jan 17:00. Those who may escalate stage 1
    # (the raiser and its parties) and the Business Manager are told, once.
    assert sweep_at(at(2027, 1, 6, 17) - SECOND) == []
    window = sweep_at(at(2027, 1, 6, 17))
    assert mail(window) == sorted(("not_escalated", e) for e in [*stage1, people["bm"]])
    assert {row.context["window_until"] for row in window} == {"2027-01-06T17:00:00+00:00"}
    [event] = events(case, "not_escalated")
    assert "24 hours" in event.text and people["bm"] in event.text
    # Thu 7, Fri 8 and Mon 11 Jan at 09:00: the third, fourth and fifth notices; nothing between them, at night or
    # over the weekend.
    for number, morning in enumerate((at(2027, 1, 7, 9), at(2027, 1, 8, 9), at(2027, 1, 11, 9)), start=3):
        assert sweep_at(morning - SECOND) == [], morning
        rows = sweep_at(morning)
        assert mail(rows) == sorted(("still_overdue", e) for e in [*stage1, people["bm"], *stage2]), morning
        assert {row.context["notice_number"] for row in rows} == {number}
        for quiet in (morning + dt.timedelta(hours=8), morning + dt.timedelta(hours=14)):
            assert sweep_at(quiet) == [], quiet
    assert sweep_at(at(2027, 1, 9, 12)) == [] and sweep_at(at(2027, 1, 10, 12)) == []
    assert len(events(case, "still_overdue")) == 4 and len(events(case, "not_escalated")) == 1
    # One row is written ahead, never more: the sixth notice, Tue 12 Jan 09:00.
    waiting = Reminder.select().where(Reminder.sent_at.is_null() & Reminder.cancelled_at.is_null())
    assert [(r.key.rpartition("/")[2], r.due_at) for r in waiting] == [("overdue6", at(2027, 1, 12, 9))]


def test_the_escalation_watch_tells_whom_escalated_by_names(people, tmp_path):
    path = Path(tmp_path) / "leads.toml"
    path.write_text(
        TEST_PROCEDURE_TEXT.replace(
            'resolve_within = "5 working days"\nrecords',
            'escalated_by = ["raiser.safeguarding_lead"]\nresolve_within = "5 working days"\nrecords',
            1,
        ).replace('escalate_within = "24 hours"', 'escalate_within = "2 working days"')
    )
    case = raise_at(RAISED, people, load_procedure(path))
    # Deadline Tue 5 Jan 17:00, at close of business, so "2 working days" counts from Wed 6: Thu 7 (1), Fri 8 (2)
    # -> Fri 8 Jan 17:00. The morning notices before it go on as usual.
    for moment in (at(2026, 12, 30, 17), at(2027, 1, 5, 17), at(2027, 1, 6, 9), at(2027, 1, 7, 9), at(2027, 1, 8, 9)):
        sweep_at(moment)
    assert sweep_at(at(2027, 1, 8, 17) - SECOND) == []
    rows = sweep_at(at(2027, 1, 8, 17))
    assert mail(rows) == sorted([("not_escalated", people["our_lead"]), ("not_escalated", people["bm"])])
    lead = next(row for row in rows if row.recipient_email == people["our_lead"])
    # Not named at the stage, so no links: the case page, where they may escalate once signed in.
    assert (lead.context["told_as"], lead.context["case_url_path"]) == ("escalator", f"/cases/{case.reference}")
    assert "links" not in lead.context


@pytest.mark.parametrize("action", ["resolve", "escalate", "withdraw"])
def test_acting_stops_the_repeats(people, proc, action):
    case = raise_at(RAISED, people)
    sweep_at(at(2027, 1, 5, 17))
    sweep_at(at(2027, 1, 6, 9))
    assert len(events(case, "still_overdue")) == 1
    case = Escalation.get_by_id(case.id)
    transition = getattr(workflow, action)
    act(at(2027, 1, 6, 11), transition, proc, case, Actor.of(people["raiser"]), "Acted at last.")
    # Nothing more for stage 1, ever: not the window at Wed 17:00, not the morning notices.
    after = [sweep_at(m) for m in (at(2027, 1, 6, 17), at(2027, 1, 7, 9), at(2027, 1, 8, 9), at(2027, 2, 1, 9))]
    assert [stage_mail(rows) for rows in after] == [[], [], [], []]
    stage1 = Reminder.select().where(Reminder.stage_index == 0)
    assert {r.key.rpartition("/")[2]: r.cancelled_at for r in stage1 if r.sent_at is None} == {
        "overdue3": at(2027, 1, 6, 11),
        "not-escalated": at(2027, 1, 6, 11),
    }
    assert len(events(case, "still_overdue")) == 1 and events(case, "not_escalated") == []


def test_at_the_last_stage_the_repeats_go_to_its_parties_and_the_business_manager_until_the_decision(people, proc):
    case = raise_at(RAISED, people)
    # Escalated twice at once: stage 3 (the Business Manager acts) starts Thu 24 Dec 10:00; "1 month" -> Sun 24 Jan
    # 2027, not a working day -> Mon 25 Jan 17:00.
    act(RAISED, workflow.escalate, proc, case, Actor.of(people["raiser"]), "Now.")
    case = Escalation.get_by_id(case.id)
    record = act(RAISED, workflow.escalate, proc, case, factories.acting(case, "escalate"), "Now.")
    assert record.due_at == at(2027, 1, 25, 17)
    sweep_at(at(2027, 1, 25, 17))
    # Tue 26 Jan 09:00: the Business Manager, once (party and Business Manager); no stage after it, so nobody else.
    rows = sweep_at(at(2027, 1, 26, 9))
    assert mail(rows) == [("still_overdue", people["bm"])]
    assert set(rows[0].context["links"]) == {"decide"}
    case = Escalation.get_by_id(case.id)
    act(at(2027, 1, 26, 10), workflow.decide, proc, case, factories.acting(case, "decide"), "Decided.")
    assert sweep_at(at(2027, 1, 27, 9)) == [] and sweep_at(at(2027, 3, 1, 9)) == []


def test_an_overdue_stage_keeps_its_links_working_while_the_notices_ask_for_action(people, proc):
    case = raise_at(RAISED, people)
    escalate = ActionLink.get((ActionLink.recipient_email == people["counterpart"]) & (ActionLink.action == "escalate"))
    token = links.token_of(escalate)
    # Issued to expire 72 hours after the deadline (Tue 5 Jan 17:00): Fri 8 Jan 17:00.
    assert escalate.expires_at == at(2027, 1, 8, 17)
    for moment in (at(2027, 1, 5, 17), at(2027, 1, 6, 9), at(2027, 1, 7, 9), at(2027, 1, 8, 9), at(2027, 1, 11, 9)):
        sweep_at(moment)
    # The fifth notice (Mon 11 Jan 09:00) writes the sixth (Tue 12 Jan 09:00): the link works until 72 hours after
    # it, Fri 15 Jan 09:00.
    assert ActionLink.get_by_id(escalate.id).expires_at == at(2027, 1, 15, 9)
    assert links.find_link(token, now=at(2027, 1, 11, 10)).id == escalate.id
    with pytest.raises(links.LinkRefused, match="expired"):
        links.find_link(token, now=at(2027, 1, 15, 9))
    # The case escalated by someone else: the link is superseded, whatever its expiry.
    act(at(2027, 1, 11, 11), workflow.escalate, proc, Escalation.get_by_id(case.id), Actor.of(people["raiser"]), "Now.")
    with pytest.raises(links.LinkRefused, match="superseded"):
        links.find_link(token, now=at(2027, 1, 11, 12))


def test_a_consumer_down_for_days_after_the_deadline_sends_one_notice_not_one_per_day(people):
    case = raise_at(RAISED, people)
    sweep_at(at(2026, 12, 30, 17))
    # Down from before the deadline (Tue 5 Jan 17:00) until Fri 8 Jan 12:00: the first notice goes, late; the next
    # counts from then: Mon 11 Jan 09:00, not Wed, Thu and Fri all at once.
    rows = sweep_at(at(2027, 1, 8, 12))
    assert {row.purpose for row in rows} == {"overdue"} and {row.context["late"] for row in rows} == {True}
    # The escalation watch (Wed 6 Jan 17:00) was written by that notice: the next sweep sends it, late.
    assert {(row.purpose, row.context["late"]) for row in sweep_at(at(2027, 1, 8, 12, 1))} == {("not_escalated", True)}
    assert sweep_at(at(2027, 1, 11, 9) - SECOND) == []
    assert {row.purpose for row in sweep_at(at(2027, 1, 11, 9))} == {"still_overdue"}
    assert len(events(case, "still_overdue")) == 1


def test_each_recipient_of_a_repeat_or_the_watch_is_told_why_and_what_to_do(smtp_app, people):
    """Each message built as the sender builds it (templates with StrictUndefined); nothing is sent here."""
    from portal.mail import build_message

    links.init_secret(smtp_app.config["SECRET_KEY"])
    raise_at(RAISED, people)
    rows = [row for moment in (at(2027, 1, 5, 17), at(2027, 1, 6, 9), at(2027, 1, 6, 17)) for row in sweep_at(moment)]
    with time_machine.travel(at(2027, 1, 6, 17), tick=False):
        texts = {
            (row.purpose, row.recipient_email): build_message(row, smtp_app).get_body(("plain",)).get_content()
            for row in rows
        }
    party = texts[("still_overdue", people["counterpart"])]
    assert "this is overdue notice 2" in party and "Escalate: http" in party and "repeated until someone does" in party
    manager = texts[("still_overdue", people["our_lm"])]
    assert "named at Stage 2: Line managers, the next stage" in manager and "/a/" not in manager
    bm = texts[("still_overdue", people["bm"])]
    assert "follow it up" in bm and f"/cases/{Escalation.get().reference}" in bm
    window = texts[("not_escalated", people["counterpart"])]
    assert "has not been escalated to Stage 2: Line managers in the time the procedure allows" in window
    assert "(by Wednesday 6 January 2027, 5:00pm)" in window and "escalate it now (Escalate)" in window
    assert "make sure the people who may escalate it do so now" in texts[("not_escalated", people["bm"])]
    assert all("Zzyzx" not in text for text in texts.values())  # none of these addresses is secure
