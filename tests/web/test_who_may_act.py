"""Refused actions are refused everywhere, with the reason: on the case page, on POST and through emailed links."""

from __future__ import annotations

import re

from portal import links
from portal.db import database
from portal.models import Contact, Escalation, Event, StageRecord
from tests import factories
from tests.conftest import TEST_PROCEDURE
from tests.web.conftest import sign_in, token

NOT_NAMED = "Only the people named for Stage 1: Practitioners can mark it as resolved."


def fresh(case) -> Escalation:
    with database.connection_context():
        return Escalation.get_by_id(case.id)


def test_the_business_manager_sees_every_case_but_acts_only_where_named(client, people, case):
    sign_in(client, people["manager"])
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert case.reference in page and "Mark as resolved" not in page and "Escalate to" not in page
    refused = client.get(f"/cases/{case.reference}/resolve")
    assert refused.status_code == 302
    assert NOT_NAMED in client.get(refused.headers["Location"]).get_data(as_text=True)
    url = f"/cases/{case.reference}/resolve"
    posted = client.post(url, data={"csrf_token": token(client, "/cases/"), "statement": "Agreed by phone."})
    html = posted.get_data(as_text=True)
    assert posted.status_code == 409 and NOT_NAMED in html and "Agreed by phone." in html
    assert fresh(case).status == "open"


def test_the_raiser_escalates_stage_one_but_not_the_managers_stage(client, people, case):
    sign_in(client, people["raiser"])
    url = f"/cases/{case.reference}/escalate"
    contacts = re.findall(r'name="contacts" type="checkbox" value="([^"]+)"', client.get(url).get_data(as_text=True))
    sent = client.post(
        url, data={"csrf_token": token(client, url), "reason": "No reply in 5 days.", "contacts": contacts}
    )
    assert sent.status_code == 302 and fresh(case).stage_index == 1
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "Escalate to" not in page and "Mark as resolved" not in page
    assert "Add a record of a discussion" in page and "Withdraw the escalation" in page
    again = client.post(url, data={"csrf_token": token(client, "/cases/"), "reason": "Still nothing."})
    assert again.status_code == 409
    assert "At Stage 2: Line managers the escalation is made by" in again.get_data(as_text=True)
    assert fresh(case).stage_index == 1


def test_a_link_for_an_action_the_stage_does_not_allow_is_refused_with_the_reason(app, client, case):
    with app.app_context(), database.connection_context():
        due = StageRecord.get(StageRecord.escalation == case.id).due_at
        link = links.issue_link(fresh(case), 0, "pat.counter@police.example", "Pat Counter", "decide", due)
        path = f"/a/{links.token_of(link)}"
    page = client.get(path)
    reason = "The final decision is made at Stage 3: The partnership, not at Stage 1: Practitioners."
    assert page.status_code == 409 and reason in page.get_data(as_text=True)
    posted = client.post(path, data={"csrf_token": token(client, path), "decision": "Closed by me."})
    assert posted.status_code == 409 and "Closed by me." in posted.get_data(as_text=True)
    with app.app_context(), database.connection_context():
        assert fresh(case).status == "open"
        assert not Event.select().where((Event.escalation == case.id) & (Event.kind == "decided")).exists()


def test_an_administrator_does_not_act_on_cases(app, people, case):
    from portal.case_actions import Actor, answers

    with app.app_context(), database.connection_context():
        replies = answers(fresh(case), factories.procedure(), Actor.of(people["admin"]))
    assert not any(replies.values())
    assert {reply.reason for reply in replies.values()} == {
        "Administrators manage the portal; they do not act on cases."
    }


def test_procedure_check_warns_of_roles_the_directory_cannot_supply(app, runner, people):
    with app.app_context(), database.connection_context():
        Contact.delete().where(Contact.role == "dcs").execute()
        Contact.delete().where((Contact.agency == people["theirs"].id) & (Contact.role == "line_manager")).execute()
    result = runner.invoke(args=["procedure", "check", TEST_PROCEDURE])
    assert result.exit_code == 0
    assert "warning: directory: specific_circumstances notify: dcs: the partnership has no dcs" in result.output
    assert "stage 2 (line-managers): raiser.line_manager: no line_manager in the directory for Police" in result.output
    assert (
        "stage 2 (line-managers): counterpart.line_manager: no line_manager in the directory for Police"
        in result.output
    )
    assert "safeguarding_lead" not in result.output
