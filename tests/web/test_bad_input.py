"""Crafted input is refused with a page that says why, never a 500, and never fills the disk (issue 13, item 3)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.db import database
from portal.models import FormStash
from tasks.cleanup import remove_expired_rows
from tests import factories
from tests.web.conftest import sign_in, token
from tests.web.test_raise import answers

BEYOND_BIGINT = 2**63
UNUSUAL = "Remove the unusual characters from"
# Any text a browser can send: control characters, NUL, bidi overrides and line breaks included.
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": token(client, url), **data})


@pytest.mark.both_engines
def test_ids_no_column_can_hold_are_not_found(client, people, case):
    sign_in(client, people["admin"])
    for url in ("/admin/directory/contacts/{}", "/admin/mail/{}"):
        for number in (BEYOND_BIGINT, BEYOND_BIGINT - 1, 10**30):
            assert client.get(url.format(number)).status_code == 404, url.format(number)
    assert client.post(f"/admin/mail/{BEYOND_BIGINT}/resend").status_code == 404
    assert client.post(f"/admin/directory/contacts/{BEYOND_BIGINT}/active").status_code == 404
    client.post("/sign-out", data={"csrf_token": token(client, "/cases/")})
    sign_in(client, people["raiser"])
    assert client.get(f"/cases/{case.reference}/documents/{BEYOND_BIGINT}").status_code == 404


def test_a_line_break_in_next_goes_to_the_dashboard(client, people):
    url = "/sign-in?next=/cases/%0D%0ASet-Cookie:%20x=1"
    response = sign_in(client, people["raiser"], url=url)
    assert response.status_code == 302 and response.headers["Location"] == "/cases/"
    assert all(cookie.startswith(("portal=", "portal-device=")) for cookie in response.headers.getlist("Set-Cookie"))
    again = client.get("/sign-in?next=/cases/%0Ax")  # already signed in
    assert again.status_code == 302 and again.headers["Location"] == "/cases/"


@pytest.mark.both_engines
def test_a_nul_in_the_sign_in_email_is_refused_next_to_the_field(client, people):
    response = post(client, "/sign-in", email=people["raiser"].email + "\x00", password=factories.PASSWORD)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"{UNUSUAL} email address" in html and 'href="#email"' in html


@pytest.mark.both_engines
@pytest.mark.parametrize(
    ("field", "value", "refused"),
    [
        ("child_name", "Zzyzx\x00 Canaryson", True),
        ("child_name", "Zzyzx\nCanaryson", True),
        ("child_name", "Zzyzx\r Canaryson", True),
        ("child_name", "\u202enosyranaC xyzzZ", True),
        ("child_name", "Zzyzx\u2066 Canaryson\u2069", True),
        ("child_name", "Zoë Ó Briain-Ñúñez 李", False),
        ("child_identifier", "LCS\x1b[0m-1234", True),
        ("chair_name", "Dana\u0085Chair", True),
    ],
)
def test_unusual_characters_in_a_single_line_field_are_refused(client, people, field, value, refused):
    sign_in(client, people["raiser"])
    response = post(client, "/raise/child", **{**answers(people)["child"], field: value})
    html = response.get_data(as_text=True)
    if refused:
        assert response.status_code == 200 and UNUSUAL in html and f'href="#{field}"' in html
    else:
        assert response.status_code == 302, html


@pytest.mark.both_engines
def test_a_long_answer_takes_line_breaks_but_no_control_characters(client, people):
    sign_in(client, people["raiser"])
    kept = post(client, "/raise/concern", summary="First line.\r\nSecond line.\tTabbed.", action_taken="Two calls.")
    assert kept.status_code == 302
    refused = post(client, "/raise/concern", summary="Closed\x00 without an assessment.", action_taken="Two\x07 calls.")
    html = refused.get_data(as_text=True)
    assert f"{UNUSUAL} brief description of the concern" in html
    assert f"{UNUSUAL} action already taken to resolve it" in html


@pytest.mark.both_engines
def test_a_nul_in_a_case_record_is_refused(client, people, case):
    sign_in(client, people["raiser"])
    response = post(client, f"/cases/{case.reference}/record", text="We spoke on the phone\x00 and agreed.")
    assert response.status_code == 400 and f"{UNUSUAL} record of the discussion" in response.get_data(as_text=True)


def test_anyone_can_raise_on_29_february(client, people):
    with time_machine.travel(dt.datetime(2028, 2, 29, 10, 0, tzinfo=dt.UTC), tick=False):
        sign_in(client, people["raiser"])
        for dob, status in (
            (["29", "2", "2004"], 302),
            (["27", "2", "2003"], 200),
            (["28", "2", "2003"], 302),
            (["29", "2", "2028"], 302),
        ):
            response = post(client, "/raise/child", **{**answers(people)["child"], "child_dob": dob})
            assert response.status_code == status, (dob, response.get_data(as_text=True)[-2000:])


def _stashes() -> int:
    with database.connection_context():
        return FormStash.select().count()


def _expire(client, people, clock) -> str:
    """Signed in, then idle past the timeout: the session cookie still names the ended session."""
    sign_in(client, people["raiser"])
    csrf = token(client, "/raise/concern")
    clock.shift(dt.timedelta(hours=1))
    return csrf


def test_an_anonymous_post_stores_nothing(client):
    response = client.post("/raise/concern", data={"summary": "x" * 100_000, "action_taken": "y"})
    assert response.status_code < 500 and _stashes() == 0


def test_a_timed_out_session_keeps_one_stash_of_a_form_s_size(client, people, clock):
    csrf = _expire(client, people, clock)
    too_big = client.post("/raise/concern", data={"csrf_token": csrf, "summary": "x" * 30_000, "action_taken": "y"})
    assert too_big.status_code == 302 and _stashes() == 0
    assert "your answers will be restored" not in client.get(too_big.headers["Location"]).get_data(as_text=True)
    for _ in range(5):  # the same cookie, sent again and again, keeps one
        client.post("/raise/concern", data={"csrf_token": csrf, **answers(people)["concern"]})
    assert _stashes() == 1


def test_a_stash_goes_after_24_hours(client, people, clock):
    csrf = _expire(client, people, clock)
    client.post("/raise/concern", data={"csrf_token": csrf, **answers(people)["concern"]})
    clock.shift(dt.timedelta(hours=25))
    sign_in(client, people["raiser"], url="/sign-in?next=/raise/concern")
    assert "Two calls." not in client.get("/raise/concern").get_data(as_text=True)


def test_an_old_stash_is_removed_when_another_is_made(app, people, clock):
    first, second = app.test_client(), app.test_client()
    client_csrf = _expire(first, people, clock)
    first.post("/raise/concern", data={"csrf_token": client_csrf, **answers(people)["concern"]})
    clock.shift(dt.timedelta(hours=25))
    csrf = _expire(second, people, clock)
    second.post("/raise/outcome", data={"csrf_token": csrf, "outcome_sought": "A meeting."})
    with database.connection_context():
        assert [s.path for s in FormStash.select()] == ["/raise/outcome"]


def test_a_post_without_a_referer_over_https_says_why(client, people):
    https = {"base_url": "https://localhost"}
    csrf = token(client, "https://localhost/sign-in")
    response = client.post("/sign-in", data={"csrf_token": csrf, "email": "a@b.org", "password": "x"}, **https)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Your browser did not say which page the form came from" in html and "Referer" in html
    assert "session timed out" not in html


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=ANY_TEXT, identifier=ANY_TEXT, chair=ANY_TEXT, email=ANY_TEXT, summary=ANY_TEXT, record=ANY_TEXT)
def test_no_text_in_a_raise_or_case_form_yields_a_500(
    client, people, case, name, identifier, chair, email, summary, record
):
    if not client.get_cookie("portal"):
        sign_in(client, people["raiser"])
    csrf = token(client, "/raise/child")
    child = {**answers(people)["child"], "child_name": name, "child_identifier": identifier}
    pages = [
        ("/raise/child", {**child, "chair_name": chair, "chair_email": email}),
        ("/raise/concern", {"summary": summary, "action_taken": record}),
        (f"/cases/{case.reference}/record", {"text": record}),
    ]
    for url, data in pages:
        response = client.post(url, data={"csrf_token": csrf, **data})
        assert response.status_code in (200, 302, 400), (url, data, response.status_code)


def test_a_form_that_keeps_answers_says_why_when_the_referer_is_missing(client, people):
    https = {"base_url": "https://localhost"}
    csrf = token(client, "https://localhost/sign-in")
    client.post(
        "/sign-in",
        data={"csrf_token": csrf, "email": people["raiser"].email, "password": factories.PASSWORD},
        headers={"Referer": "https://localhost/sign-in"},
        **https,
    )
    csrf = token(client, "https://localhost/raise/concern")
    response = client.post("/raise/concern", data={"csrf_token": csrf, **answers(people)["concern"]}, **https)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "did not say which page this form came from" in html and "timed out" not in html
    assert answers(people)["concern"]["summary"] in html  # nothing typed is lost


def test_the_hourly_clean_up_removes_stashes_nobody_came_back_for(app, client, people, clock):
    csrf = _expire(client, people, clock)
    client.post("/raise/concern", data={"csrf_token": csrf, **answers(people)["concern"]})
    with app.app_context():
        remove_expired_rows.call_local()
        assert _stashes() == 1
        clock.shift(dt.timedelta(hours=24, minutes=1))
        remove_expired_rows.call_local()
        assert _stashes() == 0


@pytest.mark.both_engines
def test_a_nul_byte_in_an_address_is_not_found(client, people, case):
    sign_in(client, people["raiser"])
    for url in (f"/cases/{case.reference}%00", "/cases/ESC%00-2026", "/a/abc%00def", "/a/x%00/done"):
        assert client.get(url).status_code == 404, url
