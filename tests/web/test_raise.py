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
        "subject": {"subject": "child"},
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
        "joint": {"joint": "no"},
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


def answer_all(client, people, start: str = "/raise/subject", **changes) -> str:
    """Every question page in the order the portal leads (one draft, `?draft=N`); returns Check your answers."""
    path = start
    pages = {**answers(people), **{page: data for page, data in changes.items() if page not in answers(people)}}
    while not path.startswith("/raise/check"):
        page = path.split("?")[0].removeprefix("/raise/")
        data = {**pages[page], **changes.get(page, {})}
        response = client.post(path, data={"csrf_token": token(client, path), **data})
        assert response.status_code == 302, (page, response.get_data(as_text=True)[-3000:])
        path = response.headers["Location"]
    return path


def check_path(client) -> str:
    """Check your answers for the draft the start page lists first (the one last changed)."""
    return re.search(
        r'href="(/raise/(?:check|[a-z-]+)\?draft=\d+)"', client.get("/raise/").get_data(as_text=True)
    ).group(1)


def submit(client, path: str | None = None):
    path = path or check_path(client)
    html = client.get(path).get_data(as_text=True)
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', html).group(1)
    version = re.search(r'name="version" type="hidden" value="([^"]+)"', html).group(1)
    data = {"csrf_token": token(client, path), "submission_key": key, "version": version}
    return client.post(path, data=data), key


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
    path = answer_all(signed_in, people)
    check = signed_in.get(path).get_data(as_text=True)
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
    path = answer_all(signed_in, people)
    html = signed_in.get(path).get_data(as_text=True)
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', html).group(1)
    version = re.search(r'name="version" type="hidden" value="([^"]+)"', html).group(1)
    data = {"csrf_token": token(signed_in, path), "submission_key": key, "version": version}
    first = signed_in.post(path, data=data)
    second = signed_in.post(path, data=data)
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


def test_leaving_mid_way_keeps_a_draft_and_discarding_it_asks_first(signed_in, people):
    moved = signed_in.post(
        "/raise/subject", data={"csrf_token": token(signed_in, "/raise/subject"), "subject": "child"}
    )
    child = moved.headers["Location"]
    assert re.fullmatch(r"/raise/child\?draft=\d+", child)
    draft = child.split("=")[1]
    signed_in.post(child, data={"csrf_token": token(signed_in, child), **answers(people)["child"]})
    start = signed_in.get("/raise/").get_data(as_text=True)
    assert "Escalations you started and have not sent" in start and f'href="/raise/you?draft={draft}"' in start
    assert "You started an escalation and have not sent it yet." in signed_in.get("/cases/").get_data(as_text=True)
    assert 'value="Zzyzx Canaryson"' in signed_in.get(child).get_data(as_text=True)
    assert 'value="Zzyzx Canaryson"' not in signed_in.get("/raise/child").get_data(as_text=True)  # a new draft

    ask = signed_in.get(f"/raise/discard?draft={draft}")  # a GET only asks
    assert ask.status_code == 200 and "Are you sure you want to discard your answers?" in ask.get_data(as_text=True)
    assert "Zzyzx Canaryson" in signed_in.get("/raise/").get_data(as_text=True)
    gone = signed_in.post(f"/raise/discard?draft={draft}", data={"csrf_token": token(signed_in, "/raise/")})
    assert gone.headers["Location"] == "/raise/"
    start = signed_in.get("/raise/").get_data(as_text=True)
    assert "Your answers were discarded." in start and "Zzyzx Canaryson" not in start
    assert "have not sent it yet" not in signed_in.get("/cases/").get_data(as_text=True)


def test_nobody_discards_or_continues_another_users_draft(app, signed_in, people):
    path = answer_all(signed_in, people)
    other = app.test_client()
    sign_in(other, people["stranger"])
    assert "Zzyzx" not in other.get(path).get_data(as_text=True)
    other.post(path.replace("/check", "/discard"), data={"csrf_token": token(other, "/raise/")})
    assert "Zzyzx" in signed_in.get(path).get_data(as_text=True)


def test_two_tabs_keep_two_drafts_or_share_one(app, signed_in, people):
    first = answer_all(signed_in, people)
    second = answer_all(signed_in, people, child={"child_name": "Other Child"})
    assert first != second
    assert "Zzyzx Canaryson" in signed_in.get(first).get_data(as_text=True)
    assert "Other Child" in signed_in.get(second).get_data(as_text=True)
    response, _ = submit(signed_in, second)
    with database.connection_context():
        assert Escalation.get().child_name == "Other Child"
        assert Draft.select().count() == 1  # the first tab's draft is still there


def test_check_your_answers_raises_only_what_it_showed(signed_in, people):
    path = answer_all(signed_in, people)
    shown = signed_in.get(path).get_data(as_text=True)  # tab A shows Zzyzx Canaryson
    child = path.replace("/check", "/child")
    changed = {**answers(people)["child"], "child_name": "Changed In Tab B"}
    signed_in.post(child, data={"csrf_token": token(signed_in, child), **changed})  # tab B changes the name
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', shown).group(1)
    version = re.search(r'name="version" type="hidden" value="([^"]+)"', shown).group(1)
    stale = signed_in.post(path, data={"csrf_token": token(signed_in, path), "submission_key": key, "version": version})
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "changed in another tab or window" in html and "Changed In Tab B" in html and "Zzyzx" not in html
    with database.connection_context():
        assert Escalation.select().count() == 0
    response, _ = submit(signed_in, path)
    assert response.status_code == 302
    with database.connection_context():
        assert Escalation.get().child_name == "Changed In Tab B"


def test_continuing_with_pages_unanswered_says_which(signed_in, people):
    moved = signed_in.post(
        "/raise/subject", data={"csrf_token": token(signed_in, "/raise/subject"), "subject": "child"}
    )
    draft = moved.headers["Location"].split("=")[1]
    last = f"/raise/deadline?draft={draft}"
    response = signed_in.post(last, data={"csrf_token": token(signed_in, last)})
    assert response.headers["Location"] == f"/raise/check?draft={draft}"
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "You have not answered every question" in page
    for title, slug in (("About the child", "child"), ("The concern", "concern"), ("Risk to the child", "risk")):
        assert f'href="/raise/{slug}?draft={draft}">{title}</a>' in page
    assert "Who the disagreement is about" not in page and "Deadline</a>" not in page


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
    path = answer_all(
        signed_in,
        people,
        categories={"categories": ["thresholds"], "category_other": "Typed, then unticked"},
        **{"safeguarding-lead": {"lead_aware": "no", "lead_name": "Helen Lead"}},
    )
    check = signed_in.get(path).get_data(as_text=True)
    assert "If something else, what?" not in check and "Typed, then unticked" not in check
    assert "Helen Lead" not in check
    response, _ = submit(signed_in, path)
    assert response.status_code == 302
    with database.connection_context():
        case = Escalation.get()
        assert (case.lead_aware, case.lead_name, case.category_other) == (False, "", "")
