"""A Hounslow case run by email: every reminder and the overdue notice arrive at a real SMTP server at the
instant the procedure gives, once; the links in the mail are followed with the test client.

Worked by hand from portal/procedures/hounslow.toml (reminders "24 hours", "2 working days", "5 working
days"; stage 1 "5 working days") and the rules of docs/deadlines.md. Raised Thu 27 Aug 2026, 10:00 BST (09:00Z), before
the Late Summer bank holiday, Mon 31 Aug 2026, and a weekend. Close of business 17:00 BST = 16:00Z.
- Start's working day: Thu 27 Aug. 5 working days on: Fri 28 (1), [Sat 29, Sun 30, Mon 31 bank holiday],
  Tue 1 Sep (2), Wed 2 (3), Thu 3 (4), Fri 4 Sep (5): due Fri 4 Sep 16:00Z.
- "24 hours": Fri 28 Aug 09:00Z, a working day: that instant.
- "2 working days": Tue 1 Sep 16:00Z.
- "5 working days": Fri 4 Sep 16:00Z, not before the deadline: dropped (the deadline is the last alert).
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
    deliver(DEADLINE + dt.timedelta(days=3))  # nothing more for this stage, ever
    assert len(smtp_server.messages) == seen
    assert len(set(smtp_server.by_message_id())) == len(smtp_server.messages)

    # The counterpart escalates from the link in their email, the day after the deadline.
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
