"""Acting on a case from its page: record, escalate, resolve, withdraw, decide."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.db import database
from portal.models import ActionLink, Contact, Escalation, Event, Outbox, StageParty, StageRecord
from portal.workflow import Actor, escalate, resolve
from tests import factories
from tests.web.conftest import sign_in, text_of_page, token


def act(client, case, action, **data):
    url = f"/cases/{case.reference}/{action}"
    return client.post(url, data={"csrf_token": token(client, url), **data})


def fresh(case) -> Escalation:
    with database.connection_context():
        return Escalation.get_by_id(case.id)


def escalate_twice(client, case) -> None:
    """The raiser escalates stage 1 from the page; a stage-2 line manager escalates stage 2 (from their link)."""
    contacts = re.findall(
        r'name="contacts" type="checkbox" value="([^"]+)"',
        client.get(f"/cases/{case.reference}/escalate").get_data(as_text=True),
    )
    assert act(client, case, "escalate", reason="Stage one did not resolve it.", contacts=contacts).status_code == 302
    assert client.get(f"/cases/{case.reference}/escalate").status_code == 302  # stage 2 is the managers' to escalate
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "At Stage 2: Line managers the escalation is made by the raising agency&#39;s line manager" in page
    with client.application.app_context(), database.connection_context():
        current = Escalation.get_by_id(case.id)
        escalate(factories.procedure(), current, factories.acting(current, "escalate"), "Stage two did not either.")


def test_action_pages_are_well_formed(client, people, case):
    sign_in(client, people["raiser"])
    for action in ("record", "resolve", "escalate", "withdraw"):
        response = client.get(f"/cases/{case.reference}/{action}")
        assert response.status_code == 200, action


def test_add_a_record_then_see_it_in_the_timeline(client, people, case):
    sign_in(client, people["counterpart"])
    response = act(client, case, "record", text="Spoke to Sam; we will meet on Thursday.")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your record was added." in page and "Spoke to Sam; we will meet on Thursday." in page


def test_a_record_too_short_to_be_a_record_is_refused(client, people, case):
    sign_in(client, people["raiser"])
    response = act(client, case, "record", text="ok")
    assert response.status_code == 400
    assert "Record of the discussion must be at least 10 characters" in response.get_data(as_text=True)
    with database.connection_context():
        assert not Event.select().where(Event.kind == "record").exists()


def test_escalate_to_directory_contacts_only_when_the_directory_has_everyone(client, people, case):
    sign_in(client, people["raiser"])
    form = client.get(f"/cases/{case.reference}/escalate").get_data(as_text=True)
    ticked = re.findall(r'name="contacts" type="checkbox" value="([^"]+)" checked', form)
    assert len(ticked) == 2  # both agencies' line managers, pre-ticked from the directory
    assert 'name="other_email"' not in form
    response = act(
        client,
        case,
        "escalate",
        reason="No strategy discussion by the deadline.",
        contacts=ticked[:1],
        other_name="Someone Outside",
        other_email="someone@outside.example",  # no field for it: never a party
    )
    assert response.status_code == 302
    with database.connection_context():
        stage = StageRecord.get(StageRecord.escalation == case.id, StageRecord.stage_index == 1)
        emails = {p.email for p in StageParty.select().where(StageParty.stage == stage)}
    assert emails == {ticked[0].split("|")[1]}


def test_a_role_missing_from_the_directory_may_be_typed_in_and_is_marked_and_told(app, client, people, case):
    with app.app_context(), database.connection_context():
        Contact.delete().where((Contact.agency == people["theirs"].id) & (Contact.role == "line_manager")).execute()
    sign_in(client, people["raiser"])
    form = client.get(f"/cases/{case.reference}/escalate").get_data(as_text=True)
    assert "Name of the other agency&#39;s line manager (not in the directory)" in form
    ticked = re.findall(r'name="contacts" type="checkbox" value="([^"]+)" checked', form)
    response = act(
        client,
        case,
        "escalate",
        reason="No strategy discussion by the deadline.",
        contacts=ticked,
        other_name="Sgt Lee",
        other_email="Sgt.Lee@Police.example",
    )
    assert response.status_code == 302
    with app.app_context(), database.connection_context():
        stage = StageRecord.get(StageRecord.escalation == case.id, StageRecord.stage_index == 1)
        typed = StageParty.get((StageParty.stage == stage) & (StageParty.email == "sgt.lee@police.example"))
        assert (typed.party, typed.verified) == ("counterpart.line_manager", False)
        manager = Contact.get(Contact.role == "business_manager").email
        told = Outbox.get(
            (Outbox.escalation == case.id) & (Outbox.purpose == "escalated") & (Outbox.recipient_email == manager)
        )
        assert told.context["unverified"] == ["Sgt Lee (sgt.lee@police.example)"]
    page = text_of_page(client.get(f"/cases/{case.reference}").get_data(as_text=True))
    assert "Sgt Lee (sgt.lee@police.example, typed in: not from the directory)" in page


def test_escalate_needs_a_reason_and_someone_to_act(client, people, case):
    sign_in(client, people["raiser"])
    response = act(client, case, "escalate", reason="")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter the reason for escalating" in html
    assert "Select who should act at the next stage" in html
    assert fresh(case).stage_index == 0


def test_resolve_with_an_agreed_outcome(client, people, case):
    sign_in(client, people["counterpart"])
    missing = act(client, case, "resolve", statement="", learning="yes")
    assert "Enter the agreed outcome" in missing.get_data(as_text=True)
    assert "Enter what the partnership should consider" in missing.get_data(as_text=True)
    done = act(client, case, "resolve", statement="Assessment starts on Friday.", learning="no")
    assert done.status_code == 302
    case = fresh(case)
    assert (case.status, case.outcome) == ("resolved", "Assessment starts on Friday.")
    # Nothing more can be done: the action page sends them back to the case, saying why.
    gone = client.get(f"/cases/{case.reference}/resolve")
    assert gone.status_code == 302 and gone.headers["Location"] == f"/cases/{case.reference}"
    assert f"{case.reference} is resolved: nothing more can be done on it." in client.get(
        gone.headers["Location"]
    ).get_data(as_text=True)


def test_withdraw_by_the_raiser(client, people, case):
    sign_in(client, people["raiser"])
    assert act(client, case, "withdraw", reason="The family moved out of the area.").status_code == 302
    assert fresh(case).status == "withdrawn"


def test_the_final_decision_belongs_to_the_last_stage(client, people, case):
    sign_in(client, people["raiser"])
    escalate_twice(client, case)
    assert fresh(case).stage_index == 2
    assert client.get(f"/cases/{case.reference}/decide").status_code == 302  # not the raiser's to decide
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "The final decision is made by the people named for Stage 3: The partnership" in page
    assert client.get(f"/cases/{case.reference}/escalate").status_code == 302  # no stage after the last
    assert "it cannot be escalated further" in client.get(f"/cases/{case.reference}").get_data(as_text=True)
    client.post("/sign-out", data={"csrf_token": token(client, "/cases/")})
    sign_in(client, people["manager"])
    response = act(client, case, "decide", decision="Social care will hold a strategy meeting by Friday.")
    assert response.status_code == 302
    assert fresh(case).status == "closed"


@pytest.mark.both_engines
def test_a_stale_form_does_not_overwrite_a_newer_change(client, people, case):
    sign_in(client, people["raiser"])
    csrf = token(client, f"/cases/{case.reference}/resolve")
    act(client, case, "withdraw", reason="Withdrawn in another tab.")
    response = client.post(
        f"/cases/{case.reference}/resolve",
        data={"csrf_token": csrf, "statement": "Agreed outcome, typed at length.", "learning": "no"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "govuk-error-summary" in page
    assert "is withdrawn: nothing more can be done on it. Nothing was saved" in page
    assert "Agreed outcome, typed at length." in page  # what they typed is still there
    assert fresh(case).status == "withdrawn"


@pytest.mark.both_engines
def test_the_dashboard_tags_overdue_due_today_and_flagged_cases(client, people, app):
    import datetime as dt

    import time_machine

    from tests import factories

    def raise_at(moment, **details):
        with app.app_context(), time_machine.travel(moment, tick=False):
            return factories.escalation(people["raiser"], people["theirs"], moment, **details)

    late = raise_at(dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC))  # due Tue 1 Dec 17:00
    today = raise_at(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC), imminent_risk=True)  # due Mon 7 Dec 17:00
    flagged = raise_at(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC), specific_circumstance="media_attention")
    with time_machine.travel(dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC), tick=False):
        sign_in(client, people["raiser"])
        html = client.get("/cases/").get_data(as_text=True)
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', html, re.S)[1:]
    order = [re.search(r"ESC-\d{4}-\d{4}", row).group(0) for row in rows]
    assert order[:2] == [late.reference, today.reference]  # overdue first, then by deadline
    by_ref = dict(zip(order, rows, strict=True))
    assert "Overdue" in by_ref[late.reference]
    assert "Due today" in by_ref[today.reference] and "Imminent risk" in by_ref[today.reference]
    assert "Specific circumstance" in by_ref[flagged.reference] and "Overdue" not in by_ref[flagged.reference]


def test_views_are_listed_apart_from_the_timeline_and_link_actors_by_name(app, client, people, case):
    sign_in(client, people["raiser"])
    client.get(f"/cases/{case.reference}")
    with app.app_context():
        link = ActionLink.get((ActionLink.escalation == case.id) & (ActionLink.action == "resolve"))
        resolve(factories.procedure(), fresh(case), Actor.via_link(link), "Agreed on the phone: a joint visit.")
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)

    timeline = page.split(">Timeline</h2>", 1)[1].split("</ol>", 1)[0]
    assert "Case viewed" not in timeline and "Resolved: agreed outcome" in timeline
    assert f"by {link.recipient_name} ({link.recipient_email})" in text_of_page(timeline)
    assert "Who has opened this case (1 person)" in page


@pytest.mark.both_engines
def test_a_stale_escalate_form_at_what_is_now_the_last_stage_keeps_the_reason(client, people, case):
    sign_in(client, people["raiser"])
    url = f"/cases/{case.reference}/escalate"
    csrf = token(client, url)
    escalate_twice(client, case)
    # A form opened at stage 1 and sent now that the case is at the last stage.
    response = client.post(url, data={"csrf_token": csrf, "reason": "Typed before the others escalated it."})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "it cannot be escalated further" in page
    assert "Typed before the others escalated it." in page
    assert fresh(case).stage_index == 2


def test_a_multi_paragraph_answer_keeps_its_breaks_and_gains_no_indentation(app, client, people):
    """The GOV.UK macros indent every line of an html value; under pre-wrap that showed as indented paragraphs."""
    with app.app_context():
        case = factories.escalation(
            people["raiser"], people["theirs"], dt.datetime.now(dt.UTC), summary="First point.\r\n\r\nSecond point."
        )
    sign_in(client, people["raiser"])
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert '<span class="portal-record">First point.<br><br>Second point.</span>' in page
