"""Nothing typed is lost: every text form shows its answers again after an expired session or CSRF token, and a
link page refused because another party acted first shows its text back."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal import links
from portal.db import database
from portal.models import ActionLink, Contact, Event
from tests.web.conftest import confirm, sign_in, token

PROMISE = "Sign in again and your answers will be restored"
RESTORED = "What you typed before you were signed out is below. Check it and submit it again."


def expire_and_post(client, user, clock, url: str, data: dict):
    """Signed in, the form loaded, idle past the timeout, then sent: the sign-in page and where it leads."""
    sign_in(client, user)
    csrf = token(client, url)
    clock.shift(dt.timedelta(hours=1))
    response = client.post(url, data={"csrf_token": csrf, **data})
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    return response.headers["Location"]


@pytest.mark.parametrize(
    ("who", "path", "data", "shown"),
    [
        ("raiser", "/cases/{ref}/record", {"text": "Met Pat at 3pm; agreed a joint visit."}, ["joint visit"]),
        ("raiser", "/cases/{ref}/withdraw", {"reason": "The family moved out of the area."}, ["moved out of"]),
        (
            "raiser",
            "/cases/{ref}/resolve",
            {"statement": "Strategy meeting on Friday.", "learning": "yes", "learning_details": "Ring first."},
            ["Strategy meeting on Friday.", "Ring first."],
        ),
        (
            "raiser",
            "/cases/{ref}/escalate",
            {"reason": "No reply in five working days.", "contacts": []},
            ["No reply in five working days."],
        ),
        ("admin", "/admin/directory/agencies/new", {"name": "Hollyfield Primary", "kind": "education"}, ["Hollyfield"]),
    ],
)
def test_a_text_form_sent_after_the_session_ended_comes_back_after_signing_in(
    client, clock, people, case, who, path, data, shown
):
    url = path.format(ref=case.reference)
    sign_in_page = expire_and_post(client, people[who], clock, url, data)
    assert PROMISE in client.get(sign_in_page).get_data(as_text=True)
    back = sign_in(client, people[who], url=sign_in_page)
    assert back.headers["Location"] == url
    page = client.get(url).get_data(as_text=True)
    assert RESTORED in page
    for text in shown:
        assert text in page
    again = client.get(url).get_data(as_text=True)  # once: a reload starts afresh
    assert RESTORED not in again and shown[0] not in again


def test_an_escalate_form_restores_the_people_ticked_not_the_defaults(client, clock, people, case):
    url = f"/cases/{case.reference}/escalate"
    sign_in(client, people["raiser"])
    offered = re.findall(r'name="contacts" type="checkbox" value="([^"]+)" checked', client.get(url).get_data(True))
    assert len(offered) >= 2
    client.post("/sign-out", data={"csrf_token": token(client, "/cases/")})
    sign_in_page = expire_and_post(
        client, people["raiser"], clock, url, {"reason": "Still no plan.", "contacts": offered[:1]}
    )
    sign_in(client, people["raiser"], url=sign_in_page)
    page = client.get(url).get_data(as_text=True)
    assert re.findall(r'name="contacts" type="checkbox" value="([^"]+)" checked', page) == offered[:1]


def test_a_directory_contact_being_changed_comes_back_over_what_is_saved(client, clock, people):
    with database.connection_context():
        kay = Contact.create(agency=people["theirs"].id, role="head_of_service", name="Kay", email="kay@p.example")
    url = f"/admin/directory/contacts/{kay.id}"
    data = {
        "agency": str(people["theirs"].id),
        "role": "head_of_service",
        "name": "Superintendent Kay Mensah",
        "job_title": "Head of Public Protection",
        "email": "kay@p.example",
        "secure": "yes",
    }
    sign_in(client, people["admin"], url=expire_and_post(client, people["admin"], clock, url, data))
    page = client.get(url).get_data(as_text=True)
    assert 'value="Superintendent Kay Mensah"' in page and 'value="Head of Public Protection"' in page


def test_the_sign_in_page_promises_only_what_a_page_restores(app, clock, people):
    """A form with nothing typed (sign-out, the directory import's file) is not promised back."""
    for url, data in (("/sign-out", {"submit": "Sign out"}), ("/admin/directory/import", {"submit": "Import"})):
        client = app.test_client()
        sign_in_page = expire_and_post(client, people["admin"], clock, url, data)
        assert PROMISE not in client.get(sign_in_page).get_data(as_text=True), url


@pytest.mark.parametrize(
    ("path", "data", "shown"),
    [
        ("/cases/{ref}/record", {"text": "Met Pat at 3pm; agreed a joint visit."}, "joint visit"),
        ("/admin/directory/agencies/new", {"name": "Hollyfield Primary", "kind": "education"}, "Hollyfield"),
    ],
)
def test_an_expired_csrf_token_shows_the_text_again(client, people, case, path, data, shown):
    sign_in(client, people["admin" if path.startswith("/admin") else "raiser"])
    response = client.post(path.format(ref=case.reference), data={"csrf_token": "expired", **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Your session timed out" in html and shown in html


def test_a_stale_link_page_is_refused_politely_with_its_text_shown_back(app, client, case):
    with app.app_context(), database.connection_context():
        tokens = {
            link.action: links.token_of(link)
            for link in ActionLink.select().where(
                (ActionLink.escalation == case.id) & (ActionLink.recipient_email == case.counterpart_email)
            )
        }
    resolve, escalate = f"/a/{tokens['resolve']}", f"/a/{tokens['escalate']}"
    confirm(client, resolve, case.counterpart_email)  # an address not marked secure types it first
    confirm(client, escalate, case.counterpart_email)
    resolve_page = client.get(resolve).get_data(as_text=True)  # open in one tab, typed slowly
    escalate_page = client.get(escalate).get_data(as_text=True)
    contacts = re.findall(r'name="contacts" type="checkbox" value="([^"]+)" checked', escalate_page)
    moved = client.post(
        escalate, data={"csrf_token": token_in(escalate_page), "reason": "Could not agree.", "contacts": contacts}
    )
    assert moved.status_code == 302
    statement = "We agreed a joint visit on Friday\nand a review in a fortnight."
    stale = client.post(resolve, data={"csrf_token": token_in(resolve_page), "statement": statement, "learning": "no"})
    html = stale.get_data(as_text=True)
    assert stale.status_code == 410
    assert "This case has moved on" in html and "What you wrote" in html and "It was not saved" in html
    assert statement in html
    with database.connection_context():
        assert not Event.select().where((Event.escalation == case.id) & (Event.kind == "resolved")).exists()


def token_in(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_a_refused_unknown_link_echoes_nothing(client):
    html = client.post("/a/not-a-token", data={"statement": "Anything at all"}).get_data(as_text=True)
    assert "Anything at all" not in html
