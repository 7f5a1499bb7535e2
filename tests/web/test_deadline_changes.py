"""Deadlines changed on purpose, by email through a real SMTP server, with the clock moved by time-machine.

Hounslow (portal/procedures/hounslow.toml), raised Thu 27 Aug 2026 10:00 BST (09:00Z), before the Late Summer bank
holiday, Mon 31 Aug. Close of business 17:00 BST = 16:00Z; working hours start 09:00 BST = 08:00Z.
- Stage 1: 5 working days: Fri 28 (1), [Sat 29, Sun 30, Mon 31], Tue 1 Sep (2), Wed 2 (3), Thu 3 (4), Fri 4 Sep (5).
  Reminders "24 hours" Fri 28 Aug 09:00Z and "2 working days" Tue 1 Sep 16:00Z ("5 working days" is the deadline).
- Escalated twice on the day it was raised, stage 3 starts Thu 27 Aug 11:00Z: the same 5 working days, due Fri 4
  Sep 16:00Z (its window, 15 working days from the raise, ends later), reminders Fri 28 Aug 11:00Z and Tue 1 Sep
  16:00Z.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from portal import links
from portal.case_actions import Actor
from portal.deadline_changes import DateRefused, extend, pause, paused_working_days_of, restart
from portal.models import DeadlineChange, Escalation, Event, Reminder, StageParty, StageRecord
from portal.procedure import resolve_procedure
from portal.registry import registry
from portal.reports import build_report, quarter_of
from portal.workflow import escalate, resolve
from tests import factories
from tests.web.conftest import confirm, sign_in
from tests.web.test_hounslow_by_email import deliver, received

RAISED = dt.datetime(2026, 8, 27, 9, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
LINK = re.compile(r"Resolve: http://localhost:5000(/a/[A-Za-z0-9_-]+)")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def world(smtp_app):
    with time_machine.travel(RAISED, tick=False):
        raiser, _, theirs = factories.world()
        links.init_secret(smtp_app.config["SECRET_KEY"])
        manager = factories.user("business_manager")
        case = factories.escalation(raiser, theirs, RAISED, resolve_procedure("hounslow"))
    return case, raiser, manager


def pending(case: Escalation) -> list[tuple[str, dt.datetime]]:
    rows = Reminder.select().where(
        (Reminder.escalation == case) & Reminder.sent_at.is_null() & Reminder.cancelled_at.is_null()
    )
    return sorted((r.kind, r.due_at) for r in rows)


def form_post(client, url: str, **fields):
    page = client.get(url)
    assert page.status_code == 200, url
    return client.post(url, data={"csrf_token": CSRF.search(page.get_data(as_text=True)).group(1), **fields})


def date_fields(name: str, day: dt.date) -> dict:
    return {name: [str(day.day), str(day.month), str(day.year)]}


def test_an_earlier_deadline_agreed_at_stage_3_moves_its_reminders_and_notice(smtp_server, smtp_app, world):
    case, raiser, _ = world
    procedure = registry.of_case(case)
    for hours in (1, 2):
        at = RAISED + dt.timedelta(hours=hours)
        with time_machine.travel(at, tick=False):
            case = Escalation.get_by_id(case.id)
            escalate(procedure, case, factories.acting(case, "escalate"), "It is not resolved.", now=at)
    case = Escalation.get_by_id(case.id)
    assert case.stage_index == 2 and case.due_at == utc(2026, 9, 4, 16)
    stage3 = RAISED + dt.timedelta(hours=2)
    deliver(stage3)
    deliver(utc(2026, 8, 28, 11))  # the "24 hours" reminder
    acting = {
        p.email
        for p in StageParty.select()
        .join(StageRecord)
        .where((StageRecord.escalation == case) & (StageRecord.stage_index == 2))
    }
    recipient, path = next(
        (m["To"].addresses[0].addr_spec, LINK.search(m.get_body(("plain",)).get_content()).group(1))
        for m in smtp_server.messages
        if m["To"].addresses[0].addr_spec in acting
        and "Stage 3" in m.get_body(("plain",)).get_content()
        and LINK.search(m.get_body(("plain",)).get_content())
    )

    agreed_at = utc(2026, 8, 28, 12)
    client = smtp_app.test_client()
    with smtp_app.app_context(), time_machine.travel(agreed_at, tick=False):
        assert client.get(f"{path}/earlier").headers["Location"] == path  # the address first
        confirm(client, path, recipient)
        shown = client.get(path).get_data(as_text=True)
        assert f"{path}/earlier" in shown  # the link's page offers it
        reason = {"reason": "A strategy meeting is needed before the child goes home on Wednesday."}
        later = form_post(client, f"{path}/earlier", **date_fields("due", dt.date(2026, 9, 7)), **reason)
        page = later.get_data(as_text=True)
        assert later.status_code == 400
        assert "The earlier deadline must be before the current deadline, Friday 4 September 2026, 5:00pm" in page
        assert 'class="govuk-error-message"' in page and "govuk-error-summary" in page
        assert reason["reason"] in page  # nothing typed is lost
        assert DeadlineChange.select().count() == 0
        agreed = form_post(client, f"{path}/earlier", **date_fields("due", dt.date(2026, 9, 1)), **reason)
        assert agreed.status_code == 302
        assert client.get(path).status_code == 200  # the link still resolves or escalates: it was not used up

    case = Escalation.get_by_id(case.id)
    assert case.due_at == utc(2026, 9, 1, 16)
    # The "2 working days" reminder (Tue 1 Sep 16:00Z) is the new deadline itself: it merges into the overdue notice.
    assert pending(case) == [("deadline", utc(2026, 9, 1, 16))]
    event = Event.get((Event.escalation == case) & (Event.kind == "deadline_earlier"))
    assert event.data["via"] == "emailed link" and reason["reason"] in event.text

    seen = len(smtp_server.messages)
    deliver(agreed_at)
    told = received(smtp_server, seen)
    assert {subject for _, subject in told} == {"Deadline changed"}
    assert acting | {raiser.email, "business_manager.3@agency.example"} == {who for who, _ in told}
    seen = len(smtp_server.messages)
    deliver(utc(2026, 9, 1, 16) - SECOND)
    assert len(smtp_server.messages) == seen
    deliver(utc(2026, 9, 1, 16))
    assert {subject for _, subject in received(smtp_server, seen)} == {"Deadline missed"}


def test_pause_restarts_at_its_date_and_an_extension_moves_the_notice(smtp_server, smtp_app, world):
    case, raiser, manager = world
    deliver(RAISED)
    deliver(utc(2026, 8, 28, 9))  # the first reminder
    paused_at = utc(2026, 8, 28, 10)
    client = smtp_app.test_client()
    url = f"/cases/{case.reference}/deadline/pause"
    why = {"reason": "The social worker is on leave until Thursday."}
    with time_machine.travel(paused_at, tick=False):
        # A fresh app context for each request, as a real one has (else `g` keeps a CSRF token across sign-in).
        with smtp_app.app_context():
            sign_in(client, manager)
        with smtp_app.app_context():
            past = form_post(client, url, **date_fields("until", dt.date(2026, 8, 27)), **why)
        assert past.status_code == 400 and "The date the clock restarts must be after today" in past.get_data(True)
        with smtp_app.app_context():
            assert form_post(client, url, **date_fields("until", dt.date(2026, 9, 3)), **why).status_code == 302
        with smtp_app.app_context():
            page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
        assert "The clock is paused until Thursday 3 September 2026, 9:00am" in page
        assert "How this deadline was worked out" in page and "3 working days paused" in page
        assert "Monday 31 August 2026: bank holiday: Late Summer Bank Holiday" in page

    # Paused from Fri 28 Aug to Thu 3 Sep: Fri 28, Tue 1, Wed 2 (Mon 31 is a bank holiday) = 3 working days.
    # Deadline Fri 4 Sep 16:00Z + 3 = Wed 9 Sep; the reminder still to come, Tue 1 Sep, + 3 = Fri 4 Sep.
    case = Escalation.get_by_id(case.id)
    assert case.due_at == utc(2026, 9, 9, 16)
    assert pending(case) == [
        ("deadline", utc(2026, 9, 9, 16)),
        ("reminder", utc(2026, 9, 4, 16)),
        ("restart", utc(2026, 9, 3, 8)),
    ]
    seen = len(smtp_server.messages)
    deliver(paused_at)
    assert {s for _, s in received(smtp_server, seen)} == {"Deadline changed"}
    seen = len(smtp_server.messages)
    deliver(utc(2026, 9, 1, 16))  # the reminder's old time: nothing
    deliver(utc(2026, 9, 3, 8) - SECOND)
    assert len(smtp_server.messages) == seen
    deliver(utc(2026, 9, 3, 8))  # the pause ends by itself
    assert {s for _, s in received(smtp_server, seen)} == {"Deadline changed"}
    assert DeadlineChange.get().ended_at == utc(2026, 9, 3, 8)
    assert Escalation.get_by_id(case.id).due_at == utc(2026, 9, 9, 16)
    seen = len(smtp_server.messages)
    deliver(utc(2026, 9, 4, 16))
    assert {s for _, s in received(smtp_server, seen)} == {"Reminder"}

    procedure = registry.of_case(case)
    extended_at = utc(2026, 9, 7, 10)
    with time_machine.travel(extended_at, tick=False):
        case = Escalation.get_by_id(case.id)
        with pytest.raises(DateRefused, match="must be after the current one"):
            extend(procedure, case, Actor.of(manager), utc(2026, 9, 8, 16), "Too soon", now=extended_at)
        extend(procedure, case, Actor.of(manager), utc(2026, 9, 11, 16), "Professionals meeting on 10 September.")
    seen = len(smtp_server.messages)
    deliver(extended_at)
    assert {s for _, s in received(smtp_server, seen)} == {"Deadline changed"}
    # Wed 9 Sep, the old deadline: no overdue notice, but the "5 working days" reminder (Fri 4 Sep + 3 paused
    # = Wed 9 Sep), which merged into the old deadline, is before the new one now.
    seen = len(smtp_server.messages)
    deliver(utc(2026, 9, 9, 16))
    assert {s for _, s in received(smtp_server, seen)} == {"Reminder"}
    seen = len(smtp_server.messages)
    deliver(utc(2026, 9, 11, 16) - SECOND)
    assert len(smtp_server.messages) == seen
    deliver(utc(2026, 9, 11, 16))
    assert {s for _, s in received(smtp_server, seen)} == {"Deadline missed"}

    kinds = [e.kind for e in Event.select().where(Event.escalation == case).order_by(Event.id)]
    changes = [k for k in kinds if k in ("deadline_pause", "clock_restarted", "deadline_extend")]
    assert changes == ["deadline_pause", "clock_restarted", "deadline_extend"]
    assert paused_working_days_of(procedure, case) == 3

    # Resolved Mon 14 Sep: 11 working days from Thu 27 Aug (Fri 28; Mon 31 is a bank holiday; 1-4, 7-11, 14 Sep),
    # 3 of them paused: the report counts 8 working days taken and shows the 3 paused apart.
    resolved_at = utc(2026, 9, 14, 10)
    resolve(procedure, Escalation.get_by_id(case.id), factories.acting(case, "resolve"), "Agreed.", now=resolved_at)
    figures = build_report(procedure, quarter_of(resolved_at.date()), resolved_at).current
    assert (figures.resolved, figures.pauses, figures.paused_days, figures.extensions) == (1, 1, 3, 1)
    assert figures.days_by_stage[0] == [8]


def test_the_business_manager_restarts_a_pause_early_and_only_they_may_pause(smtp_app, world, client):
    case, raiser, manager = world
    procedure = registry.of_case(case)
    with time_machine.travel(utc(2026, 8, 28, 10), tick=False):
        with pytest.raises(Exception, match="Only the Business Manager"):
            pause(procedure, case, Actor.of(raiser), dt.date(2026, 9, 3), "Leave")
        pause(procedure, case, Actor.of(manager), dt.date(2026, 9, 3), "A key person is on leave.")
    with time_machine.travel(utc(2026, 9, 1, 10), tick=False):
        restart(procedure, Escalation.get_by_id(case.id), Actor.of(manager))
    # Paused Fri 28 Aug only (restarted Tue 1 Sep): 1 working day; Fri 4 Sep + 1 = Mon 7 Sep.
    case = Escalation.get_by_id(case.id)
    assert case.due_at == utc(2026, 9, 7, 16)
    assert ("restart", utc(2026, 9, 3, 8)) not in pending(case)
    assert paused_working_days_of(procedure, case) == 1
    assert Event.get((Event.escalation == case) & (Event.kind == "clock_restarted")).text.startswith(
        "Clock restarted early"
    )
    # The raiser is refused the Business Manager's pages (sent back with the reason); a stranger gets 404.
    with time_machine.travel(utc(2026, 9, 1, 11), tick=False):
        with smtp_app.app_context():
            sign_in(client, raiser)
        with smtp_app.app_context():
            assert client.get(f"/cases/{case.reference}/deadline/extend").status_code == 302
        stranger = factories.user(agency_=raiser.agency)
        other = smtp_app.test_client()
        with smtp_app.app_context():
            sign_in(other, stranger)
        with smtp_app.app_context():
            assert other.get(f"/cases/{case.reference}/deadline/earlier").status_code == 404


def test_a_pause_running_when_its_stage_ends_ends_with_it(smtp_app, world):
    """Paused on Fri 28 Aug until Thu 3 Sep, the stage resolved on Tue 1 Sep at 11:00Z: the pause ends then, so
    the report counts one paused working day (Fri 28; Mon 31 is the bank holiday), not the four to Thu 3 Sep."""
    case, raiser, manager = world
    procedure = registry.of_case(case)
    with time_machine.travel(utc(2026, 8, 28, 10), tick=False):
        pause(procedure, case, Actor.of(manager), dt.date(2026, 9, 3), "A key person is on leave.")
    resolved_at = utc(2026, 9, 1, 11)
    with time_machine.travel(resolved_at, tick=False):
        resolve(procedure, Escalation.get_by_id(case.id), Actor.of(raiser), "Agreed a plan at the strategy meeting.")
    row = DeadlineChange.get((DeadlineChange.escalation == case.id) & (DeadlineChange.kind == "pause"))
    assert row.ended_at == resolved_at
    assert paused_working_days_of(procedure, Escalation.get_by_id(case.id)) == 1
    assert ("restart", utc(2026, 9, 3, 8)) not in pending(case)
