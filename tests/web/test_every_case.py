"""Every case the procedures allow can be raised: no particular child (strategic), an unborn baby, and an agency
the directory does not list; child details never travel with a strategic case."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from portal.db import database
from portal.models import Document, Escalation, Outbox
from tasks.documents import render_document
from tasks.mail import send_outbox
from tests.web.conftest import sign_in, text_of_page, token
from tests.web.test_raise import answer_all, answers, submit

pytestmark = pytest.mark.real_pdf
CHILD = "Zzyzx Canaryson"


def post(client, path: str, **data):
    return client.post(path, data={"csrf_token": token(client, path), **data})


def pdf_text(app, case: Escalation) -> str:
    with app.app_context():
        notice = Document.get(Document.escalation == case.id)
        render_document.call_local(notice.id)
        pdf = Document.get_by_id(notice.id).content
    return " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def send_all(app) -> None:
    with app.app_context():
        for row in Outbox.select().where(Outbox.status == "pending"):
            send_outbox.call_local(row.id)


def the_case(app) -> Escalation:
    with app.app_context(), database.connection_context():
        return Escalation.get()


def test_a_strategic_case_names_no_child_anywhere(app, client, people, smtp_mail):
    sign_in(client, people["raiser"])
    # The child's page answered first, then the subject changed: what was typed about a child goes nowhere.
    child = post(client, "/raise/subject", subject="child").headers["Location"]
    draft = child.split("?")[1]
    post(client, child, **answers(people)["child"])
    moved = post(client, f"/raise/subject?{draft}&change=1", subject="none")
    assert moved.headers["Location"] == f"/raise/you?{draft}"
    path = answer_all(client, people, start=moved.headers["Location"])
    check = text_of_page(client.get(path).get_data(as_text=True))
    assert "No particular child: a strategic or thematic disagreement" in check and CHILD not in check
    assert "Child's full name" not in check
    response, _ = submit(client, path)
    assert response.status_code == 302
    case = the_case(app)
    assert (case.subject, case.child_name, case.child_dob, case.child_identifier) == ("none", "", None, "")
    page = text_of_page(client.get(f"/cases/{case.reference}").get_data(as_text=True))
    assert f"{case.reference}: No particular child (strategic)" in page and CHILD not in page
    assert "None named: a strategic or thematic disagreement" in pdf_text(app, case)
    send_all(app)
    assert smtp_mail.messages
    for message in smtp_mail.messages:
        assert CHILD not in message.as_string() and "LCS-1234" not in message.as_string()


@pytest.mark.parametrize(
    ("due", "message"),
    [
        (-40, "Expected date of delivery must be within the last 28 days or in the future"),
        (7 * 43, "Expected date of delivery must be within the next 42 weeks"),
        (None, "Enter the expected date of delivery"),
    ],
)
def test_an_unborn_baby_s_expected_date_is_checked(client, people, due, message):
    sign_in(client, people["raiser"])
    unborn = post(client, "/raise/subject", subject="unborn").headers["Location"]
    assert unborn.startswith("/raise/unborn?draft=")
    day = dt.date.today() + dt.timedelta(days=due) if due is not None else None
    parts = [str(day.day), str(day.month), str(day.year)] if day else ["", "", ""]
    response = post(client, unborn, child_name="Unborn baby of Alex Smith", child_due=parts, child_on_plan="no")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html and 'value="Unborn baby of Alex Smith"' in html


def test_an_unborn_baby_s_case_is_raised_with_the_expected_date(app, client, people, smtp_mail):
    sign_in(client, people["raiser"])
    due = dt.date.today() + dt.timedelta(weeks=12)
    unborn = {
        "child_name": "Unborn baby of Alex Smith",
        "child_due": [str(due.day), str(due.month), str(due.year)],
        "child_on_plan": "yes",
        "chair_name": "Ruth IRO",
        "chair_email": "ruth.iro@partnership.example",
    }
    path = answer_all(client, people, subject={"subject": "unborn"}, unborn=unborn)
    check = text_of_page(client.get(path).get_data(as_text=True))
    assert f"Expected date of delivery {due:%-d %B %Y}" in check and "Child's date of birth" not in check
    assert submit(client, path)[0].status_code == 302
    case = the_case(app)
    assert (case.subject, case.child_due, case.child_dob, case.child_on_plan) == ("unborn", due, None, True)
    page = text_of_page(client.get(f"/cases/{case.reference}").get_data(as_text=True))
    assert f"Expected date of delivery {due:%-d %B %Y}" in page
    text = pdf_text(app, case)
    assert "Unborn baby of Alex Smith (unborn)" in text and f"Expected date of delivery {due.day} {due:%B %Y}" in text


def test_an_agency_not_listed_is_typed_and_the_business_manager_is_told(app, client, people, smtp_mail):
    sign_in(client, people["raiser"])
    counterpart = {**answers(people)["counterpart"], "counterpart_agency": "not-listed"}
    draft = post(client, "/raise/subject", subject="child").headers["Location"].split("?")[1]
    refused = post(client, f"/raise/counterpart?{draft}", **counterpart)
    assert refused.status_code == 200 and "Enter the name of their agency" in refused.get_data(as_text=True)
    counterpart["counterpart_agency_other"] = "Hollyfield Academy Trust"
    path = answer_all(client, people, counterpart=counterpart)
    check = text_of_page(client.get(path).get_data(as_text=True))
    assert "Their agency Not listed" in check and "Hollyfield Academy Trust" in check
    assert submit(client, path)[0].status_code == 302
    case = the_case(app)
    assert (case.counterpart_agency_id, case.counterpart_agency_name) == (None, "Hollyfield Academy Trust")
    send_all(app)
    told = [m for m in smtp_mail.messages if "is not in the directory" in m.get_body(("plain",)).get_content()]
    assert len(told) >= 1
    assert '"Hollyfield Academy Trust"' in told[0].get_body(("plain",)).get_content()


def test_a_joint_escalation_gives_the_other_raising_agency_the_raiser_s_rights(app, client, people):
    from tests import factories

    with app.app_context(), database.connection_context():
        health = factories.agency("Community Health", "health")
        joint = factories.user(agency_=health, email="nurse.joint@health.example")
    sign_in(client, people["raiser"])
    draft = post(client, "/raise/subject", subject="child").headers["Location"].split("?")[1]
    refused = post(client, f"/raise/joint?{draft}", joint="yes")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "Enter the name of the practitioner raising this with you" in html
    together = {"joint": "yes", "joint_name": "Nurse Joint", "joint_email": "Nurse.Joint@health.example"}
    path = answer_all(client, people, joint={**together, "joint_agency": str(health.id)})
    assert "Nurse Joint" in text_of_page(client.get(path).get_data(as_text=True))
    assert submit(client, path)[0].status_code == 302
    case = the_case(app)
    with app.app_context(), database.connection_context():
        raised_mail = {row.recipient_email for row in Outbox.select().where(Outbox.escalation == case.id)}
        raiser_purposes = {
            row.purpose for row in Outbox.select().where(Outbox.recipient_email == people["raiser"].email)
        }
        joint_purposes = {row.purpose for row in Outbox.select().where(Outbox.recipient_email == joint.email)}
    assert joint.email in raised_mail and raiser_purposes and joint_purposes == raiser_purposes

    other = app.test_client()
    sign_in(other, joint)
    assert case.reference in other.get("/cases/").get_data(as_text=True)
    page = text_of_page(other.get(f"/cases/{case.reference}").get_data(as_text=True))
    assert "Raised jointly with Nurse Joint (nurse.joint@health.example), Community Health" in page
    url = f"/cases/{case.reference}/record"
    assert post(other, url, text="Spoke to the school nurse; she shares the concern.").status_code == 302
    url = f"/cases/{case.reference}/withdraw"
    assert other.get(url).status_code == 200  # may withdraw, as the raiser may

    stranger = app.test_client()
    sign_in(stranger, people["stranger"])
    assert stranger.get(f"/cases/{case.reference}").status_code == 404
