"""Browser fixtures: the portal on a live server, Debian's Chromium through Playwright, and checks on every page.

Each test module gets one live server (a migrated SQLite file with the demo partnership seeded); each test gets
a fresh browser context, so nobody is signed in. `checks` follows the page: every document the browser loads
must be checked (axe-core, GOV.UK Frontend started, no console errors) before the next one loads, and the
test fails at teardown if one was not.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from werkzeug.serving import make_server

from portal import create_app, mail, wake_senders
from portal.cli import upgrade_database
from portal.db import database, init_database
from portal.demo import DEMO_PASSWORD, seed_demo
from portal.models import Agency, User
from portal.registry import registry
from portal.workflow import EscalationDetails, raise_escalation
from tests.conftest import TEST_PROCEDURE

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# Rules switched off, each with the upstream issue that makes it a false positive. None so far.
AXE_DISABLED_RULES: dict[str, str] = {}

PRACTITIONER = "practitioner@demo.example"
OFFICER = "officer@demo.example"
BUSINESS_MANAGER = "business.manager@demo.example"
PASSWORD = DEMO_PASSWORD

# Chromium logs the status of a document it loads, e.g. a 404 page or a form re-shown with errors (400).
_DOCUMENT_STATUS = re.compile(r"^Failed to load resource: the server responded with a status of (\d{3})")
# GOV.UK Frontend's initAll() reports a component that failed to start with console.log, not console.error.
_LOGGED_ERROR = re.compile(r"^\w*Error: ")


@dataclass
class LiveServer:
    url: str
    app: Flask

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The portal served by werkzeug on 127.0.0.1 and a free port, in a thread, for this module's tests."""
    tmp = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{tmp / 'portal.db'}"
    init_database(url)
    upgrade_database()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp / "instance"),
            "SECRET_KEY": "browser-test-secret-key-" + "x" * 32,
            "PROCEDURE": TEST_PROCEDURE,
            "MAIL_BACKEND": "file",
            "MAIL_FILE_DIR": str(tmp / "outbox"),
        }
    )
    with database.connection_context():
        seed_demo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(base, app)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    if not database.is_closed():
        database.close()


@pytest.fixture(autouse=True)
def _send_mail_as_the_app_does():
    """The root conftest clears the mail waker after every test; the module's live server still needs it."""
    mail.set_waker(wake_senders)
    yield


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): the browser tests are skipped")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as error:
        playwright.stop()
        pytest.skip(f"Chromium at {CHROMIUM} would not start: {error}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@dataclass
class PageChecks:
    """Watches a page: console errors, uncaught exceptions, and every document loaded."""

    page: Page
    console_errors: list[tuple[str, str]] = field(default_factory=list)  # (text, url)
    page_errors: list[str] = field(default_factory=list)
    error_documents: set[tuple[str, int]] = field(default_factory=set)  # (url, 4xx status) of pages loaded
    loads: list[str] = field(default_factory=list)
    checked_loads: int = 0
    unchecked: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        page = self.page
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("response", self._response)
        page.on("load", lambda: page.url != "about:blank" and self.loads.append(page.url))
        # Playwright's init scripts are exempt from the page's CSP, so this sees everything the CSP blocks.
        page.add_init_script(
            "window.__cspViolations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`));"
        )

    def _console(self, message) -> None:
        if message.type == "error" or _LOGGED_ERROR.match(message.text):
            self.console_errors.append((message.text, (message.location or {}).get("url", "")))

    def _response(self, response) -> None:
        if response.request.resource_type == "document" and 400 <= response.status < 500:
            self.error_documents.add((response.url, response.status))

    def unexpected_console_errors(self) -> list[str]:
        """Console errors other than Chromium's note of a document's own 4xx status (an error page we asked for)."""
        errors = []
        for text, url in self.console_errors:
            status = _DOCUMENT_STATUS.match(text)
            if status and (url, int(status.group(1))) in self.error_documents:
                continue
            errors.append(f"{text} ({url})")
        return errors + [f"uncaught: {error}" for error in self.page_errors]

    def __call__(self, context: str | None = None) -> None:
        """Check the page as it is now: axe-core (WCAG 2.2 AA, best practices), GOV.UK Frontend started, no errors."""
        page = self.page
        page.wait_for_load_state("load")
        fresh = not page.evaluate("window.__portalChecked === true")
        if fresh:
            # The load event of this document reaches Python just after the browser reports it: wait for it.
            for _ in range(100):
                if len(self.loads) > self.checked_loads:
                    break
                page.wait_for_timeout(20)
            self.unchecked += self.loads[self.checked_loads : -1]
            self.checked_loads = len(self.loads)
        assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')"), (
            f"{page.url}: the inline script did not run (CSP nonce?)"
        )
        not_started = page.evaluate(
            """() => [...document.querySelectorAll('[data-module]')]
                .filter(el => !el.hasAttribute(`data-${el.dataset.module}-init`))
                .map(el => el.dataset.module)"""
        )
        assert not not_started, f"{page.url}: GOV.UK Frontend did not start {not_started}"
        blocked = page.evaluate("window.__cspViolations")
        assert not blocked, f"{page.url}: the Content-Security-Policy blocked {blocked}"
        results = self.run_axe(context)
        assert results.violations_count == 0, f"axe on {page.url} ({page.title()}):\n{results.generate_report()}"
        errors = self.unexpected_console_errors()
        assert not errors, f"{page.url}: console errors:\n" + "\n".join(errors)
        page.evaluate("window.__portalChecked = true")

    def run_axe(self, context: str | None = None):
        """axe-core on the page as it is: WCAG 2.0, 2.1 and 2.2 A and AA rules, and axe's best practices."""
        options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
        if AXE_DISABLED_RULES:
            options["rules"] = {rule: {"enabled": False} for rule in AXE_DISABLED_RULES}
        return self.axe.run(self.page, context=context, options=options)

    def finish(self) -> None:
        """Every page the test loaded was checked; nothing went wrong after the last check."""
        unchecked = self.unchecked + self.loads[self.checked_loads :]
        assert not unchecked, f"pages loaded but never checked with axe: {unchecked}"
        errors = self.unexpected_console_errors()
        assert not errors, "console errors:\n" + "\n".join(errors)


@pytest.fixture
def checks(page):
    """Call `checks()` on every page the test visits; teardown fails if a loaded page went unchecked."""
    watcher = PageChecks(page)
    yield watcher
    watcher.finish()


def raise_demo_case(raiser_email: str, child: str, child_dob, counterpart_agency: str, counterpart_email: str) -> str:
    """A case raised through the workflow by a demo user about another demo agency (inside an app context and a
    connection); returns its reference."""
    raiser = User.get(User.email == raiser_email)
    details = EscalationDetails(
        child_name=child,
        child_dob=child_dob,
        summary="The plan was changed without telling the other agency.",
        action_taken="Emails and one phone call.",
        outcome_sought="A joint meeting this week.",
        raiser_role="Practitioner",
        raiser_agency_id=raiser.agency_id,
        raiser_contact_details="020 7946 0002",
        counterpart_name="A Counterpart",
        counterpart_email=counterpart_email,
        counterpart_agency_id=Agency.get(Agency.name == counterpart_agency).id,
        categories=["communication"],
    )
    return raise_escalation(registry.current(), raiser, details).reference
