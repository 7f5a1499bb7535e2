"""The reminder sweep through a whole case: each alert at its instant, once, to the right people.

Every instant below is worked out by hand from the rules of docs/deadlines.md and the
test procedure (tests/data/three_stage.toml: reminders "24 hours" and "2 working
days"; stages of 5 working days, 5 working days and 1 month). England's bank
holidays around the new year 2026/27: Fri 25 Dec, Mon 28 Dec (Boxing Day
observed), Fri 1 Jan. December and January are GMT, so London time == UTC.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
import time_machine
from peewee import fn

from portal import reminders, workflow
from portal.models import (
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
    assert Escalation.get_by_id(case.id).next_alert_at is None
    assert sweep_at(at(2027, 1, 6, 8)) == []

    # The raiser escalates Wed 6 Jan 09:00. Stage 2: "24 hours" -> Thu 7 Jan 09:00 (a working day);
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

    assert [e.kind for e in Event.select().where(Event.kind.in_(("reminder_sent", "deadline_missed")))] == [
        "reminder_sent",
        "reminder_sent",
        "deadline_missed",
        "reminder_sent",
        "reminder_sent",
        "deadline_missed",
        "reminder_sent",
    ]
    # 2 + 2 reminders, 3 overdue; 2 + 2 reminders, 4 overdue; 1 reminder: each once.
    assert Outbox.select().where(Outbox.purpose.in_(("reminder", "overdue"))).count() == 16


def test_resolving_cancels_what_was_still_to_come(people, proc):
    case = raise_at(RAISED, people)
    act(at(2026, 12, 29, 12), workflow.resolve, proc, case, Actor.of(people["raiser"]), "Agreed: assessment.")
    for moment in (at(2026, 12, 29, 17), at(2026, 12, 30, 17), at(2027, 1, 5, 17)):
        assert sweep_at(moment) == []
    assert Reminder.select().where(Reminder.sent_at.is_null() & Reminder.cancelled_at.is_null()).count() == 0


def test_a_consumer_down_for_a_day_sends_each_missed_alert_once_marked_late(people):
    case = raise_at(RAISED, people)
    # Nothing swept from Tue 29 Dec 17:00 (reminder 1) until Wed 30 Dec 17:30: reminder 1 is a day late,
    # reminder 2 (due Wed 30 Dec 17:00) only half an hour, within the hour allowed.
    rows = sweep_at(at(2026, 12, 30, 17, 30))
    assert len(rows) == 4
    late = sorted((row.context["late"], row.recipient_email) for row in rows)
    assert late == sorted(
        [(True, people["raiser"].email), (True, people["counterpart"]), (False, people["raiser"].email)]
        + [(False, people["counterpart"])]
    )
    first, second = events(case, "reminder_sent")
    assert first.data["late"] is True and "Sent late: it was due Tuesday 29 December 2026, 5:00pm" in first.text
    assert second.data["late"] is False and "late" not in second.text
    assert sweep_at(at(2026, 12, 30, 17, 30)) == []
    assert sweep_at(at(2026, 12, 31, 9)) == []


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
    assert sweep_at(at(2026, 12, 29, 17)) == []
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
