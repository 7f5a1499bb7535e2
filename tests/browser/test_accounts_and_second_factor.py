"""In Chromium: the Business Manager sets up the authenticator app at first sign-in, signs in with a code and with
a recovery code; an administrator creates an account whose owner sets a password from the emailed link.

Every page is checked with axe-core (`checks`).
"""

from __future__ import annotations

import email
import re
import time
from email import policy
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect

from portal.db import database
from portal.models import RecoveryCode, User
from tests.browser.conftest import BUSINESS_MANAGER
from tests.browser.pages import Portal

pytestmark = pytest.mark.browser

ADMIN = "admin@demo.example"
NEW_PASSWORD = "lantern quietly copper ninety"


@pytest.fixture
def portal(page, checks):
    return Portal(page, checks)


@pytest.fixture
def second_factor_required(live_server):
    """The Business Manager must use a second factor; afterwards they are as the other tests expect: without one."""
    live_server.app.config["SECOND_FACTOR_ROLES"] = ("business_manager",)
    yield
    live_server.app.config["SECOND_FACTOR_ROLES"] = ()
    with live_server.app.app_context(), database.connection_context():
        manager = User.get(User.email == BUSINESS_MANAGER)
        RecoveryCode.delete().where(RecoveryCode.user == manager).execute()
        User.update(totp_secret="", totp_last_step=0).where(User.id == manager.id).execute()


def test_the_business_manager_sets_up_the_app_then_signs_in_with_a_code_and_a_recovery_code(
    portal, second_factor_required
):
    page = portal.page
    portal.sign_in(BUSINESS_MANAGER)
    portal.expect_heading("Set up your authenticator app")
    expect(page.locator(".portal-qr svg")).to_be_visible()
    totp = pyotp.TOTP(page.locator("#setup-key").inner_text().replace(" ", ""))
    portal.press("Continue")
    portal.expect_errors("Enter the code")
    page.get_by_label("Code").fill(totp.now())
    portal.press("Continue")
    portal.expect_heading("Save your recovery codes")
    codes = page.locator(".portal-recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    portal.press("I have saved my codes: continue")
    portal.expect_heading("All escalations")
    portal.follow("Your second factor")
    expect(page.get_by_text("10 unused recovery codes")).to_be_visible()
    portal.sign_out()

    portal.sign_in(BUSINESS_MANAGER)
    portal.expect_heading("Enter the code from your app")
    page.get_by_label("Code").fill("000000")
    portal.press("Continue")
    portal.expect_errors("The code is not correct")
    page.get_by_label("Code").fill(totp.at(time.time() + 30))  # the next step: the set-up code is spent
    portal.press("Continue")
    portal.expect_heading("All escalations")
    portal.sign_out()

    portal.sign_in(BUSINESS_MANAGER)
    page.get_by_label("Code").fill(codes[0])
    portal.press("Continue")
    portal.expect_heading("All escalations")
    expect(portal.flash()).to_contain_text("You used a recovery code: 9 left")


def test_an_administrator_creates_an_account_and_its_owner_sets_a_password(portal, live_server):
    page = portal.page
    portal.sign_in(ADMIN)
    portal.follow("Administration", exact=True)
    portal.follow("Accounts")
    portal.expect_heading("Accounts")
    portal.press("Create an account")
    portal.press("Create account and email a link")
    portal.expect_errors("Enter the person's email address", "Enter the person's name", "Select the role")
    page.get_by_label("Email address").fill("robin.new@csc.demo.example")
    page.get_by_label("Full name").fill("Robin New")
    page.get_by_label(re.compile("Practitioner: raises")).check()
    page.get_by_label("Agency").select_option("Children's Social Care")
    portal.press("Create account and email a link")
    portal.expect_heading("Accounts")
    expect(portal.flash()).to_contain_text("Robin New has been emailed a link")
    portal.follow("Robin New")
    portal.expect_heading("Robin New")
    expect(portal.summary_value("Status")).to_have_text("Waiting for them to set a password")
    portal.sign_out()

    outbox = Path(live_server.app.config["MAIL_FILE_DIR"])
    [sent] = [
        m
        for m in map(
            lambda p: email.message_from_bytes(p.read_bytes(), policy=policy.default), sorted(outbox.glob("*.eml"))
        )
        if m["To"].addresses[0].addr_spec == "robin.new@csc.demo.example"
    ]
    link = re.search(r"https?://\S+(/account/password/\S+)", sent.get_body(("plain",)).get_content()).group(1)
    portal.open(link)
    portal.expect_heading("Set your password")
    page.get_by_label("Password", exact=True).fill("password12345")
    portal.press("Set password")
    portal.expect_errors("This password is one of the most common passwords")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    portal.press("Set password")
    portal.expect_heading("Sign in")
    portal.sign_in("robin.new@csc.demo.example", NEW_PASSWORD)
    portal.expect_heading("My escalations")
    portal.follow("Change your password")
    portal.expect_heading("Change your password")


@pytest.fixture
def council_provider(live_server):
    """A local OpenID Connect provider (oidc-provider-mock) and the portal configured to use it."""
    from oidc_provider_mock import User, run_server_in_thread

    from portal.sso import init_sso

    people = [
        User(sub="bm-at-council", claims={"email": BUSINESS_MANAGER.upper(), "email_verified": True}),
        User(sub="unconfirmed", claims={"email": ADMIN, "email_verified": False}),
        User(sub="no-account", claims={"email": "someone.else@council.example", "email_verified": True}),
    ]
    app = live_server.app
    with run_server_in_thread(user_claims=people) as server:
        app.config.update(
            OIDC_ISSUER=f"http://localhost:{server.server_port}",
            OIDC_CLIENT_ID="portal",
            OIDC_CLIENT_SECRET="portal-secret",
            OIDC_NAME="Demo Council",
        )
        init_sso(app)
        yield app.config["OIDC_ISSUER"]
        app.extensions.pop("sso")
        app.config["OIDC_ISSUER"] = ""


@pytest.mark.parametrize(
    ("subject", "outcome"),
    [
        ("bm-at-council", "All escalations"),
        ("unconfirmed", "did not confirm an email address"),
        ("no-account", "There is no active portal account for someone.else@council.example"),
    ],
)
def test_single_sign_on_with_the_council_provider(portal, checks, council_provider, subject, outcome):
    page = portal.page
    portal.open("/sign-in")
    page.get_by_role("button", name="Sign in with Demo Council").click()
    page.get_by_role("button", name=subject, exact=True).click()  # the provider's page: sign in as this person
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1"))
    # The provider's page is the council's, not the portal's: it is not held to our checks (it loads a stylesheet
    # from a CDN this machine cannot reach).
    checks.loads = [url for url in checks.loads if not url.startswith(council_provider)]
    checks.console_errors = [(text, url) for text, url in checks.console_errors if url.startswith(page.url[:22])]
    portal.checks()
    if outcome == "All escalations":
        portal.expect_heading(outcome)
    else:
        portal.expect_heading("You cannot sign in this way")
        expect(page.get_by_text(outcome)).to_be_visible()
