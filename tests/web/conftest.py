"""Web-test helpers: CSRF tokens from real pages, signing in through the form, page structure checks."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from html.parser import HTMLParser

import pytest
import time_machine

from tests import factories

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 in London
TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.h1: list[str] = []
        self.title = ""
        self.scripts: list[dict] = []
        self.forms: list[dict] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag in {"h1", "title"}:
            self._in = tag
            if tag == "h1":
                self.h1.append("")
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "form":
            self.forms.append({"method": (attributes.get("method") or "get").lower(), "csrf": False})
        if tag == "input" and attributes.get("name") == "csrf_token" and self.forms:
            self.forms[-1]["csrf"] = True

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "h1":
            self.h1[-1] += data
        elif self._in == "title":
            self.title += data


def check_page(html: str) -> _Structure:
    """What every page must be: one h1 that starts the title, unique ids, nonced scripts, CSRF on POST forms."""
    page = _Structure()
    page.feed(html)
    assert len(page.h1) == 1, f"expected one <h1>, found {page.h1}"
    h1 = " ".join(page.h1[0].split())
    title = " ".join(page.title.split()).removeprefix("Error: ")
    assert title.startswith(h1.split(":")[0]), f"title {title!r} does not start with h1 {h1!r}"
    duplicates = [i for i, n in Counter(page.ids).items() if n > 1]
    assert not duplicates, f"duplicate ids {duplicates}"
    for script in page.scripts:
        assert "src" in script or "nonce" in script, f"inline script without a nonce: {script}"
    for form in page.forms:
        if form["method"] == "post":
            assert form["csrf"], "a POST form without a CSRF token"
    return page


def token(client, url: str) -> str:
    response = client.get(url)
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({response.status_code})"
    return match.group(1)


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
def clock():
    """Frozen at START; tests move it with time-machine, never by sleeping."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller
