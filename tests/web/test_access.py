"""Every route makes an access decision; a case is seen only by its parties and the Business Manager."""

from __future__ import annotations

import hashlib
import re

import pytest

from portal.db import database
from portal.models import MODELS, Escalation, Event, UserSession
from tests.web.conftest import sign_in, token

CASE_ROUTES = ["/cases/{ref}", "/cases/{ref}/record", "/cases/{ref}/resolve", "/cases/{ref}/escalate"]


def test_every_route_has_an_access_decision(app):
    undecided = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not hasattr(app.view_functions[rule.endpoint], "access")
    ]
    assert undecided == []


@pytest.mark.parametrize("route", CASE_ROUTES)
def test_anonymous_users_are_sent_to_sign_in(client, case, route):
    response = client.get(route.format(ref=case.reference))
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


@pytest.mark.parametrize("who", ["stranger", "admin"])
@pytest.mark.parametrize("route", [*CASE_ROUTES, "/cases/{ref}/withdraw", "/cases/{ref}/decide"])
def test_people_with_no_part_get_the_same_404_as_no_case(client, people, case, route, who):
    sign_in(client, people[who])
    response = client.get(route.format(ref=case.reference))
    missing = client.get(route.format(ref="ESC-2099-9999"))
    assert response.status_code == missing.status_code == 404
    varying = re.compile(r'nonce="[^"]+"|name="csrf_token" value="[^"]+"')  # fresh in every response
    assert varying.sub("", response.get_data(as_text=True)) == varying.sub("", missing.get_data(as_text=True))


@pytest.mark.both_engines
@pytest.mark.parametrize("who", ["raiser", "counterpart", "manager"])
def test_parties_and_the_business_manager_see_the_case(client, people, case, who):
    sign_in(client, people[who])
    response = client.get(f"/cases/{case.reference}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert case.child_name in html
    dashboard = client.get("/cases/").get_data(as_text=True)
    assert case.reference in dashboard


@pytest.mark.both_engines
def test_strangers_do_not_see_the_case_on_their_dashboard(client, people, case):
    sign_in(client, people["stranger"])
    assert case.reference not in client.get("/cases/").get_data(as_text=True)


def fresh_status(case) -> str:
    with database.connection_context():
        return Escalation.get_by_id(case.id).status


def test_only_the_raiser_may_withdraw(client, people, case):
    sign_in(client, people["counterpart"])
    assert client.get(f"/cases/{case.reference}/withdraw").status_code == 302
    assert "Only the person who raised the escalation can withdraw it." in client.get(
        f"/cases/{case.reference}"
    ).get_data(as_text=True)
    response = client.post(
        f"/cases/{case.reference}/withdraw",
        data={"csrf_token": token(client, f"/cases/{case.reference}/record"), "reason": "Not mine to withdraw."},
    )
    assert response.status_code == 409 and fresh_status(case) == "open"
    assert client.get(f"/cases/{case.reference}/resolve").status_code == 200


def test_a_view_of_a_case_is_recorded(client, people, case):
    sign_in(client, people["manager"])
    client.get(f"/cases/{case.reference}")
    client.get(f"/cases/{case.reference}")
    with database.connection_context():
        views = Event.select().where((Event.escalation == case.id) & (Event.kind == "viewed"))
        assert [v.actor_id for v in views] == [people["manager"].id]  # once in ten minutes: test_case_page.py


def _fingerprint() -> dict:
    """Row counts and content of every table but the view audit and session bookkeeping."""
    prints = {}
    with database.connection_context():
        for model in MODELS:
            if model in (UserSession,):
                continue
            rows = model.select().order_by(model._meta.primary_key)
            if model is Event:
                rows = rows.where(Event.kind != "viewed")
            prints[model.__name__] = hashlib.sha256(repr([r.__data__ for r in rows]).encode()).hexdigest()
    return prints


def test_get_never_changes_state(app, client, people, case):
    sign_in(client, people["raiser"])
    before = _fingerprint()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = rule.rule
        for name, value in {
            "<reference>": case.reference,
            "<action>": "resolve",
            "<page>": "child",
            "<path:filename>": "x",
        }.items():
            url = url.replace(name, value)
        assert client.get(url).status_code < 500, url
        assert client.head(url).status_code < 500, url
    assert _fingerprint() == before


def test_posts_without_a_csrf_token_are_refused_and_change_nothing(app, client, people, case):
    sign_in(client, people["raiser"])
    before = _fingerprint()
    posts = [
        (f"/cases/{case.reference}/record", {"text": "A record long enough."}),
        (f"/cases/{case.reference}/resolve", {"statement": "An agreed outcome.", "learning": "no"}),
        (f"/cases/{case.reference}/withdraw", {"reason": "No longer needed at all."}),
        ("/raise/child", {"child_name": "Someone"}),
        ("/raise/discard", {}),
        ("/sign-out", {}),
    ]
    for url, data in posts:
        for forged in (None, "forged-token"):
            payload = dict(data, **({"csrf_token": forged} if forged else {}))
            assert client.post(url, data=payload).status_code == 400, url
    assert _fingerprint() == before
    assert client.get("/cases/").status_code == 200  # still signed in


def test_the_dashboard_is_titled_for_whoever_signs_in(client, people, case):
    for who, heading in (("manager", "All escalations"), ("raiser", "My escalations"), ("admin", "My escalations")):
        browser = client.application.test_client()
        sign_in(browser, people[who])
        page = browser.get("/cases/").get_data(as_text=True)
        assert f"<title>{heading}" in page, who
        assert ('href="/admin/"' in page.split("</header>", 1)[1]) == (who == "admin"), who
