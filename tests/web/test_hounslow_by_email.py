"""A Hounslow case run by email: every reminder and overdue notice arrive at a real SMTP server at the instant the
procedure gives, once, in working hours; the links in the mail are followed with the test client.

Worked by hand from portal/procedures/hounslow.toml (reminders "24 hours", "2 working days", "5 working
days"; stage 1 "5 working days") and the rules of docs/deadlines.md. Raised Thu 27 Aug 2026, 10:00 BST (09:00Z), before
the Late Summer bank holiday, Mon 31 Aug 2026, and a weekend. Close of business 17:00 BST = 16:00Z.
- Start's working day: Thu 27 Aug. 5 working days on: Fri 28 (1), [Sat 29, Sun 30, Mon 31 bank holiday],
  Tue 1 Sep (2), Wed 2 (3), Thu 3 (4), Fri 4 Sep (5): due Fri 4 Sep 16:00Z.
- "24 hours": Fri 28 Aug 09:00Z, a working day: that instant.
- "2 working days": Tue 1 Sep 16:00Z.
- "5 working days": Fri 4 Sep 16:00Z, not before the deadline: dropped (the deadline is the last alert).
- After the deadline the overdue notice repeats at 09:00 BST (08:00Z) each working day: the first repeat is Mon 7
  Sep; stage 2's escalate_within, "24 hours" from the deadline, is Sat 5 Sep 16:00Z, not a working day, so close
  of business Mon 7 Sep (16:00Z).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from portal import links, reminders
from portal.models import Escalation, Outbox
from portal.procedure import resolve_procedure
from tasks.mail import send_outbox
from tests import factories

RAISED = dt.datetime(2026, 8, 27, 9, 0, tzinfo=dt.UTC)
FIRST_REMINDER = dt.datetime(2026, 8, 28, 9, 0, tzinfo=dt.UTC)
SECOND_REMINDER = dt.datetime(2026, 9, 1, 16, 0, tzinfo=dt.UTC)
DEADLINE = dt.datetime(2026, 9, 4, 16, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
LINK = re.compile(r"(?:Resolve|Escalate): http://localhost:5000(/a/[A-Za-z0-9_-]+)")


@pytest.fixture
def hounslow_case(smtp_app):
    with time_machine.travel(RAISED, tick=False):
        raiser, ours, theirs = factories.world()
        links.init_secret(smtp_app.config["SECRET_KEY"])
        case = factories.escalation(raiser, theirs, RAISED, resolve_procedure("hounslow"))
    return case, raiser


def deliver(moment: dt.datetime) -> None:
    """What the consumer does at `moment`: the reminder sweep, then every email due."""
    with time_machine.travel(moment, tick=False):
        reminders.sweep(moment)
        for row in Outbox.select().where(Outbox.status == "pending"):
            send_outbox.call_local(row.id)


def received(smtp_server, since: int) -> list[tuple[str, str]]:
    return sorted(
        (m["To"].addresses[0].addr_spec, " ".join(str(m["Subject"]).split()).split(":")[0])
        for m in smtp_server.messages[since:]
    )


def test_every_alert_arrives_at_its_instant_once_and_the_links_work(smtp_server, smtp_app, hounslow_case):
    case, raiser = hounslow_case
    assert case.due_at == DEADLINE
    deliver(RAISED)
    first = received(smtp_server, 0)
    assert ("pat.counter@police.example", "Action needed") in first and (raiser.email, "Action needed") in first
    seen = len(smtp_server.messages)

    # A mail scanner opens every link in the first emails: nothing changes.
    client = smtp_app.test_client()
    with time_machine.travel(RAISED + dt.timedelta(hours=1), tick=False):
        for message in smtp_server.messages:
            for path in LINK.findall(message.get_body(("plain",)).get_content()):
                assert client.get(path).status_code == 200
    assert Escalation.get_by_id(case.id).version == case.version

    for moment in (FIRST_REMINDER, SECOND_REMINDER):
        deliver(moment - SECOND)
        assert len(smtp_server.messages) == seen, f"something was sent before {moment}"
        deliver(moment)
        new = received(smtp_server, seen)
        assert [who for who, _ in new] == sorted([raiser.email, "pat.counter@police.example"]), moment
        assert all(subject.startswith("Reminder") for _, subject in new), new
        seen = len(smtp_server.messages)
        deliver(moment)  # the sweep again at the same instant: nothing twice
        assert len(smtp_server.messages) == seen

    deliver(DEADLINE - SECOND)
    assert len(smtp_server.messages) == seen
    deliver(DEADLINE)
    overdue = received(smtp_server, seen)
    recipients = {who for who, _ in overdue}
    assert recipients == {raiser.email, "pat.counter@police.example", "business_manager.3@agency.example"}
    assert all(subject == "Deadline missed" for _, subject in overdue), overdue
    seen = len(smtp_server.messages)
    for moment in (DEADLINE + dt.timedelta(hours=4), DEADLINE + dt.timedelta(hours=17) - SECOND):
        deliver(moment)  # nothing at night, nor on Saturday morning
    assert len(smtp_server.messages) == seen
    assert len(set(smtp_server.by_message_id())) == len(smtp_server.messages)

    # The counterpart escalates from the link in their email, the day after the deadline (Saturday 10:00 BST).
    to_counterpart = [m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == "pat.counter@police.example"]
    escalate = next(
        path
        for path in LINK.findall(to_counterpart[-1].get_body(("plain",)).get_content())
        if links.find_link(path.removeprefix("/a/"), now=DEADLINE).action == "escalate"
    )
    # A fresh app context, as each real request has (the fixture's would keep `g`, and its CSRF token, from August).
    with smtp_app.app_context(), time_machine.travel(DEADLINE + dt.timedelta(hours=17), tick=False):
        page = client.get(escalate).get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        # Not a secure address: the page asks for the address the link was sent to before it shows the case.
        confirmed = client.post(f"{escalate}/address", data={"csrf_token": csrf, "email": "pat.counter@police.example"})
        assert confirmed.status_code == 302
        page = client.get(escalate).get_data(as_text=True)
        contacts = re.findall(r'name="contacts" type="checkbox" value="([^"]+)" checked', page)
        data = {"csrf_token": csrf, "reason": "No assessment has started.", "contacts": contacts}
        assert client.post(escalate, data=data).status_code == 302
        assert client.post(escalate, data=data).status_code == 410
    moved = Escalation.get_by_id(case.id)
    assert moved.stage_index == 1 and moved.version == case.version + 1
    deliver(DEADLINE + dt.timedelta(hours=17))
    line_managers = {who for who, subject in received(smtp_server, seen) if subject == "Action needed"}
    assert line_managers == {
        f"line_manager.{a}@agency.example" for a in (case.raiser_agency_id, case.counterpart_agency_id)
    }
    # Escalating stopped stage 1's notices: nothing at Mon 7 Sep 08:00Z (the first repeat) or 16:00Z (the watch)
    # but stage 2's first reminder ("24 hours" from Sat 09:00Z is a Sunday: Monday's close), to the line managers.
    seen = len(smtp_server.messages)
    deliver(dt.datetime(2026, 9, 7, 8, 0, tzinfo=dt.UTC))
    assert len(smtp_server.messages) == seen
    deliver(dt.datetime(2026, 9, 7, 16, 0, tzinfo=dt.UTC))
    assert {subject for _, subject in received(smtp_server, seen)} == {"Reminder"}
    assert {who for who, _ in received(smtp_server, seen)} == line_managers


# --- Left alone for 15 working days over Christmas and New Year ---------------------------------------------------
#
# Raised Tue 15 Dec 2026 at 20:00 GMT (London == UTC all winter), after close of business: the start's working day is
# Wed 16 Dec. England's bank holidays: Fri 25 Dec, Mon 28 Dec (Boxing Day observed), Fri 1 Jan 2027.
# - Deadline, 5 working days: Thu 17 (1), Fri 18 (2), Mon 21 (3), Tue 22 (4), Wed 23 Dec (5) -> Wed 23 Dec 17:00.
# - "24 hours": Wed 16 Dec 20:00, a working day (the instant stands) but after close: Thu 17 Dec 09:00.
# - "2 working days": Thu 17 (1), Fri 18 (2) -> Fri 18 Dec 17:00.
# - "5 working days": Wed 23 Dec 17:00, the deadline itself: dropped.
# - Wed 23 Dec 17:00, the first overdue notice ("Deadline missed"): the parties (the raiser and the counterpart)
#   and the Business Manager.
# - Then every working day at 09:00 ("Still overdue"): the parties, the Business Manager and stage 2's line managers.
#   Thu 24 Dec; [Fri 25 Christmas, Sat 26, Sun 27, Mon 28 Boxing Day observed]; Tue 29, Wed 30, Thu 31 Dec;
#   [Fri 1 Jan, Sat 2, Sun 3]; Mon 4, Tue 5, Wed 6, Thu 7, Fri 8 Jan.
# - Stage 2's escalate_within, "24 hours" from the deadline: Thu 24 Dec 17:00, a working day at close of business:
#   "Not escalated in time" to those who may escalate stage 1 (the raiser and its parties) and the Business Manager.
# Working days from the raise: Wed 16 Dec (1) ... Wed 23 (6), Thu 24 (7), Tue 29 (8), Wed 30 (9), Thu 31 (10),
# Mon 4 Jan (11), Tue 5 (12), Wed 6 (13), Thu 7 (14), Fri 8 Jan (15): the consumer runs to the end of Fri 8 Jan.
DECEMBER = dt.datetime(2026, 12, 15, 20, 0, tzinfo=dt.UTC)
END_OF_DAY_15 = dt.datetime(2027, 1, 9, 0, 0, tzinfo=dt.UTC)
TICK = dt.timedelta(minutes=15)  # the consumer sweeps every minute; every 15 is enough to see when mail goes
REPEAT_MORNINGS = [(12, 24), (12, 29), (12, 30), (12, 31), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8)]


def utc(month: int, day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026 if month == 12 else 2027, month, day, hour, 0, tzinfo=dt.UTC)


@pytest.fixture
def december_case(smtp_app):
    with time_machine.travel(DECEMBER, tick=False):
        raiser, ours, theirs = factories.world()
        links.init_secret(smtp_app.config["SECRET_KEY"])
        case = factories.escalation(raiser, theirs, DECEMBER, resolve_procedure("hounslow"))
    return case, raiser


def run_consumer(smtp_server, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, str, str]]:
    """Deliver at every tick from `start` up to `end`: (when, to, subject) for each message received."""
    arrived = []
    moment = start
    while moment < end:
        seen = len(smtp_server.messages)
        deliver(moment)
        arrived += [(moment, who, subject) for who, subject in received(smtp_server, seen)]
        moment += TICK
    return arrived


def test_a_case_left_alone_for_15_working_days_is_chased_every_working_morning(smtp_server, smtp_app, december_case):
    case, raiser = december_case
    assert case.due_at == utc(12, 23, 17)
    deliver(DECEMBER)  # "Action needed" and the Business Manager's notice, sent by the raise itself
    raised = len(smtp_server.messages)

    arrived = run_consumer(smtp_server, DECEMBER + TICK, END_OF_DAY_15)

    parties = [raiser.email, "pat.counter@police.example"]
    bm = "business_manager.3@agency.example"
    line_managers = [f"line_manager.{a}@agency.example" for a in (case.raiser_agency_id, case.counterpart_agency_id)]
    expected = [(utc(12, 17, 9), who, "Reminder") for who in parties]
    expected += [(utc(12, 18, 17), who, "Reminder") for who in parties]
    expected += [(utc(12, 23, 17), who, "Deadline missed") for who in [*parties, bm]]
    for month, day in REPEAT_MORNINGS:
        expected += [(utc(month, day, 9), who, "Still overdue") for who in [*parties, bm, *line_managers]]
    expected += [(utc(12, 24, 17), who, "Not escalated in time") for who in [*parties, bm]]
    assert sorted(arrived) == sorted(expected)
    # Once each (no Message-ID twice), and every one on a working day between 09:00 and 17:00.
    assert len(smtp_server.by_message_id()) == len(smtp_server.messages)
    for when, who, subject in arrived:
        assert when.weekday() < 5 and dt.time(9) <= when.time() <= dt.time(17), (when, who, subject)
        assert when.date() not in {dt.date(2026, 12, 25), dt.date(2026, 12, 28), dt.date(2027, 1, 1)}
    # The notices name the deadline and their number; a next-stage line manager is told why they have it.
    to_line_manager = next(
        m
        for m in reversed(smtp_server.messages[raised:])
        if m["To"].addresses[0].addr_spec == line_managers[0] and str(m["Subject"]).startswith("Still overdue")
    )
    text = to_line_manager.get_body(("plain",)).get_content()
    assert "Wednesday 23 December 2026, 5:00pm" in text and "overdue notice 10" in text
    assert "Stage 2: Involving the Line Manager, the next stage" in text

    # Day 16, Mon 11 Jan 09:30: the counterpart escalates from the link in their latest notice. The links were
    # issued to expire 72 hours after the deadline (Sat 26 Dec); each notice kept them working until 72 hours
    # after the next one.
    to_counterpart = [m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == parties[1]]
    escalate = next(
        path
        for path in LINK.findall(to_counterpart[-1].get_body(("plain",)).get_content())
        if links.find_link(path.removeprefix("/a/"), now=utc(1, 11, 9)).action == "escalate"
    )
    client = smtp_app.test_client()
    arrived = run_consumer(smtp_server, END_OF_DAY_15, utc(1, 11, 9) + TICK)
    assert sorted(arrived) == sorted((utc(1, 11, 9), who, "Still overdue") for who in [*parties, bm, *line_managers])
    with smtp_app.app_context(), time_machine.travel(utc(1, 11, 9) + dt.timedelta(minutes=30), tick=False):
        page = client.get(escalate).get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        # Not a secure address: the page asks for the address the link was sent to before it shows the case.
        confirmed = client.post(f"{escalate}/address", data={"csrf_token": csrf, "email": "pat.counter@police.example"})
        assert confirmed.status_code == 302
        page = client.get(escalate).get_data(as_text=True)
        contacts = re.findall(r'name="contacts" type="checkbox" value="([^"]+)" checked', page)
        data = {"csrf_token": csrf, "reason": "Three weeks without an answer.", "contacts": contacts}
        assert client.post(escalate, data=data).status_code == 302
    assert Escalation.get_by_id(case.id).stage_index == 1
    # Acting stopped stage 1's notices: the rest of the week brings only stage 2's own mail. Hounslow's flowchart
    # window for stage 2 (`by = "10 working days"` from the raise) ended on Wed 30 Dec, so stage 2 is due the moment
    # it starts: Monday 09:30 "Action needed" and at once "Deadline missed" (no reminder comes before it); the first
    # repeat at the next working morning, Tue 12 Jan 09:00, also to stage 3's safeguarding leads; and the
    # escalation watch for stage 3 ("24 hours" after the deadline) Tue 12 Jan 09:30.
    arrived = run_consumer(smtp_server, utc(1, 11, 9) + dt.timedelta(minutes=30), utc(1, 13, 0))
    monday, tuesday = utc(1, 11, 9) + dt.timedelta(minutes=30), utc(1, 12, 9)
    leads = [f"safeguarding_lead.{a}@agency.example" for a in (case.raiser_agency_id, case.counterpart_agency_id)]
    assert sorted(arrived) == sorted(
        [(monday, who, "Action needed") for who in line_managers]
        + [(monday, who, "Escalated") for who in [raiser.email, bm]]
        + [(monday, who, "Deadline missed") for who in [*line_managers, raiser.email, bm]]
        + [(tuesday, who, "Still overdue") for who in [*line_managers, bm, *leads]]
        + [(tuesday + dt.timedelta(minutes=30), who, "Not escalated in time") for who in [*line_managers, bm]]
    )
