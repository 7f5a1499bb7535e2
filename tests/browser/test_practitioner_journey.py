"""A practitioner raises, works and resolves an escalation in Chromium, as a person would: by labels and roles."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from portal.db import database
from portal.models import ActionLink, Escalation
from tests.browser.conftest import OFFICER, PASSWORD, PRACTITIONER
from tests.browser.pages import Answers, Keyboard, Portal, link_path

pytestmark = pytest.mark.browser


@pytest.fixture
def portal(page, checks):
    return Portal(page, checks)


@pytest.mark.real_pdf  # reads the Escalation Notice and the proforma back
def test_raise_escalate_and_resolve(portal, live_server):
    page = portal.page
    answers = Answers(child_name="Jamie Rivers")

    portal.open("/")
    portal.sign_in(PRACTITIONER)
    portal.expect_heading("My escalations")
    expect(page.get_by_text("Signed in as Sam Patel")).to_be_visible()

    portal.start_raising()
    portal.answer_all(answers)

    # Check your answers: every answer is there; one Change link goes back to its page and returns here.
    expect(portal.summary_value("Child's full name")).to_have_text("Jamie Rivers")
    expect(portal.summary_value("Child's date of birth")).to_have_text("3 May 2015")
    expect(portal.summary_value("Their agency")).to_have_text("Metropolitan Police")
    expect(portal.summary_value("What is the disagreement about?")).to_have_text(answers.categories[0])
    expect(portal.summary_value("Is the child subject to a child protection plan?")).to_have_text("Yes")
    expect(portal.summary_value("An earlier deadline for the first stage")).to_have_text("Not given")
    portal.follow("Change their email address")
    portal.expect_heading("Who you disagree with")
    expect(page.get_by_label("Their email address")).to_have_value("officer@demo.example")
    expect(page.get_by_role("link", name="Back")).to_have_attribute("href", re.compile(r"^/raise/check\?draft=\d+$"))
    page.get_by_label("Their email address").fill("jo.williams@met.demo.example")
    portal.continue_()
    portal.expect_heading("Check your answers before raising the escalation")
    expect(portal.summary_value("Their email address")).to_have_text("jo.williams@met.demo.example")
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()

    # A double click on "Raise escalation" (a person in a hurry) makes one case.
    reference = portal.raise_escalation(double_click=True)
    assert re.fullmatch(r"[A-Z0-9-]+", reference), reference
    with database.connection_context():
        assert Escalation.select().where(Escalation.child_name == answers.child_name).count() == 1

    portal.follow(f"View {reference}")
    portal.expect_heading(f"{reference}: Jamie Rivers")
    expect(portal.summary_value("Status")).to_have_text("Open")
    expect(portal.summary_value("Current stage")).to_have_text("Stage 1: Practitioners")

    # A record of a discussion.
    record = "Spoke to DC Williams on 5 March: she will ask her sergeant to review the closure."
    portal.follow("Add a record of a discussion")
    portal.expect_heading("Add a record of a discussion")
    page.get_by_label("Record of the discussion").fill(record)
    portal.press("Add record")
    expect(portal.flash()).to_contain_text("Your record was added.")

    # Escalate: a reason, and the people from the directory, already ticked.
    reason = "The sergeant upheld the closure; we still disagree about the threshold."
    portal.follow("Escalate to Stage 2: Line managers")
    portal.expect_heading("Escalate to the next stage")
    page.get_by_label("Reason for escalating").fill(reason)
    contacts = portal.group("Who should act at the next stage?").get_by_role("checkbox")
    expect(contacts).to_have_count(2)
    for index in range(2):
        expect(contacts.nth(index)).to_be_checked()
    people = [
        label.split(" (")[0]
        for label in portal.group("Who should act at the next stage?").locator("label").all_inner_texts()
    ]
    portal.press("Escalate")
    expect(portal.flash()).to_contain_text("Escalated to Stage 2: Line managers.")
    expect(portal.summary_value("Current stage")).to_have_text("Stage 2: Line managers")
    for person in people:
        expect(portal.summary_value("Who acts")).to_contain_text(person.strip())

    # Stage 2 is the line managers': the raiser records and withdraws, but resolving is theirs.
    expect(page.get_by_role("link", name="Mark as resolved")).to_have_count(0)
    with database.connection_context():
        manager = (
            ActionLink.select()
            .join(Escalation)
            .where(
                (Escalation.reference == reference) & (ActionLink.stage_index == 1) & (ActionLink.action == "resolve")
            )
            .first()
        )
    outcome = "Agreed at a line managers' meeting: a strategy discussion on Friday and a joint visit."
    case_page = page.url
    portal.open(link_path(live_server, reference, manager.recipient_email, "resolve", stage_index=1))
    portal.expect_heading("Record the agreed outcome")
    page.get_by_label("Agreed outcome").fill(outcome)
    portal.choose("Should any learning or gap in policy go to the partnership?", "No")
    portal.press("Record resolution")
    portal.expect_heading("Resolution recorded")
    portal.open(case_page)
    expect(portal.summary_value("Status")).to_have_text("Resolved")
    expect(page.get_by_role("heading", name="What you can do now")).to_have_count(0)

    # The records as PDFs: the Escalation Notice from raising, the proforma for a conflict resolved at stage 2.
    expect(page.get_by_role("link", name=re.compile(r"^Escalation Notice \(PDF, \d+ KB\)$"))).to_be_visible()
    link = page.get_by_role(
        "link", name=re.compile(r"^Proforma for reporting a conflict resolved at this stage, stage 2")
    )
    response = page.request.get(link.get_attribute("href"))  # the signed-in browser's own session
    assert response.ok and response.headers["content-type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(response.body()))
    text = " ".join("".join(p.extract_text() for p in pdf.pages).split())
    assert reference in text and outcome in text and "Jamie Rivers" in text

    timeline = portal.timeline()
    for title, text, by in [
        ("Escalation raised", answers.summary, "Sam Patel"),
        ("Record of a discussion", record, "Sam Patel"),
        ("Escalated to Stage 2", reason, "Sam Patel"),
        ("Resolved: agreed outcome", outcome, f"{manager.recipient_name} ({manager.recipient_email})"),
    ]:
        item = timeline.get_by_role("listitem").filter(has_text=title)
        expect(item).to_have_count(1)
        expect(item).to_contain_text(text)
        expect(item).to_contain_text(f"by {by}")

    portal.follow("Back to escalations")
    row = page.get_by_role("row").filter(has_text=answers.child_name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(reference)
    expect(row).to_contain_text("Resolved")

    portal.sign_out()
    page.goto("/cases/")
    portal.checks()
    portal.expect_heading("Sign in")


def test_invalid_answers_show_the_error_summary_and_keep_what_was_typed(portal):
    page = portal.page
    portal.open("/")
    portal.sign_in(PRACTITIONER)
    portal.start_raising()

    # Only the name: the date's summary link goes to the day, so GOV.UK Frontend can move focus there.
    page.get_by_label("Child's full name").fill("Robin Ashdown")
    portal.continue_()
    portal.expect_errors(
        "Enter the child's date of birth",
        "Select yes if the child is subject to a child protection plan",
        "Select yes if the child is looked after",
    )
    portal.error_summary().get_by_role("link", name="Enter the child's date of birth").click()
    dob = portal.group("Child's date of birth")
    expect(dob.get_by_label("Day", exact=True)).to_be_focused()
    portal.checks()

    # The date is in the future, and one question is not answered.
    dob.get_by_label("Day", exact=True).fill("1")
    dob.get_by_label("Month", exact=True).fill("1")
    dob.get_by_label("Year", exact=True).fill("2099")
    page.get_by_label("Local identifier (optional)").fill("ED-77")
    portal.choose("Is the child subject to a child protection plan?", "No")
    portal.continue_()

    portal.expect_errors("Date of birth must be in the past", "Select yes if the child is looked after")
    expect(page).to_have_title(re.compile(r"^Error: About the child"))
    # The summary takes focus when the page loads (GOV.UK Frontend), so a screen reader reads it first.
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    # Everything typed is still there.
    expect(page.get_by_label("Child's full name")).to_have_value("Robin Ashdown")
    expect(dob.get_by_label("Day", exact=True)).to_have_value("1")
    expect(dob.get_by_label("Month", exact=True)).to_have_value("1")
    expect(dob.get_by_label("Year", exact=True)).to_have_value("2099")
    expect(page.get_by_label("Local identifier (optional)")).to_have_value("ED-77")
    expect(portal.group("Is the child subject to a child protection plan?").get_by_label("No")).to_be_checked()

    # The summary link moves focus to the question.
    portal.error_summary().get_by_role("link", name="Select yes if the child is looked after").click()
    expect(portal.group("Is the child looked after?").get_by_label("Yes")).to_be_focused()
    portal.checks()

    # Corrected, the journey moves on (looked after: the child's IRO is named).
    dob.get_by_label("Year", exact=True).fill("2016")
    portal.choose("Is the child looked after?", "Yes")
    portal.continue_()
    portal.expect_errors(
        "Enter the name of the child's child protection chair or IRO",
        "Enter the email address of the child's child protection chair or IRO",
    )
    page.get_by_label("Name of the child's child protection chair or IRO").fill("Ruth IRO")
    page.get_by_label("Email address of the chair or IRO").fill("ruth.iro@partnership.demo.example")
    portal.continue_()
    portal.expect_heading("About you")

    # A text field: its summary link focuses the input.
    page.get_by_label("Your role").fill("")
    page.get_by_label("Your contact details").fill("")
    portal.continue_()
    portal.expect_errors("Enter your role", "Enter your contact details")
    portal.error_summary().get_by_role("link", name="Enter your contact details").click()
    expect(page.get_by_label("Your contact details")).to_be_focused()
    portal.checks()


def test_raising_an_escalation_with_the_keyboard_alone(portal):
    """From sign-in to the confirmation panel with Tab, Shift+Tab, Space, Enter, arrows and typing: no mouse."""
    page = portal.page
    keyboard = Keyboard(portal)
    keys = page.keyboard
    a = Answers(
        child_name="Alex Keyboard",
        counterpart_name="Sam Patel",
        counterpart_email="practitioner@demo.example",
        counterpart_agency="Children's Social Care",
        contact_details="020 7946 0001, jo.williams@met.demo.example",
        role="Detective Constable",
    )

    portal.open("/sign-in")
    # The skip link is the first thing in the tab order, and it shows when it has focus.
    keys.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    keyboard.assert_focus_visible()
    keyboard.type_into(page.get_by_label("Email address"), OFFICER)
    keyboard.type_into(page.get_by_label("Password", exact=True), PASSWORD)
    keyboard.press_and_load("Enter")
    portal.expect_heading("My escalations")

    # Skip to main content moves focus past the header; the next Tab is the page's own button.
    keys.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    keys.press("Enter")
    expect(page.locator("main")).to_be_focused()
    keys.press("Tab")
    raise_button = page.get_by_role("main").get_by_role("button", name="Raise an escalation")
    expect(raise_button).to_be_focused()
    keyboard.assert_focus_visible()
    keyboard.press_and_load("Enter")
    portal.expect_heading("Raise an escalation")
    keyboard.activate(page.get_by_role("button", name="Start now"))

    # Who it is about: the first radio, chosen with Space.
    portal.expect_heading("Who the disagreement is about")
    keyboard.tab_to(portal.group("Who is the disagreement about?").get_by_label("A child", exact=True))
    keys.press("Space")
    keyboard.activate(page.get_by_role("button", name="Continue"))

    # About the child: the tab order follows the page, field by field, down to Continue.
    portal.expect_heading("About the child")
    dob = portal.group("Child's date of birth")
    fields = [
        page.get_by_label("Child's full name"),
        dob.get_by_label("Day", exact=True),
        dob.get_by_label("Month", exact=True),
        dob.get_by_label("Year", exact=True),
        page.get_by_label("Local identifier (optional)"),
        portal.group("Is the child subject to a child protection plan?").get_by_label("Yes"),
        portal.group("Is the child looked after?").get_by_label("Yes"),
        page.get_by_label("Name of the child's child protection chair or IRO"),
        page.get_by_label("Email address of the chair or IRO"),
        page.get_by_role("button", name="Continue"),
    ]
    keyboard.tab_to(fields[0])
    for field in fields[1:]:
        keys.press("Tab")
        keyboard.assert_focus_visible()
        expect(field).to_be_focused()
    # Back up and fill it in, as a person would after reading the page.
    keyboard.tab_to(fields[0], backwards=True)
    keys.type(a.child_name)
    for field, value in zip(fields[1:5], [*a.dob, a.identifier], strict=True):
        keys.press("Tab")
        expect(field).to_be_focused()
        keys.type(value)
    keys.press("Tab")
    keys.press("Space")  # Yes: on a child protection plan
    keys.press("Tab")
    keys.press("ArrowDown")  # No: not looked after
    expect(portal.group("Is the child looked after?").get_by_label("No")).to_be_checked()
    keys.press("Tab")  # on a plan: the child's own chair or IRO
    keys.type(a.chair_name)
    keys.press("Tab")
    keys.type(a.chair_email)
    keyboard.activate(page.get_by_role("button", name="Continue"))

    portal.expect_heading("About you")
    keyboard.type_into(page.get_by_label("Your role"), a.role)
    keyboard.type_into(page.get_by_label("Your contact details"), a.contact_details)
    keyboard.press_and_load("Enter")  # submits the form from a text input

    portal.expect_heading("Raising it jointly")
    legend = "Is a practitioner from another agency raising this with you?"
    keyboard.tab_to(portal.group(legend).get_by_label("Yes"))
    keys.press("ArrowDown")  # No
    expect(portal.group(legend).get_by_label("No")).to_be_checked()
    keyboard.activate(page.get_by_role("button", name="Continue"))

    # Who you disagree with: a wrong email address, corrected through the error summary.
    portal.expect_heading("Who you disagree with")
    keyboard.type_into(page.get_by_label("Name of the practitioner"), a.counterpart_name)
    keyboard.type_into(page.get_by_label("Their email address"), "sam.patel-at-csc")
    keyboard.tab_to(page.get_by_label("Their agency", exact=True))
    keys.type("Children")  # type-ahead in a closed select
    expect(page.get_by_label("Their agency", exact=True)).to_have_value(re.compile(r"\d+"))
    keyboard.activate(page.get_by_role("button", name="Continue"))
    portal.expect_errors("Enter an email address in the correct format, like name@example.org")
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    keys.press("Tab")
    expect(portal.error_summary().get_by_role("link")).to_be_focused()
    keys.press("Enter")
    expect(page.get_by_label("Their email address")).to_be_focused()
    expect(page.get_by_label("Name of the practitioner")).to_have_value(a.counterpart_name)
    keys.press("Control+A")
    keys.type(a.counterpart_email)
    keyboard.activate(page.get_by_role("button", name="Continue"))

    portal.expect_heading("What the disagreement is about")
    keyboard.tab_to(portal.group("What is the disagreement about?").get_by_label(a.categories[0]))
    keys.press("Space")
    keyboard.activate(page.get_by_role("button", name="Continue"))

    portal.expect_heading("The concern")
    keyboard.type_into(page.get_by_label("Brief description of the concern"), a.summary)
    keyboard.type_into(page.get_by_label("Action already taken to resolve it"), a.action_taken)
    keyboard.activate(page.get_by_role("button", name="Continue"))

    portal.expect_heading("Outcome sought")
    keyboard.type_into(page.get_by_label("What outcome are you seeking for the child?"), a.outcome)
    keyboard.activate(page.get_by_role("button", name="Continue"))

    portal.expect_heading("Your safeguarding lead")
    keyboard.tab_to(portal.group("Is your designated safeguarding lead aware of this escalation?").get_by_label("Yes"))
    keys.press("Space")
    keyboard.type_into(page.get_by_label("Name of your safeguarding lead"), a.lead_name)
    keyboard.activate(page.get_by_role("button", name="Continue"))

    portal.expect_heading("Risk to the child")
    keyboard.tab_to(portal.group("Is the child at imminent risk of significant harm?").get_by_label("Yes"))
    keys.press("ArrowDown")  # No
    keyboard.tab_to(portal.group("Do any of these specific circumstances apply?").get_by_label("None of these"))
    keys.press("Space")
    keyboard.activate(page.get_by_role("button", name="Continue"))

    portal.expect_heading("Deadline")
    keyboard.activate(page.get_by_role("button", name="Continue"), key="Space")

    portal.expect_heading("Check your answers before raising the escalation")
    expect(portal.summary_value("Their email address")).to_have_text(a.counterpart_email)
    expect(portal.summary_value("Is the child looked after?")).to_have_text("No")
    expect(portal.summary_value("Is the child at imminent risk of significant harm?")).to_have_text("No")
    keyboard.activate(page.get_by_role("button", name="Raise escalation"))
    reference = portal.confirmation_reference()
    expect(page.get_by_role("link", name=f"View {reference}")).to_be_visible()
