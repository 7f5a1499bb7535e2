"""Raising an escalation through the question pages, as the test client (CSRF on)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from portal.db import database
from portal.models import Draft, Escalation, Outbox
from tests.web.conftest import sign_in, token


def answers(people) -> dict[str, dict]:
    return {
        "child": {
            "child_name": "Zzyzx Canaryson",
            "child_dob": ["1", "3", "2019"],
            "child_identifier": "LCS-1234",
            "child_on_plan": "yes",
            "child_looked_after": "no",
            "chair_name": "Ruth IRO",
            "chair_email": "ruth.iro@partnership.example",
        },
        "you": {
            "raiser_role": "Social Worker",
            "raiser_agency": str(people["ours"].id),
            "raiser_contact_details": "020 8000 0000",
        },
        "counterpart": {
            "counterpart_name": "Pat Counter",
            "counterpart_email": "pat.counter@police.example",
            "counterpart_agency": str(people["theirs"].id),
        },
        "categories": {"categories": ["thresholds", "other"], "category_other": "Bail conditions"},
        "concern": {"summary": "The referral was closed without an assessment.", "action_taken": "Two calls."},
        "outcome": {"outcome_sought": "A strategy discussion this week."},
        "safeguarding-lead": {"lead_aware": "yes", "lead_name": "Helen Lead"},
        "risk": {"imminent_risk": "no", "specific_circumstance": "none"},
        "deadline": {},
    }


def answer_all(client, people, **changes):
    for page, data in answers(people).items():
        data = {**data, **changes.get(page, {})}
        response = client.post(f"/raise/{page}", data={"csrf_token": token(client, f"/raise/{page}"), **data})
        assert response.status_code == 302, (page, response.get_data(as_text=True)[-3000:])


def submit(client):
    html = client.get("/raise/check").get_data(as_text=True)
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', html).group(1)
    return client.post("/raise/check", data={"csrf_token": token(client, "/raise/check"), "submission_key": key}), key


@pytest.fixture
def signed_in(client, people):
    sign_in(client, people["raiser"])
    return client


def test_every_question_page_is_well_formed(signed_in, people):
    for page in answers(people):
        response = signed_in.get(f"/raise/{page}")
        assert response.status_code == 200


@pytest.mark.both_engines
def test_the_whole_journey_raises_one_case(signed_in, people):
    answer_all(signed_in, people)
    check = signed_in.get("/raise/check").get_data(as_text=True)
    for shown in ("Zzyzx Canaryson", "1 March 2019", "Pat Counter", "Bail conditions", "Helen Lead"):
        assert shown in check
    response, _ = submit(signed_in)
    assert response.status_code == 302 and response.headers["Location"].startswith("/raise/done/ESC-")
    confirmation = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    with database.connection_context():
        case = Escalation.get()
        assert case.reference in confirmation
        assert (case.child_dob, case.child_on_plan, case.categories) == (
            dt.date(2019, 3, 1),
            True,
            ["thresholds", "other"],
        )
        assert case.raiser_id == people["raiser"].id
        assert Draft.select().count() == 0
        assert Outbox.select().where(Outbox.escalation == case.id).count() >= 2


@pytest.mark.both_engines
def test_submitting_twice_creates_one_case(signed_in, people):
    answer_all(signed_in, people)
    html = signed_in.get("/raise/check").get_data(as_text=True)
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', html).group(1)
    csrf = token(signed_in, "/raise/check")
    first = signed_in.post("/raise/check", data={"csrf_token": csrf, "submission_key": key})
    second = signed_in.post("/raise/check", data={"csrf_token": csrf, "submission_key": key})
    assert first.headers["Location"] == second.headers["Location"]
    with database.connection_context():
        assert Escalation.select().count() == 1


@pytest.mark.parametrize(
    ("page", "data", "message"),
    [
        ("child", {}, "Enter the child&#39;s full name"),
        ("child", {"child_name": "A", "child_dob": ["1", "1", "2999"]}, "Date of birth must be in the past"),
        ("child", {"child_name": "A", "child_dob": ["31", "2", "2020"]}, "Date of birth must be a real date"),
        ("child", {"child_name": "A", "child_dob": ["", "2", "2020"]}, "Date of birth must include a day"),
        (
            "child",
            {"child_name": "A", "child_dob": ["1", "2", "1990"]},
            "Date of birth must be within the last 25 years",
        ),
        ("child", {"child_name": "x" * 201}, "Name must be 200 characters or fewer"),
        (
            "child",
            {"child_name": "A", "child_on_plan": "yes", "child_looked_after": "no"},
            "Enter the name of the child&#39;s child protection chair or IRO",
        ),
        (
            "child",
            {"child_name": "A", "child_on_plan": "no", "child_looked_after": "yes", "chair_name": "Ruth IRO"},
            "Enter the email address of the child&#39;s child protection chair or IRO",
        ),
        ("counterpart", {"counterpart_email": "not an email"}, "Enter an email address in the correct format"),
        ("categories", {"categories": ["other"]}, "Enter what else the disagreement is about"),
        ("categories", {"categories": ["made-up"]}, "is not a valid choice"),
        ("concern", {"summary": "x" * 5001}, "Brief description of the concern must be 5,000 characters or fewer"),
        ("safeguarding-lead", {"lead_aware": "yes"}, "Enter the name of your safeguarding lead"),
        ("risk", {"imminent_risk": "maybe"}, "Not a valid choice"),
        ("deadline", {"requested_due": ["1", "1", "2020"]}, "The earlier deadline must be today or in the future"),
    ],
)
def test_bad_answers_are_explained_next_to_the_field_and_kept(signed_in, page, data, message):
    response = signed_in.post(f"/raise/{page}", data={"csrf_token": token(signed_in, f"/raise/{page}"), **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is a problem" in html and "<title>Error: " in html
    assert message in html
    assert html.count(message) >= 2  # in the summary and next to the field
    for value in data.values():
        if isinstance(value, str) and len(value) < 100 and value != "maybe":
            assert f'value="{value}"' in html or value in html


def test_leaving_mid_way_keeps_a_draft(signed_in, people):
    page = answers(people)["child"]
    signed_in.post("/raise/child", data={"csrf_token": token(signed_in, "/raise/child"), **page})
    start = signed_in.get("/raise/").get_data(as_text=True)
    assert "Continue your escalation" in start and 'href="/raise/you"' in start
    assert "You started an escalation and have not sent it yet." in signed_in.get("/cases/").get_data(as_text=True)
    assert 'value="Zzyzx Canaryson"' in signed_in.get("/raise/child").get_data(as_text=True)
    signed_in.post("/raise/discard", data={"csrf_token": token(signed_in, "/raise/")})
    assert "Start now" in signed_in.get("/raise/").get_data(as_text=True)
    assert "have not sent it yet" not in signed_in.get("/cases/").get_data(as_text=True)


def test_an_expired_csrf_token_shows_the_answers_again(signed_in, people):
    data = answers(people)["concern"]
    response = signed_in.post("/raise/concern", data={"csrf_token": "expired-or-forged", **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Your session timed out. Check your answers and submit again" in html
    assert "The referral was closed without an assessment." in html
    with database.connection_context():
        assert Draft.select().count() == 0  # nothing saved until a good submit
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    retry = signed_in.post("/raise/concern", data={"csrf_token": fresh, **data})
    assert retry.status_code == 302


def test_answers_typed_while_signed_out_come_back_after_signing_in(client, people):
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, people["raiser"])
        csrf = token(client, "/raise/concern")
        clock.shift(dt.timedelta(hours=1))  # idle too long: the session has ended
        data = answers(people)["concern"]
        response = client.post("/raise/concern", data={"csrf_token": csrf, **data})
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "your answers will be restored" in page
        back = sign_in(client, people["raiser"], url=response.headers["Location"])
        assert back.headers["Location"] == "/raise/concern"
        restored = client.get("/raise/concern").get_data(as_text=True)
        assert "The referral was closed without an assessment." in restored and "Two calls." in restored


def test_an_earlier_deadline_after_the_procedures_is_refused_on_the_check_page(signed_in, people):
    late = (dt.date.today() + dt.timedelta(days=60)).strftime("%d %m %Y").split()
    answer_all(signed_in, people, deadline={"requested_due": late})
    response, _ = submit(signed_in)
    assert response.status_code == 400
    assert "before the procedure&#39;s own deadline" in response.get_data(as_text=True)
    with database.connection_context():
        assert Escalation.select().count() == 0


def test_follow_up_answers_show_only_when_they_apply(signed_in, people):
    answer_all(
        signed_in,
        people,
        categories={"categories": ["thresholds"], "category_other": "Typed, then unticked"},
        **{"safeguarding-lead": {"lead_aware": "no", "lead_name": "Helen Lead"}},
    )
    check = signed_in.get("/raise/check").get_data(as_text=True)
    assert "If something else, what?" not in check and "Typed, then unticked" not in check
    assert "Helen Lead" not in check
    response, _ = submit(signed_in)
    assert response.status_code == 302
    with database.connection_context():
        case = Escalation.get()
        assert (case.lead_aware, case.lead_name, case.category_other) == (False, "", "")
