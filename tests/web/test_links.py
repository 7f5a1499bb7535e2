"""Emailed links: scanners change nothing, a link acts once, and expired, superseded or forged links refuse."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from portal import links
from portal.db import database
from portal.models import MODELS, ActionLink, Escalation, Event, Outbox
from tests import factories

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)  # Tue; stage 1 due Tue 8 Dec 17:00


@pytest.fixture
def raised(app):
    with app.app_context(), time_machine.travel(START, tick=False):
        raiser, ours, theirs = factories.world()
        case = factories.escalation(raiser, theirs, START, counterpart_email="pat@secure.example")
        tokens = {
            (link.recipient_email, link.action): links.token_of(link)
            for link in ActionLink.select().where(ActionLink.escalation == case)
        }
    return case, tokens


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def state(case) -> tuple:
    with database.connection_context():
        fresh = Escalation.get_by_id(case.id)
        acts = Event.select().where((Event.escalation == case.id) & (Event.kind != "viewed")).count()
        used = ActionLink.select().where(ActionLink.used_at.is_null(False)).count()
        return fresh.status, fresh.stage_index, fresh.version, acts, used, Outbox.select().count()


def test_a_scanner_opening_every_link_changes_nothing(client, raised):
    case, tokens = raised
    before = state(case)
    scanner = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0"}
    for token in tokens.values():
        assert client.head(f"/a/{token}", headers=scanner).status_code == 200
        for _ in range(3):
            page = client.get(f"/a/{token}", headers=scanner)
            assert page.status_code == 200 and page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert state(case) == before
    with database.connection_context():
        views = Event.select().where((Event.escalation == case.id) & (Event.kind == "viewed"))
        assert all(v.data["may_be_automated"] and v.data["via"] == "emailed link" for v in views)


@pytest.mark.both_engines
def test_resolve_through_the_link_once(client, raised):
    case, tokens = raised
    url = f"/a/{tokens[('pat@secure.example', 'resolve')]}"
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf(page), "statement": "Agreed: joint home visit on Friday.", "learning": "no"}
    done = client.post(url, data=data)
    assert done.status_code == 302 and done.headers["Location"] == f"{url}/done"
    confirmation = client.get(f"{url}/done")
    assert confirmation.status_code == 200 and "Resolution recorded" in confirmation.get_data(as_text=True)
    assert case.reference in confirmation.get_data(as_text=True)
    assert "This link has already been used" in client.get(url).get_data(as_text=True)
    other_browser = client.application.test_client()  # the confirmation is for the person who acted
    assert other_browser.get(f"{url}/done").status_code == 410
    again = client.post(url, data=data)
    assert again.status_code == 410
    with database.connection_context():
        fresh = Escalation.get_by_id(case.id)
        assert (fresh.status, fresh.outcome) == ("resolved", "Agreed: joint home visit on Friday.")
        resolved = Event.get((Event.escalation == case.id) & (Event.kind == "resolved"))
        assert (resolved.actor_email, resolved.data["via"]) == ("pat@secure.example", "emailed link")
        assert Event.select().where(Event.kind == "resolved").count() == 1


def test_an_empty_record_is_refused_and_the_link_still_works(client, raised):
    case, tokens = raised
    url = f"/a/{tokens[('pat@secure.example', 'resolve')]}"
    before = state(case)
    response = client.post(url, data={"csrf_token": csrf(client.get(url).get_data(as_text=True)), "statement": ""})
    assert response.status_code == 400 and "Enter the agreed outcome" in response.get_data(as_text=True)
    assert state(case) == before


def test_extra_fields_cannot_steer_the_action(client, raised):
    case, tokens = raised
    url = f"/a/{tokens[('pat@secure.example', 'resolve')]}"
    data = {
        "csrf_token": csrf(client.get(url).get_data(as_text=True)),
        "statement": "Agreed outcome in writing.",
        "learning": "no",
        "status": "closed",
        "stage_index": "2",
        "escalation": "999",
    }
    client.post(url, data=data)
    with database.connection_context():
        fresh = Escalation.get_by_id(case.id)
        assert (fresh.status, fresh.stage_index) == ("resolved", 0)


@pytest.mark.both_engines
def test_escalate_through_the_link_moves_the_case_on_and_supersedes_the_other_links(client, raised):
    case, tokens = raised
    url = f"/a/{tokens[('pat@secure.example', 'escalate')]}"
    page = client.get(url).get_data(as_text=True)
    contacts = re.findall(r'name="contacts" type="checkbox" value="([^"]+)" checked', page)
    response = client.post(
        url, data={"csrf_token": csrf(page), "reason": "We could not agree at all.", "contacts": contacts}
    )
    assert response.status_code == 302
    with database.connection_context():
        assert Escalation.get_by_id(case.id).stage_index == 1
    other = client.get(f"/a/{tokens[('pat@secure.example', 'resolve')]}")
    assert other.status_code == 410 and "This case has moved on" in other.get_data(as_text=True)


def test_expired_links_refuse(client, raised):
    case, tokens = raised
    url = f"/a/{tokens[('pat@secure.example', 'resolve')]}"
    before = state(case)
    # Due Tue 8 Dec 17:00, plus 72 hours' grace: expired from Fri 11 Dec 17:00.
    with time_machine.travel(dt.datetime(2026, 12, 11, 16, 30, tzinfo=dt.UTC), tick=False) as clock:
        page = client.get(url).get_data(as_text=True)  # still open at 16:30
        clock.move_to(dt.datetime(2026, 12, 11, 17, 0, 1, tzinfo=dt.UTC))
        response = client.post(
            url, data={"csrf_token": csrf(page), "statement": "Too late to agree.", "learning": "no"}
        )
        assert response.status_code == 410 and "This link has expired" in response.get_data(as_text=True)
    assert state(case) == before


def test_forged_tokens_are_unknown(client, raised):
    case, tokens = raised
    for forged in ("x", "A" * 43, tokens[("pat@secure.example", "resolve")][:-1] + "x", "a" * 500):
        response = client.get(f"/a/{forged}")
        assert response.status_code == 404 and "This link is not recognised" in response.get_data(as_text=True)


def test_tokens_are_never_stored_in_clear(app, raised):
    case, tokens = raised
    with database.connection_context():
        dump = repr([[row.__data__ for row in model.select()] for model in MODELS])
    assert not any(token in dump for token in tokens.values())


def test_only_secure_addresses_see_the_child_at_once(client, raised):
    """An address not approved for personal data types the address the link was sent to first; a wrong one is
    refused and counted on the case, the right one shows the record for the rest of the browser session."""
    case, tokens = raised
    secure = client.get(f"/a/{tokens[('pat@secure.example', 'resolve')]}").get_data(as_text=True)
    raiser_email = next(email for email, _ in tokens if email != "pat@secure.example")
    url = f"/a/{tokens[(raiser_email, 'resolve')]}"
    plain = client.get(url).get_data(as_text=True)
    assert "Zzyzx Canaryson" in secure and "The referral was closed without an assessment." in secure
    assert "Zzyzx Canaryson" not in plain and "Confirm your email address" in plain
    assert "The referral was closed" not in plain and 'name="statement"' not in plain

    wrong = client.post(f"{url}/address", data={"csrf_token": csrf(plain), "email": "someone@else.example"})
    assert wrong.status_code == 400
    assert "Enter the email address this link was sent to" in wrong.get_data(as_text=True)
    assert "Zzyzx Canaryson" not in wrong.get_data(as_text=True)
    client.post(f"{url}/address", data={"csrf_token": csrf(plain), "email": "Pat@Secure.example"})  # another recipient
    with database.connection_context():
        refused = Event.select().where((Event.escalation == case.id) & (Event.kind == "address_refused"))
        assert refused.count() == 2 and all("someone@else" not in repr(e.data) for e in refused)

    right = client.post(f"{url}/address", data={"csrf_token": csrf(plain), "email": raiser_email.upper()})
    assert right.status_code == 302 and right.headers["Location"].endswith(url)
    shown = client.get(url).get_data(as_text=True)
    assert "Zzyzx Canaryson" in shown and "The referral was closed without an assessment." in shown
    assert 'name="statement"' in shown
    # Another browser has not confirmed it.
    assert "Zzyzx Canaryson" not in client.application.test_client().get(url).get_data(as_text=True)


def test_wrong_addresses_for_a_link_slow_down_without_keeping_the_recipient_out(client, raised):
    """Guessing the address behind a link gets 429 after a few tries; once the wait is over, the recipient typing
    the right address gets in (the same throttle as sign-in, never a lock)."""
    case, tokens = raised
    raiser_email = next(email for email, _ in tokens if email != "pat@secure.example")
    url = f"/a/{tokens[(raiser_email, 'resolve')]}"
    with time_machine.travel(START + dt.timedelta(hours=1), tick=False) as clock:
        page = client.get(url).get_data(as_text=True)
        codes = [
            client.post(
                f"{url}/address", data={"csrf_token": csrf(page), "email": f"guess{n}@else.example"}
            ).status_code
            for n in range(7)
        ]
        assert codes[:5] == [400] * 5 and codes[5:] == [429, 429]
        throttled = client.post(f"{url}/address", data={"csrf_token": csrf(page), "email": raiser_email})
        assert throttled.status_code == 429 and "Zzyzx Canaryson" not in throttled.get_data(as_text=True)
        clock.shift(dt.timedelta(minutes=2))
        right = client.post(f"{url}/address", data={"csrf_token": csrf(page), "email": raiser_email})
        assert right.status_code == 302
        assert "Zzyzx Canaryson" in client.get(url).get_data(as_text=True)


def test_https_link_post_with_same_origin_referer(client, raised):
    case, tokens = raised
    url = f"/a/{tokens[('pat@secure.example', 'resolve')]}"
    page = client.get(url, base_url="https://portal.test").get_data(as_text=True)
    data = {"csrf_token": csrf(page), "statement": "Agreed over the phone.", "learning": "no"}
    refused = client.post(url, data=data, base_url="https://portal.test", headers={"Referer": "https://evil.example/"})
    assert refused.status_code == 400
    ok = client.post(url, data=data, base_url="https://portal.test", headers={"Referer": f"https://portal.test{url}"})
    assert ok.status_code == 302
