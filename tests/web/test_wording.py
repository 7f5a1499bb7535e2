"""What each reader is told: the procedure page under every procedure, a deadline minutes away, every email."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine

from portal import mail, workflow
from portal.db import database
from portal.models import Escalation, Outbox
from portal.procedure import preset_ids, resolve_procedure
from portal.registry import registry
from portal.routing import Recipient
from portal.views.display import stage_limits, timing_rules
from portal.workflow import Actor
from tests import factories
from tests.web.conftest import normalize_spaces
from tests.web.test_raise import answer_all, sign_in, submit

MIXED = str(Path(__file__).parent.parent / "data" / "mixed_units.toml")
TUESDAY = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # GMT: London time is UTC
NEAR = "The deadline is less than two working hours away"
PHONE = "Phone the other practitioner and your manager now"


@pytest.mark.parametrize("configured", [*preset_ids(), MIXED])
def test_the_procedure_page_reads_right_under_every_procedure(client, configured):
    registry.configure(configured)
    procedure = resolve_procedure(configured)
    page = normalize_spaces(client.get("/").get_data(as_text=True))
    assert "deadline in working days" not in page
    assert not re.search(r"escalated \d", page) and "(escalate within" not in page
    assert " ".join(timing_rules(procedure)).replace("'", "&#39;") in page
    for stage in procedure.stages:
        assert stage_limits(procedure, stage) in page
    if procedure.imminent_risk:
        assert re.search(r"must be escalated (within \d+ \w+|on the same working day)", page)


def raise_at(client, people, when: dt.datetime, imminent: str) -> tuple[str, str]:
    with time_machine.travel(when, tick=False):
        sign_in(client, people["raiser"])
        path = answer_all(client, people, risk={"imminent_risk": imminent})
        check = normalize_spaces(client.get(path).get_data(as_text=True))
        response, _ = submit(client, path)
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
        done = normalize_spaces(client.get(response.headers["Location"]).get_data(as_text=True))
    return check, done


def test_an_imminent_risk_case_raised_at_1650_says_to_phone_now(client, people):
    check, done = raise_at(client, people, TUESDAY.replace(hour=16, minute=50), "yes")
    for page in (check, done):
        assert NEAR in page and "5:00pm" in page and PHONE in page


def test_a_deadline_hours_away_carries_no_such_warning(client, people):
    check, done = raise_at(client, people, TUESDAY.replace(hour=10), "yes")
    for page in (check, done):
        assert NEAR not in page and PHONE not in page


# A reader of each kind: how the outbox row says why they are told.
READERS = {
    "raiser": {"told_as": "raiser"},
    "party": {"told_as": "party"},
    "business_manager": {"told_as": "business_manager"},
    "notify role": {"role": "cp_chair_or_iro"},
}


def texts(app, case: Escalation, purpose: str, reader: str, secure: bool = False) -> tuple[str, str]:
    extra = {"stage_index": case.stage_index, **READERS[reader]}
    if purpose in ("reminder", "overdue", "still_overdue", "not_escalated"):
        extra |= {"kind": "reminder" if purpose == "reminder" else "deadline", "due": "2026-12-08T17:00:00+00:00"}
    if purpose in ("copy", "copy_overdue", "document"):
        extra["document"] = "escalation_notice"
    key = f"every/{purpose}/{reader}/{secure}"
    email = "bm@secure.example" if secure else f"{reader.replace(' ', '.')}@agency.example"
    mail.queue_email(case, purpose, Recipient(reader, "Robin Reader", email, secure), key, extra)
    message = mail.build_message(Outbox.get(Outbox.idempotency_key == key), app)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, normalize_spaces(re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("purpose", sorted(mail.SUBJECTS))
@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_email_reads_right_for_its_reader(app, people, purpose, reader):
    with app.app_context():
        case = factories.escalation(people["raiser"], people["theirs"], TUESDAY.replace(hour=10))
        for body in texts(app, case, purpose, reader):
            asked = re.sub(r"\d:\d\d", "", re.search(r"What we ask of you:(.*)", body).group(1))
            assert ":" not in asked.split(". ")[0], asked  # one colon, not "nothing yet: it is ..."
            assert "None" not in body and "within within" not in body and not re.search(r"escalated \d", body)
            assert "Dear Robin Reader," in body and case.reference in body
            if reader == "business_manager":
                assert "Business Manager has been told" not in body


def test_the_escalated_email_says_who_escalated_and_why_where_it_may(app, people):
    reason = "The strategy discussion never happened."
    with app.app_context():
        case = factories.escalation(people["raiser"], people["theirs"], TUESDAY.replace(hour=10))
        escalator = people["raiser"]
        workflow.escalate(factories.procedure(), case, Actor.of(escalator), reason, now=TUESDAY.replace(hour=11))
        case = Escalation.get_by_id(case.id)
        with database.atomic():
            row = Outbox.get((Outbox.escalation == case) & (Outbox.purpose == "escalated"))
        plain = mail.build_message(row, app).get_body(("plain",)).get_content()
        secure_text, secure_html = texts(app, case, "escalated", "business_manager", secure=True)
    assert f"{escalator.name} escalated it." in plain
    assert reason not in plain and "Their reason is on the case page in the portal" in plain
    for body in (secure_text, secure_html):
        assert f"{escalator.name} escalated it." in body and f"Their reason: {reason}" in body
