"""The page check every web test's client runs: each rule refuses the page that breaks it."""

from __future__ import annotations

import re

import pytest
from flask import Flask, redirect

from tests.web.conftest import CheckedClient, check_page

FORM = '<form method="post" action="/x"><input type="hidden" name="csrf_token" value="t"></form>'
SUMMARY = '<div class="govuk-error-summary"><ul><li><a href="#email">Enter your email address</a></li></ul></div>'


def page(title: str = "Sign in – Partnership", body: str = "<h1>Sign in</h1>") -> str:
    return f'<!DOCTYPE html><html lang="en"><head><title>{title}</title></head><body>{body}</body></html>'


@pytest.mark.parametrize(
    "html",
    [
        page(),
        page(body=f'<h1>Sign in</h1>{FORM}<script nonce="n">if (1 < 2) {{}}</script>'),
        page("Error: Sign in – Partnership", f'{SUMMARY}<h1>Sign in</h1><input id="email">'),
        page("ESC-2026-0001 – Partnership", "<h1>ESC-2026-0001: Zzyzx Canaryson</h1>"),
        page(body='<h1>Sign in</h1><p>Typed: &lt;img src="x"&gt; &amp; more</p>'),
    ],
    ids=["plain", "form-and-script", "error-summary", "case-page", "escaped-once"],
)
def test_a_well_formed_page_passes(html):
    check_page(html, nonce="n")


@pytest.mark.parametrize(
    ("html", "message"),
    [
        pytest.param(page(body="<h1>Sign in</h1><h1>Again</h1>"), "expected one <h1>", id="two-h1"),
        pytest.param(page(body="<p>No heading</p>"), "expected one <h1>", id="no-h1"),
        pytest.param(page("Cases – Partnership"), "does not start with the h1", id="title-not-h1"),
        pytest.param(
            page("ESC-2026-0002 – Partnership", "<h1>ESC-2026-0001: Zzyzx</h1>"),
            "does not start with the h1",
            id="title-other-case",
        ),
        pytest.param(
            page("Error: Sign in – Partnership"), "does not start with the h1", id="error-prefix-without-summary"
        ),
        pytest.param(
            page(body=f'{SUMMARY}<h1>Sign in</h1><input id="email">'),
            "lacks 'Error: '",
            id="summary-without-error-prefix",
        ),
        pytest.param(
            page("Error: Sign in – Partnership", f"{SUMMARY}<h1>Sign in</h1>"),
            "error summary links to '#email'",
            id="summary-link-to-nowhere",
        ),
        pytest.param(page(body='<h1 id="a">Sign in</h1><p id="a">x</p>'), "duplicate ids ['a']", id="duplicate-ids"),
        pytest.param(
            page(body="<h1>Sign in</h1><script>alert(1)</script>"),
            "inline script without a nonce",
            id="script-without-nonce",
        ),
        pytest.param(
            page(body='<h1>Sign in</h1><script nonce="other">alert(1)</script>'),
            "nonce is not the response's",
            id="script-with-another-nonce",
        ),
        pytest.param(
            page(body='<h1>Sign in</h1><form method="post" action="/x"></form>'),
            "a POST form without a CSRF token",
            id="post-without-csrf",
        ),
        pytest.param(page(body="<h1>Sign in</h1><p>1 < 2</p>"), "unescaped '<'", id="bare-lt"),
        pytest.param(
            page(body="<h1>Sign in</h1><p>&amp;lt;img&amp;gt;</p>"),
            "text escaped twice: '&lt;img&gt;'",
            id="text-escaped-twice",
        ),
        pytest.param(
            page("Sign &amp;amp; in", "<h1>Sign &amp;amp; in</h1>"), "text escaped twice", id="title-escaped-twice"
        ),
    ],
)
def test_each_rule_refuses_a_page_that_breaks_it(html, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_page(html, nonce="n")


def test_the_client_checks_every_html_response_but_redirects():
    app = Flask(__name__)
    app.add_url_rule("/bad", "bad", lambda: (page(body="<p>No heading</p>"), 404))
    app.add_url_rule("/good", "good", lambda: page())
    app.add_url_rule("/away", "away", lambda: redirect("/good"))
    app.add_url_rule("/text", "text", lambda: ("<p>not a page</p>", 200, {"Content-Type": "text/plain"}))
    client = app.test_client()

    assert isinstance(client, CheckedClient)
    assert client.get("/good").status_code == 200
    assert client.get("/away").status_code == 302
    assert client.get("/text").status_code == 200
    with pytest.raises(AssertionError, match="expected one <h1>"):
        client.get("/bad")
