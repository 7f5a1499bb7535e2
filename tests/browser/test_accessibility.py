"""axe-core (WCAG 2.2 AA tags) on every kind of page, empty and with errors; GOV.UK Frontend runs under the CSP.

`checks()` (tests/browser/conftest.py) runs axe on each page these tests load; its teardown fails a test
that loaded a page without checking it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from portal.db import database
from portal.models import Agency, Escalation, User
from portal.registry import registry
from portal.workflow import Actor, EscalationDetails, add_record, escalate, raise_escalation
from tests import factories
from tests.browser.conftest import BUSINESS_MANAGER, OFFICER, PRACTITIONER, PageChecks
from tests.browser.pages import Answers, Portal

pytestmark = pytest.mark.browser


@pytest.fixture
def portal(page, checks):
    return Portal(page, checks)


@dataclass(frozen=True)
class Cases:
    first_stage: str  # raised by the practitioner, open at stage 1
    last_stage: str  # escalated to the partnership: the business manager decides


@pytest.fixture(scope="module")
def cases(live_server) -> Cases:
    """Two cases made through the workflow, as the raise journey would make them."""
    app = live_server.app
    with app.app_context(), database.connection_context():
        procedure = registry.current()
        raiser = User.get(User.email == PRACTITIONER)
        police = Agency.get(Agency.name == "Metropolitan Police")

        def details(child: str, **extra) -> EscalationDetails:
            return EscalationDetails(
                child_name=child,
                child_dob=dt.date(2016, 9, 14),
                summary="The referral was closed without a strategy discussion.",
                action_taken="Two calls with the duty sergeant.",
                outcome_sought="A strategy discussion this week.",
                raiser_role="Social Worker",
                raiser_agency_id=raiser.agency_id,
                raiser_contact_details="020 7946 0000",
                counterpart_name="DC Morgan",
                counterpart_email="dc.morgan@met.demo.example",
                counterpart_agency_id=police.id,
                categories=["thresholds", "communication"],
                **extra,
            )

        first = raise_escalation(procedure, raiser, details("Casey First"))
        last = raise_escalation(
            procedure,
            raiser,
            details(
                "Drew Last",
                child_on_plan=True,
                child_chair_name="Ruth IRO",
                child_chair_email="cp.chair.or.iro@hounslow.safeguarding.children.partnership.demo.example",
                imminent_risk=True,
            ),
        )
        escalate(procedure, last, Actor.of(raiser), "The practitioners could not agree a plan at stage 1.")
        escalate(procedure, last, factories.acting(last, "escalate"), "The line managers could not agree a plan.")
        return Cases(first.reference, last.reference)


def test_public_pages_and_sign_in(portal):
    page = portal.page
    portal.open("/")
    expect(portal.heading()).to_be_visible()
    portal.follow("Accessibility statement")
    portal.open("/sign-in")
    portal.expect_heading("Sign in")

    portal.press("Sign in")
    portal.expect_errors("Enter your email address", "Enter your password")

    page.get_by_label("Email address").fill(OFFICER)
    page.get_by_label("Password", exact=True).fill("not the password")
    portal.press("Sign in")
    portal.expect_errors("Enter a correct email address and password")
    expect(page.get_by_label("Email address")).to_have_value(OFFICER)

    portal.open("/no-such-page")
    portal.expect_heading("Page not found")


def test_dashboards(portal, cases):
    portal.sign_in(OFFICER)
    portal.expect_heading("My escalations")
    expect(portal.page.get_by_text("You have no escalations yet.")).to_be_visible()
    portal.sign_out()

    portal.sign_in(PRACTITIONER)
    portal.expect_heading("My escalations")
    expect(portal.page.get_by_role("link", name=cases.first_stage)).to_be_visible()
    portal.follow("The procedure", exact=True)
    portal.follow("My escalations", exact=True)
    portal.sign_out()

    portal.sign_in(BUSINESS_MANAGER)
    portal.expect_heading("All escalations")


def test_pages_reflow_on_a_narrow_screen_without_scrolling_sideways(portal, cases, live_server):
    """WCAG 1.4.10: at 320 CSS pixels nothing but a table's own box scrolls sideways, long addresses included."""
    with live_server.app.app_context(), database.connection_context():
        case = Escalation.get(Escalation.reference == cases.last_stage)
        record = "Minutes at https://records.example.org/" + "minutes-of-the-strategy-meeting-" * 6 + " for all."
        add_record(registry.of_case(case), case, Actor.of(case.raiser), record)
    page = portal.page
    page.set_viewport_size({"width": 320, "height": 640})
    portal.sign_in(PRACTITIONER)
    for path in ("/cases/", f"/cases/{cases.last_stage}", "/", "/raise/child"):
        portal.open(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width}px wide at 320px"
        if path.startswith("/cases/ESC"):
            expect(page.get_by_role("region", name="Stages")).to_be_visible()  # the table scrolls in its own box


def test_who_has_opened_a_case_opened_by_keyboard_at_320px(portal, cases):
    """The one-line-per-person table inside its details: opened with the keyboard, axe-clean, no sideways page."""
    page = portal.page
    page.set_viewport_size({"width": 320, "height": 640})
    portal.sign_in(BUSINESS_MANAGER)
    portal.open(f"/cases/{cases.first_stage}")
    summary = page.locator("summary", has_text="Who has opened this case")
    summary.focus()
    page.keyboard.press("Enter")
    table = page.get_by_role("table", name="Each person who opened the case")
    expect(table).to_be_visible()
    expect(table.get_by_role("row")).not_to_have_count(1)  # the header and at least this view
    portal.checks()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


# Every word in a table cell or summary value, and the lines its boxes sit on; addresses may break, words may not.
BROKEN_WORDS = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, cell = node.parentElement;
    if (!cell.closest("td, th, .govuk-summary-list__value")) continue;
    if (cell.closest(".portal-address, .govuk-visually-hidden")) continue;
    for (const word of node.data.matchAll(/[^\\s\\-\\/]+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (lines.size > 1) broken.push(word[0]);
    }
  }
  return broken;
}"""


@pytest.mark.parametrize("width", [1280, 320])
def test_words_in_tables_break_only_where_they_are_addresses(portal, cases, live_server, width):
    """ "Close d" and "In progres s": a word in a cell wraps whole; only addresses and URLs break inside."""
    with live_server.app.app_context(), database.connection_context():
        case = Escalation.get(Escalation.reference == cases.last_stage)
        add_record(
            registry.of_case(case), case, Actor.of(case.raiser), "Minutes: https://records.example.org/" + "m" * 90
        )
    page = portal.page
    page.set_viewport_size({"width": width, "height": 800})
    portal.sign_in(BUSINESS_MANAGER)
    for path in ("/cases/", f"/cases/{cases.first_stage}", f"/cases/{cases.last_stage}"):
        portal.open(path)
        assert page.evaluate(BROKEN_WORDS) == [], f"{path} at {width}px"
    if width == 320:
        portal.open("/cases/")
        first = page.get_by_role("row").filter(has_text=cases.first_stage)
        for label in ("Deadline", "Status"):
            cell = first.locator(f'[data-label="{label}"]')
            box = cell.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 320, f"{label} is off screen at 320px"
        caption = page.locator("caption").bounding_box()
        assert caption["x"] + caption["width"] <= 320


def test_every_raise_page_empty_and_with_errors(portal):
    page = portal.page
    answers = Answers(
        child_name="Ellis Axe",
        categories=["Something else"],
        imminent_risk="Yes",
        circumstance="Imminent threat of media attention",
    )
    portal.sign_in(PRACTITIONER)
    portal.start_raising()

    # Each question page: as it first appears, with every error it can show, then answered.
    errors = {
        "About the child": [
            "Enter the child's full name",
            "Enter the child's date of birth",
            "Select yes if the child is subject to a child protection plan",
            "Select yes if the child is looked after",
        ],
        "About you": ["Enter your role", "Enter your contact details"],
        "Raising it jointly": ["Select yes if a practitioner from another agency is raising this with you"],
        "Who you disagree with": [
            "Enter the name of the practitioner you disagree with",
            "Enter their email address",
            "Select their agency",
        ],
        "What the disagreement is about": ["Select what the disagreement is about"],
        "The concern": [
            "Enter a brief description of the concern",
            "Enter the action already taken to resolve the disagreement",
        ],
        "Outcome sought": ["Enter the outcome you are seeking"],
        "Your safeguarding lead": ["Select yes if your safeguarding lead is aware"],
        "Risk to the child": [
            "Select yes if the child is at imminent risk of significant harm",
            "Select whether any specific circumstance applies",
        ],
    }
    for step, name in enumerate(Portal.questions("A child"), start=1):
        title, fill = Portal.QUESTIONS[name]
        portal.expect_heading(title)
        if title == "Deadline":
            deadline = portal.group("An earlier deadline for the first stage (optional)")
            for part, value in zip(("Day", "Month", "Year"), ("1", "1", "2020"), strict=True):
                deadline.get_by_label(part, exact=True).fill(value)
            portal.continue_()
            portal.expect_errors("The earlier deadline must be today or in the future")
            for part in ("Day", "Month", "Year"):
                deadline.get_by_label(part, exact=True).fill("")
        else:
            if title == "About you":
                page.get_by_label("Your agency or team").select_option(label="Select an agency")
                errors[title].insert(1, "Select your agency or team")
            portal.continue_()
            portal.expect_errors(*errors[title])
        if title == "What the disagreement is about":  # something else, without saying what
            portal.group("What is the disagreement about?").get_by_label("Something else").check()
            portal.continue_()
            portal.expect_errors("Enter what else the disagreement is about")
            answers.category_other = "Who pays for the placement"
        if title == "Your safeguarding lead":  # aware, without a name
            portal.choose("Is your designated safeguarding lead aware of this escalation?", "Yes")
            page.get_by_label("Name of your safeguarding lead").fill("")
            portal.continue_()
            portal.expect_errors("Enter the name of your safeguarding lead")
        if title == "About you":
            page.get_by_label("Your agency or team").select_option(label="Children's Social Care")
        getattr(portal, fill)(answers)
        portal.continue_()
        if step == 1:  # the start page offers to continue or discard once answers are saved; discarding asks first
            portal.follow("Raise an escalation", exact=True)
            portal.follow("Discard the escalation about Ellis Axe")
            portal.expect_heading("Are you sure you want to discard your answers?")
            portal.follow("No, keep them")

    # Check your answers, with both warnings (imminent risk, a specific circumstance).
    portal.expect_heading("Check your answers before raising the escalation")
    expect(page.get_by_text("You said the child is at imminent risk of significant harm.")).to_be_visible()
    reference = portal.raise_escalation()
    portal.follow(f"View {reference}")
    portal.expect_heading(f"{reference}: Ellis Axe")


def test_each_action_page_with_errors(portal, cases):
    page = portal.page
    portal.sign_in(PRACTITIONER)
    portal.open(f"/cases/{cases.first_stage}")
    portal.expect_heading(f"{cases.first_stage}: Casey First")

    portal.follow("Add a record of a discussion")
    portal.press("Add record")
    portal.expect_errors("Enter a record of the discussion")
    page.get_by_label("Record of the discussion").fill("Too short")
    portal.press("Add record")
    portal.expect_errors("Record of the discussion must be at least 10 characters")
    page.get_by_label("Record of the discussion").fill("Called DC Morgan; she will review the decision by Friday.")
    portal.press("Add record")
    expect(portal.flash()).to_contain_text("Your record was added.")  # the notification banner, checked too

    portal.follow("Mark as resolved")
    portal.press("Record resolution")
    portal.expect_errors(
        "Enter the agreed outcome", "Select yes if any learning or gap in policy should go to the partnership"
    )
    portal.choose("Should any learning or gap in policy go to the partnership?", "Yes")
    portal.press("Record resolution")
    portal.expect_errors("Enter the agreed outcome", "Enter what the partnership should consider")
    portal.follow(f"Back to {cases.first_stage}")

    portal.follow("Escalate to Stage 2: Line managers")
    for box in portal.group("Who should act at the next stage?").get_by_role("checkbox").all():
        box.uncheck()
    portal.press("Escalate")
    portal.expect_errors(
        "Enter the reason for escalating",
        "Select who should act at the next stage",
    )
    portal.follow(f"Back to {cases.first_stage}")

    portal.follow("Withdraw the escalation")
    portal.press("Withdraw escalation")
    portal.expect_errors("Enter the reason for withdrawing")

    # A case that is not there, and an action that is not there, look the same: not found.
    portal.open("/cases/ESC-1999-9999")
    portal.expect_heading("Page not found")
    portal.open(f"/cases/{cases.first_stage}/approve")
    portal.expect_heading("Page not found")


def test_the_final_decision_page_with_errors(portal, cases):
    portal.sign_in(BUSINESS_MANAGER)
    portal.follow(cases.last_stage)
    portal.expect_heading(f"{cases.last_stage}: Drew Last")
    expect(portal.summary_value("Current stage")).to_have_text("Stage 3: The partnership")
    portal.follow("Record the final decision")
    portal.expect_heading("Record the final decision")
    portal.press("Record final decision")
    portal.expect_errors("Enter the final decision")


def test_govuk_frontend_runs_under_the_content_security_policy(portal):
    page = portal.page
    response = page.goto("/sign-in")
    portal.checks()
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    # The password toggle only exists when GOV.UK Frontend's JavaScript has run.
    page.get_by_role("button", name="Show password").click()
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("type", "text")
    portal.sign_in(OFFICER)
    portal.open("/raise/concern")
    summary = page.get_by_label("Brief description of the concern")
    summary.fill("Twelve chars")
    # The character count is drawn by GOV.UK Frontend's JavaScript (the server renders an empty message).
    expect(page.get_by_text("You have 4,988 characters remaining")).to_be_visible()
    portal.checks()


def test_the_checks_fail_when_they_should(page):
    """The harness itself: axe finds a known violation; an unchecked page and a console error fail a test."""
    watcher = PageChecks(page)
    page.set_content('<html lang="en"><title>Broken</title><main><h1>Broken</h1><img src="data:,"><input></main>')
    found = {violation["id"] for violation in watcher.run_axe().response["violations"]}
    assert {"image-alt", "label"} <= found, found

    page.goto("/")
    page.goto("/accessibility")
    watcher()
    page.evaluate("console.error('something broke')")
    with pytest.raises(AssertionError, match="never checked with axe") as unchecked:
        watcher.finish()
    assert "accessibility" not in str(unchecked.value)
    watcher.unchecked.clear()
    with pytest.raises(AssertionError, match="something broke"):
        watcher.finish()
