"""A page is served again only to the person it was rendered for, only while nothing it shows has changed, and
for at most PAGE_REUSE_SECONDS of the clock (portal/page_reuse.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from portal.db import database
from portal.models import Escalation, Event, User
from portal.views import cases as case_views
from tests import factories
from tests.query_counter import count_queries
from tests.web.conftest import NONCE, START, TOKEN, raise_case, sign_in

pytestmark = pytest.mark.both_engines  # the data version's triggers differ by engine


# Statements of a reload served again: the data version as the request starts, the session with its user, the
# version again where the page is looked for, and on PostgreSQL the pool's check of the connection (SELECT 1).
SERVED_AGAIN = 4


def load(client, url: str):
    with count_queries() as log:
        response = client.get(url)
    assert response.status_code == 200
    return response, log.count


def listed(response) -> list[str]:
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return [a.get_text() for a in page.select("#results tbody th a")]


def test_a_reload_is_served_again_without_the_pages_own_queries(app, manager, people):
    raise_case(app, people)
    first, rendered = load(manager, "/inbox/")
    again, served = load(manager, "/inbox/")

    assert listed(again) == listed(first) and listed(first)
    assert served < rendered
    assert served <= SERVED_AGAIN


def test_a_change_shows_on_the_very_next_load(app, manager, people):
    raise_case(app, people)
    assert len(listed(manager.get("/inbox/"))) == 1
    newer = raise_case(app, people)
    assert newer in listed(manager.get("/inbox/"))

    with app.app_context():
        Escalation.update(child_name="Renamed Child").where(Escalation.reference == newer).execute()
    assert "Renamed Child" in manager.get(f"/cases/{newer}").get_data(as_text=True)
    with app.app_context():
        Escalation.update(child_name="Named Again").where(Escalation.reference == newer).execute()
    assert "Named Again" in manager.get(f"/cases/{newer}").get_data(as_text=True)


def test_each_address_and_query_is_a_page_of_its_own(app, manager, people):
    raise_case(app, people)
    assert listed(manager.get("/inbox/"))
    assert listed(manager.get("/inbox/?status=closed")) == []


def test_a_page_is_never_served_to_another_person(app, clock, people):
    with app.app_context():
        other = factories.user("business_manager", email="second.manager@council.example")
    raise_case(app, people)
    first, second = app.test_client(), app.test_client()
    for client, person in ((first, people["manager"]), (second, other)):
        sign_in(client, person)
        client.get("/cases/")
    assert f"Signed in as {people['manager'].name}" in first.get("/inbox/").get_data(as_text=True)
    assert f"Signed in as {other.name}" in second.get("/inbox/").get_data(as_text=True)
    assert f"Signed in as {people['manager'].name}" in first.get("/inbox/").get_data(as_text=True)


def test_each_response_has_a_fresh_nonce_matching_its_policy(app, manager, people):
    """CheckedClient also checks every inline script against its response's policy."""
    raise_case(app, people)
    nonces = []
    for _ in range(2):
        response = manager.get("/inbox/")
        nonce = NONCE.search(response.headers["Content-Security-Policy"]).group(1)
        assert f'nonce="{nonce}"' in response.get_data(as_text=True)
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


OVERDUE = '<strong class="govuk-tag govuk-tag--red">Overdue</strong>'


def test_what_follows_the_clock_alone_is_at_most_the_reuse_time_behind(app, manager, people, clock):
    due = START + dt.timedelta(seconds=20)
    reference = raise_case(app, people)
    with app.app_context():
        Escalation.update(due_at=due).where(Escalation.reference == reference).execute()
    assert OVERDUE not in manager.get("/inbox/").get_data(as_text=True)
    clock.move_to(due + dt.timedelta(seconds=5))  # 25 s after the page was rendered: still served again
    assert OVERDUE not in manager.get("/inbox/").get_data(as_text=True)
    clock.move_to(START + dt.timedelta(seconds=app.config["PAGE_REUSE_SECONDS"]))
    assert OVERDUE in manager.get("/inbox/").get_data(as_text=True)


def test_a_view_is_still_recorded_when_the_page_is_served_again(app, clock, people, case):
    """The audit is written before the page is looked for: a view due 10 minutes after the last recorded one is
    recorded even while the page rendered 15 seconds earlier is still being served."""
    client = app.test_client()
    sign_in(client, people["raiser"])
    client.get(f"/cases/{case.reference}")
    clock.shift(dt.timedelta(minutes=9, seconds=50))
    client.get(f"/cases/{case.reference}")
    clock.shift(dt.timedelta(seconds=15))
    client.get(f"/cases/{case.reference}")
    with app.app_context(), database.connection_context():
        views = Event.select().where((Event.escalation == case.id) & (Event.kind == "viewed")).count()
    assert views == 2


def test_a_page_showing_a_message_is_not_kept(app, manager, people):
    reference = raise_case(app, people)
    with app.app_context():
        case_id = Escalation.get(Escalation.reference == reference).id
    review = f"/inbox/review/case/{case_id}"
    page = manager.get(review).get_data(as_text=True)
    csrf = BeautifulSoup(page, "html.parser").select_one('input[name="csrf_token"]')["value"]
    manager.post(review, data={"csrf_token": csrf, "note": ""})
    assert "is marked as reviewed" in manager.get("/inbox/").get_data(as_text=True)
    assert "is marked as reviewed" not in manager.get("/inbox/").get_data(as_text=True)


def test_with_reuse_off_every_load_is_rendered(app, manager, people):
    raise_case(app, people)
    app.extensions.pop("page_reuse")
    load(manager, "/inbox/")
    _, again = load(manager, "/inbox/")
    assert again > SERVED_AGAIN  # the page's own queries ran again


def test_each_session_gets_its_own_page_with_its_own_csrf_token(app, clock, people):
    """The same person signed in twice: a page served again to one session has a token the other would refuse."""
    raise_case(app, people)
    sessions = [app.test_client(), app.test_client()]
    for client in sessions:
        sign_in(client, people["manager"])
        client.get("/cases/")
        client.get("/inbox/")
    for client in sessions:
        token = TOKEN.search(client.get("/inbox/").get_data(as_text=True)).group(1)
        assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302


def test_a_page_is_not_served_after_the_person_lost_the_role_it_needs(app, manager, people):
    raise_case(app, people)
    assert manager.get("/inbox/").status_code == 200
    with app.app_context():
        User.update(role="practitioner").where(User.id == people["manager"].id).execute()
    assert manager.get("/inbox/").status_code == 404


def test_a_message_waiting_is_shown_not_a_page_kept_without_it(app, manager, people):
    raise_case(app, people)
    manager.get("/inbox/")
    manager.get("/inbox/")  # kept
    with manager.session_transaction() as session:
        session["_flashes"] = [("message", "Something to tell you")]
    assert "Something to tell you" in manager.get("/inbox/").get_data(as_text=True)


def test_a_change_committed_while_the_case_is_read_is_not_kept_under_the_newer_version(
    app, clock, people, case, monkeypatch
):
    """The version is read as the request starts: a change committed after the case was read (here, while the
    view is recorded) leaves the page drawn from the older case under the older version, so the next load draws
    it again."""
    client = app.test_client()
    sign_in(client, people["raiser"])
    client.get("/cases/")
    record_view = case_views.record_view

    def renamed_meanwhile(escalation, actor):
        Escalation.update(child_name="Renamed Meanwhile").where(Escalation.id == escalation.id).execute()
        return record_view(escalation, actor)

    monkeypatch.setattr(case_views, "record_view", renamed_meanwhile)
    client.get(f"/cases/{case.reference}")
    monkeypatch.setattr(case_views, "record_view", record_view)
    assert "Renamed Meanwhile" in client.get(f"/cases/{case.reference}").get_data(as_text=True)
