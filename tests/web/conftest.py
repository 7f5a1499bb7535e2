"""Web-test helpers: every HTML page checked as it arrives, CSRF tokens from real pages, signing in."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
import time_machine
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests import factories

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 in London
TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
NONCE = re.compile(r"'nonce-([^']+)'")
# A "<" in the markup that opens no tag: text or an attribute printed without escaping.
BARE_LT = re.compile(r"<(?![A-Za-z/!?])")
# An entity still visible once the page is parsed: text escaped twice ("&amp;lt;" shows as "&lt;").
ENTITY = re.compile(r"&(?:[A-Za-z]+|#[0-9]+|#x[0-9A-Fa-f]+);")
# A case page's h1 is "ESC-2026-0001: <child's name>"; its title stops at the reference, so that the child's name
# never shows in tabs, history or a shared screen.
CASE_HEADING = re.compile(r"^(ESC-\d{4}-\d{4,}): .*")
CODE = re.compile(r"(<(script|style)\b[^>]*>).*?(</\2\s*>)", re.DOTALL | re.IGNORECASE)


def normalize_spaces(text: str) -> str:
    return " ".join(text.split())


def text_of_page(html: str) -> str:
    """What a reader sees: addresses carry <wbr> break points and spans, which a substring of the HTML misses."""
    return normalize_spaces(BeautifulSoup(html, "html.parser").get_text())


def check_page(html: str, nonce: str | None = None) -> None:
    """What every page must be, as GOV.UK Notify's test client checks: one h1 that starts the title ("Error: "
    first only with an error summary), unique ids, error-summary links to fields on the page, text escaped once,
    inline scripts carrying the response's CSP nonce, a CSRF token in every POST form."""
    page = BeautifulSoup(html, "html.parser")
    headings = page.find_all("h1")
    assert len(headings) == 1, f"expected one <h1>, found {[normalize_spaces(h.get_text()) for h in headings]}"
    h1, title = normalize_spaces(headings[0].get_text()), normalize_spaces(page.title.get_text() if page.title else "")
    summary = page.select_one(".govuk-error-summary")
    if summary is not None:
        assert title.startswith("Error: "), f"title {title!r} lacks 'Error: ' on a page with an error summary"
        title = title.removeprefix("Error: ")
    assert title.startswith(CASE_HEADING.sub(r"\1", h1)), f"title {title!r} does not start with the h1 {h1!r}"

    duplicates = [i for i, n in Counter(tag["id"] for tag in page.find_all(id=True)).items() if n > 1]
    assert not duplicates, f"duplicate ids {duplicates}"
    for link in summary.select("a") if summary is not None else []:
        target = link.get("href", "")
        assert target.startswith("#") and page.find(id=target[1:]), f"error summary links to {target!r}: not here"

    for script in page.find_all("script"):
        if not script.get("src"):
            assert script.get("nonce"), f"inline script without a nonce: {script}"
            assert nonce is None or script["nonce"] == nonce, "an inline script's nonce is not the response's"
    for form in page.find_all("form"):
        if (form.get("method") or "get").lower() == "post":
            assert form.find("input", attrs={"name": "csrf_token", "value": True}), (
                f"a POST form without a CSRF token: {form.get('action')}"
            )

    markup = CODE.sub(r"\1\3", html)  # scripts and styles are code, not text: "a < b" there is fine
    if bare := BARE_LT.search(markup):
        raise AssertionError(f"unescaped '<' in {markup[max(bare.start() - 60, 0) : bare.start() + 60]!r}")
    if twice := page.find(string=lambda text: ENTITY.search(text) and text.parent.name not in ("script", "style")):
        raise AssertionError(f"text escaped twice: {normalize_spaces(twice)!r}")


class CheckedClient(FlaskClient):
    """A test client that checks every HTML page it receives (check_page) before the test sees it.

    Redirects and HEAD responses have no page to check; everything else does, errors included."""

    def open(self, *args, **kwargs) -> TestResponse:
        response = super().open(*args, **kwargs)
        if response.mimetype == "text/html" and response.request.method != "HEAD" and not response.location:
            policy = NONCE.search(response.headers.get("Content-Security-Policy", ""))
            check_page(response.get_data(as_text=True), policy.group(1) if policy else None)
        return response


@pytest.fixture(autouse=True)
def checked_pages(monkeypatch):
    """Every app in a web test, the `app` fixture's and those a test makes itself, hands out a CheckedClient."""
    monkeypatch.setattr(Flask, "test_client_class", CheckedClient)


def token(client, url: str) -> str:
    response = client.get(url)
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({response.status_code})"
    return match.group(1)


def confirm(client, path: str, email: str) -> None:
    """The address the link was sent to, typed on the page that asks for it (an address not marked secure)."""
    assert client.post(f"{path}/address", data={"csrf_token": token(client, path), "email": email}).status_code == 302


def sign_in(client, user, password: str = factories.PASSWORD, url: str = "/sign-in"):
    """Through the form, as a browser would (posting back to the page's own URL, `next` included)."""
    return client.post(url, data={"csrf_token": token(client, url), "email": user.email, "password": password})


@pytest.fixture
def people(app):
    """A raiser, a colleague with no part in the case, the counterpart, the Business Manager and an admin."""
    with app.app_context():
        raiser, ours, theirs = factories.world()
        people = {
            "raiser": raiser,
            "stranger": factories.user(agency_=ours),
            "counterpart": factories.user(agency_=theirs, email="pat.counter@police.example"),
            "manager": factories.user("business_manager"),
            "admin": factories.user("admin"),
            "ours": ours,
            "theirs": theirs,
        }
    return people


@pytest.fixture
def case(app, people):
    import datetime as dt

    with app.app_context():
        return factories.escalation(people["raiser"], people["theirs"], dt.datetime.now(dt.UTC))


@pytest.fixture
def manager(clock, client, people):
    """The Business Manager signed in at START (the clock frozen there), on the dashboard where signing in lands:
    as in a browser, its page makes the session's CSRF secret (a page that changes the session is not kept)."""
    sign_in(client, people["manager"])
    client.get("/cases/")
    return client


def raise_case(app, people, at=START, **details) -> str:
    """A case from the raiser against their counterpart's agency; its reference."""
    with app.app_context():
        return factories.escalation(people["raiser"], people["theirs"], at, **details).reference


@pytest.fixture
def clock():
    """Frozen at START; tests move it with time-machine, never by sleeping."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller
