"""Refused actions are refused everywhere, with the reason: on the case page, on POST and through emailed links."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from portal import links
from portal.case_actions import Actor
from portal.db import database
from portal.models import ActionLink, Contact, Escalation, Event, Outbox, StageRecord
from portal.registry import registry
from portal.workflow import escalate, raise_escalation, resolve
from tests import factories
from tests.conftest import TEST_PROCEDURE
from tests.web.conftest import confirm, sign_in, token

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
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
    confirm(client, path, "pat.counter@police.example")
    page = client.get(path)
    reason = "The final decision is made at Stage 3: The partnership, not at Stage 1: Practitioners."
    assert page.status_code == 409 and reason in page.get_data(as_text=True)
    posted = client.post(path, data={"csrf_token": token(client, path), "decision": "Closed by me."})
    assert posted.status_code == 409 and "Closed by me." in posted.get_data(as_text=True)
    with app.app_context(), database.connection_context():
        assert fresh(case).status == "open"
        assert not Event.select().where((Event.escalation == case.id) & (Event.kind == "decided")).exists()


def test_an_administrator_does_not_act_on_cases(app, people, case):
    from portal.case_actions import answers

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


def test_the_other_side_says_through_its_link_that_it_is_not_resolved(app, client, people, case, clock):
    with app.app_context(), database.connection_context():
        resolve(factories.procedure(), fresh(case), Actor(email="pat.counter@police.example"), "Visit on Friday.")
        contest_link = ActionLink.get((ActionLink.escalation == case.id) & (ActionLink.action == "contest"))
        assert contest_link.recipient_email == people["raiser"].email
        path = f"/a/{links.token_of(contest_link)}"
    page = client.get(path).get_data(as_text=True)
    assert "Confirm your email address" in page and "Visit on Friday." not in page  # the raiser's is not secure
    confirm(client, path, people["raiser"].email)
    page = client.get(path).get_data(as_text=True)
    assert "Say it is not resolved" in page and "Visit on Friday." in page
    posted = client.post(path, data={"csrf_token": token(client, path), "reason": "Nobody has booked the visit."})
    assert posted.status_code == 302
    assert "Escalation reopened" in client.get(posted.headers["Location"]).get_data(as_text=True)
    reopened = fresh(case)
    assert (reopened.status, reopened.stage_index) == ("open", 1)


def test_only_the_childs_own_iro_and_the_involved_agencies_hear_of_the_case(app, people):
    """Four IROs and three agencies in the directory: mail goes to the IRO the raiser named and to the contacts of
    the two agencies involved and the partnership, nobody else."""
    with app.app_context(), database.connection_context():
        bystander = factories.agency(
            "Hollyfield Primary School", "education", roles=("line_manager", "head_of_service")
        )
        for n, agency in enumerate((people["ours"], people["theirs"], bystander, people["ours"]), start=1):
            Contact.create(agency=agency, role="cp_chair_or_iro", name=f"IRO {n}", email=f"iro{n}@agency.example")
        case = factories.escalation(
            people["raiser"],
            people["theirs"],
            START,
            child_on_plan=True,
            child_chair_name="IRO 2",
            child_chair_email="iro2@agency.example",
        )
        escalate(factories.procedure(), case, Actor.of(people["raiser"]), "No agreement.", now=START)
        told = {row.recipient_email for row in Outbox.select().where(Outbox.escalation == case.id)}
        notices = {r.recipient_email for r in Outbox.select().where(Outbox.purpose == "stage_notice")}
    assert notices == {"iro2@agency.example"}
    assert not {"iro1@agency.example", "iro3@agency.example", "iro4@agency.example"} & told
    involved = {people["ours"].id, people["theirs"].id}
    with app.app_context(), database.connection_context():
        for contact in Contact.select().where(Contact.email.in_(list(told))):
            assert (
                contact.agency_id in involved
                or contact.agency.kind == "partnership"
                or contact.email == ("iro2@agency.example")
            ), contact.email


def test_anyone_who_can_open_the_case_flags_a_specific_circumstance_and_it_goes_to_the_last_stage(
    app, client, people, case
):
    sign_in(client, people["counterpart"])
    url = f"/cases/{case.reference}/flag"
    assert "Flag a specific circumstance" in client.get(f"/cases/{case.reference}").get_data(as_text=True)
    done = client.post(
        url,
        data={
            "csrf_token": token(client, url),
            "circumstance": "media_attention",
            "reason": "A reporter phoned today.",
        },
    )
    assert done.status_code == 302
    with app.app_context(), database.connection_context():
        flagged = fresh(case)
        assert (flagged.stage_index, flagged.specific_circumstance) == (2, "media_attention")
        dcs, bm = (Contact.get(Contact.role == role).email for role in ("dcs", "business_manager"))
        urgent = Outbox.select().where((Outbox.escalation == case.id) & (Outbox.purpose == "specific_circumstance"))
        assert {row.recipient_email for row in urgent} == {dcs, bm}
        assert {row.context["stage_index"] for row in urgent} == {2}
        stage_one = StageRecord.get((StageRecord.escalation == case.id) & (StageRecord.stage_index == 0))
        assert stage_one.ending == "bypassed"
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"dcs of The Partnership ({dcs})" in page and "been emailed to act on it now" in page
    assert "Flag a specific circumstance" not in page  # once is enough


def test_a_procedure_that_names_nobody_to_tell_never_says_anyone_was_told(app, client, people, tmp_path):
    bare = tmp_path / "bare.toml"
    text = Path(TEST_PROCEDURE).read_text(encoding="utf-8")
    text = text.replace('imminent_risk_notify = ["raiser.safeguarding_lead"]\n', "")
    text = text.replace('[specific_circumstances]\nnotify = ["dcs", "partnership.business_manager"]\n', "")
    bare.write_text(text)
    app.config["PROCEDURE"] = str(bare)
    registry.configure(str(bare))
    with app.app_context(), database.connection_context():
        case = raise_escalation(
            registry.current(),
            people["raiser"],
            factories.details(counterpart_agency_id=people["theirs"].id, imminent_risk=True),
            now=START,
        )
    sign_in(client, people["raiser"])
    for path in (f"/raise/done/{case.reference}", f"/cases/{case.reference}"):
        page = client.get(path).get_data(as_text=True)
        assert "names nobody to tell" in page, path
        assert "been emailed and can act" not in page and "were emailed to act" not in page, path


def test_with_imminent_risk_the_raisers_safeguarding_lead_acts_at_stage_one_through_their_link(app, client, people):
    with app.app_context(), database.connection_context():
        case = factories.escalation(people["raiser"], people["theirs"], START, imminent_risk=True)
        lead = Contact.get((Contact.agency == people["ours"].id) & (Contact.role == "safeguarding_lead"))
        told = Outbox.get((Outbox.escalation == case.id) & (Outbox.recipient_email == lead.email))
        assert told.purpose == "imminent_risk"  # one urgent email, carrying the links
        link = ActionLink.get(
            (ActionLink.escalation == case.id)
            & (ActionLink.recipient_email == lead.email)
            & (ActionLink.action == "resolve")
        )
        path = f"/a/{links.token_of(link)}"
    confirm(client, path, lead.email)
    page = client.get(path)
    assert page.status_code == 200
    data = {
        "csrf_token": token(client, path),
        "statement": "Agreed with the police today: a visit at 4pm.",
        "learning": "no",
    }
    assert client.post(path, data=data).status_code == 302
    resolved = fresh(case)
    assert (resolved.status, resolved.outcome) == ("resolved", "Agreed with the police today: a visit at 4pm.")


def test_procedure_check_warns_when_nobody_is_named_to_tell(runner, tmp_path):
    bare = tmp_path / "bare.toml"
    text = Path(TEST_PROCEDURE).read_text(encoding="utf-8")
    bare.write_text(text.replace('imminent_risk_notify = ["raiser.safeguarding_lead"]\n', ""))
    result = runner.invoke(args=["procedure", "check", str(bare)])
    assert result.exit_code == 0
    assert "warning: imminent_risk_notify names nobody" in result.output
    assert "specific_circumstances notify names nobody" not in result.output
