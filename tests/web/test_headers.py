"""Security headers on every kind of response, and assets built without GOV.UK's font or crown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.config import ROOT
from tests.web.conftest import sign_in

CSP = re.compile(
    r"^default-src 'self'; script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}'; style-src 'self'; img-src 'self' data:; "
    r"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'$"
)


@pytest.mark.parametrize("url", ["/", "/sign-in", "/accessibility", "/no-such-page", "/cases/"])
def test_security_headers(client, url):
    response = client.get(url, base_url="https://portal.test")
    assert CSP.match(response.headers["Content-Security-Policy"]), response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["Cache-Control"] == "no-store"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_the_nonce_changes_every_response(client):
    first = client.get("/").headers["Content-Security-Policy"]
    second = client.get("/").headers["Content-Security-Policy"]
    assert first != second
    html = client.get("/").get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", client.get("/").headers["Content-Security-Policy"]).group(1)
    assert nonce not in html  # each page carries its own


def test_case_pages_are_never_cached(client, people, case):
    sign_in(client, people["raiser"])
    assert client.get(f"/cases/{case.reference}").headers["Cache-Control"] == "no-store"


def test_https_sign_in_works_with_a_same_origin_referer(client, people):
    """Flask-WTF refuses HTTPS POSTs without a Referer; same-origin keeps one.

    docs/security.md, 'Cross-site request forgery'.
    """
    page = client.get("/sign-in", base_url="https://portal.test").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf, "email": people["raiser"].email, "password": "correct horse battery staple"}
    ok = client.post(
        "/sign-in", data=data, base_url="https://portal.test", headers={"Referer": "https://portal.test/sign-in"}
    )
    assert ok.status_code == 302
    evil = client.post(
        "/sign-in", data=data, base_url="https://portal.test", headers={"Referer": "https://evil.example/"}
    )
    assert evil.status_code == 400


def test_public_pages_are_well_formed(client):
    for url in ("/", "/sign-in", "/accessibility", "/no-such-page"):
        assert client.get(url).mimetype == "text/html", url  # so the client checked it as a page


def test_compiled_css_has_no_gds_transport_and_no_crown_assets_are_shipped():
    css = (ROOT / "static/css/portal.css").read_text()
    assert "GDS Transport" not in css
    shipped = {p.name for p in Path(ROOT / "static").rglob("*") if p.is_file()}
    assert not shipped & {"govuk-crest.svg", "govuk-icon-180.png", "favicon.ico", "bold-affa96571d-v2.woff"}


def test_robots_keep_everything_out_of_search_engines(client):
    assert client.get("/robots.txt").get_data(as_text=True) == "User-agent: *\nDisallow: /\n"
