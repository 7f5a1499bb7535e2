"""Nothing typed is lost, and every kind of case can be raised, in Chromium: an expired session on a case action
and a directory form, an expired token on an emailed link, two tabs on one draft, and a strategic case, an unborn
baby's and a joint escalation each raised and carried to an outcome."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from portal.db import database
from portal.models import Agency, Escalation, User, UserSession
from portal.registry import registry
from portal.workflow import EscalationDetails, raise_escalation
from tests.browser.conftest import OFFICER, PRACTITIONER, PageChecks
from tests.browser.pages import Answers, Portal, link_path

pytestmark = pytest.mark.browser
ADMIN = "admin@demo.example"
STRATEGIC = "No particular child: a strategic or thematic disagreement"
PROMISE = "Sign in again and your answers will be restored."
RESTORED = "What you typed before you were signed out is below. Check it and submit it again."


@pytest.fixture
def portal(page, checks):
    return Portal(page, checks)


@pytest.fixture(scope="module")
def case(live_server) -> str:
    with live_server.app.app_context(), database.connection_context():
        raiser = User.get(User.email == PRACTITIONER)
        police = Agency.get(Agency.name == "Metropolitan Police")
        details = EscalationDetails(
            child_name="Casey Kept",
            child_dob=dt.date(2016, 9, 14),
            summary="The referral was closed without a strategy discussion.",
            outcome_sought="A strategy discussion this week.",
            raiser_agency_id=raiser.agency_id,
            counterpart_name="Jo Williams",
            counterpart_email=OFFICER,
            counterpart_agency_id=police.id,
            categories=["thresholds"],
        )
        return raise_escalation(registry.current(), raiser, details).reference


def end_every_session(live_server) -> None:
    """What an idle timeout does: the server forgets the session; the browser still sends its cookie."""
    with live_server.app.app_context(), database.connection_context():
        UserSession.delete().execute()


def submit_after_the_session_ended(portal: Portal, live_server, button: str, email: str) -> None:
    end_every_session(live_server)
    portal.press(button)
    portal.expect_heading("Sign in")
    expect(portal.flash()).to_contain_text(PROMISE)
    portal.sign_in(email)
    expect(portal.flash()).to_contain_text(RESTORED)


def test_an_expired_session_keeps_the_text_of_a_case_action_and_a_directory_form(portal, live_server, case):
    page = portal.page
    record = "Spoke to DC Williams at 3pm.\nShe will ask her sergeant to review the closure."
    portal.open("/sign-in").sign_in(PRACTITIONER)
    portal.open(f"/cases/{case}/record")
    page.get_by_label("Record of the discussion").fill(record)
    submit_after_the_session_ended(portal, live_server, "Add record", PRACTITIONER)
    portal.expect_heading("Add a record of a discussion")
    expect(page.get_by_label("Record of the discussion")).to_have_value(record)
    portal.press("Add record")
    expect(portal.flash()).to_contain_text("Your record was added.")

    portal.sign_out()
    portal.sign_in(ADMIN)
    portal.open("/admin/directory/agencies/new")
    page.get_by_label("Agency name").fill("Hollyfield Academy Trust")
    submit_after_the_session_ended(portal, live_server, "Add agency", ADMIN)
    expect(page.get_by_label("Agency name")).to_have_value("Hollyfield Academy Trust")


def test_two_tabs_on_one_draft_raise_only_what_was_checked(portal, live_server, context):
    page = portal.page
    portal.open("/sign-in").sign_in(PRACTITIONER)
    portal.start_raising()
    # Jumping to the last page and pressing Continue says which answers are missing, with links to them.
    portal.open(page.url.replace("/raise/child", "/raise/deadline"))
    portal.continue_()
    portal.expect_heading("You have not answered every question")
    portal.follow("About the child", exact=True)
    portal.answer_all(Answers(child_name="Robin First"))
    check = page.url
    assert re.search(r"/raise/check\?draft=\d+$", check), check

    # A second tab continues the same draft, with its answers, and changes the child's name.
    other = Portal(context.new_page(), PageChecks(context.pages[-1]))
    other.open(check)
    expect(other.summary_value("Child's full name")).to_have_text("Robin First")
    other.follow("Change child's full name")
    other.page.get_by_label("Child's full name").fill("Robin Second")
    other.continue_()
    expect(other.summary_value("Child's full name")).to_have_text("Robin Second")
    other.checks.finish()

    # The first tab still shows the old name: it is not raised; the current answers are shown to confirm.
    page.get_by_role("button", name="Raise escalation", exact=True).click()
    portal.checks()
    portal.expect_heading("Check your answers before raising the escalation")
    expect(page.locator("#submit-error")).to_contain_text("changed in another tab or window")
    expect(portal.summary_value("Child's full name")).to_have_text("Robin Second")
    reference = portal.raise_escalation()
    with database.connection_context():
        assert Escalation.get(Escalation.reference == reference).child_name == "Robin Second"


def resolve_by_link(portal: Portal, live_server, reference: str, outcome: str, expire_token: bool = False) -> None:
    """The counterpart records the agreed outcome from their emailed link (optionally after their token expired)."""
    page = portal.page
    portal.open(link_path(live_server, reference, OFFICER, "resolve"))
    portal.confirm_address(OFFICER)
    portal.expect_heading("Record the agreed outcome")
    page.get_by_label("Agreed outcome").fill(outcome)
    portal.choose("Should any learning or gap in policy go to the partnership?", "No")
    if expire_token:  # the browser lost its cookie (closed, or hours passed): the page comes back with the text
        page.context.clear_cookies()
        portal.press("Record resolution")
        expect(page.locator(".govuk-inset-text")).to_contain_text("What you wrote is kept")
        portal.confirm_address(OFFICER)  # the ended session had confirmed it
        expect(page.get_by_label("Agreed outcome")).to_have_value(outcome)
    portal.press("Record resolution")
    portal.expect_heading("Resolution recorded")


def test_a_strategic_case_is_raised_and_resolved_without_a_child(portal, live_server):
    page = portal.page
    portal.open("/sign-in").sign_in(PRACTITIONER)
    portal.start_raising(STRATEGIC)
    portal.answer_all(Answers(subject=STRATEGIC, counterpart_email=OFFICER))
    expect(portal.summary_value("Who is the disagreement about?")).to_have_text(STRATEGIC)
    expect(page.get_by_text("Child's full name")).to_have_count(0)
    reference = portal.raise_escalation()
    portal.follow(f"View {reference}")
    portal.expect_heading(f"{reference}: No particular child (strategic)")
    portal.sign_out()
    resolve_by_link(portal, live_server, reference, "A joint protocol for closing referrals.", expire_token=True)
    with database.connection_context():
        case = Escalation.get(Escalation.reference == reference)
        assert (case.subject, case.child_name, case.status) == ("none", "", "resolved")


def test_an_unborn_baby_s_case_is_raised_and_resolved(portal, live_server, context):
    due = dt.date.today() + dt.timedelta(weeks=10)
    answers = Answers(
        subject="An unborn baby",
        child_name="Unborn baby of Alex Smith",
        due=(str(due.day), str(due.month), str(due.year)),
        on_plan="No",
        counterpart_email=OFFICER,
    )
    portal.open("/sign-in").sign_in(PRACTITIONER)
    portal.start_raising(answers.subject)
    portal.answer_all(answers)
    expect(portal.summary_value("Expected date of delivery")).to_have_text(f"{due:%-d %B %Y}")
    reference = portal.raise_escalation()
    portal.follow(f"View {reference}")
    expect(portal.summary_value("Expected date of delivery")).to_have_text(f"{due:%-d %B %Y}")
    portal.sign_out()
    # The officer starts writing on the escalate link in another tab, then resolves in this one.
    stale = Portal(context.new_page(), PageChecks(context.pages[-1]))
    stale.open(link_path(live_server, reference, OFFICER, "escalate"))
    stale.confirm_address(OFFICER)
    reason = "We still disagree about the threshold for a pre-birth assessment."
    stale.page.get_by_label("Reason for escalating").fill(reason)
    resolve_by_link(portal, live_server, reference, "A pre-birth assessment starts this week.")
    stale.press("Escalate")
    stale.expect_heading("This case has moved on")
    expect(stale.page.locator("#typed")).to_contain_text(reason)
    stale.checks.finish()
    with database.connection_context():
        case = Escalation.get(Escalation.reference == reference)
        assert (case.subject, case.child_due, case.status) == ("unborn", due, "resolved")


def test_a_joint_escalation_lets_the_other_raising_agency_act_as_the_raiser(portal, live_server):
    page = portal.page
    answers = Answers(
        child_name="Jordan Joint",
        joint_name="Jo Williams",
        joint_email=OFFICER,
        joint_agency="Metropolitan Police",
        counterpart_name="Nurse Lee",
        counterpart_email="nurse.lee@nhs.demo.example",
        counterpart_agency="NHS Community Health",
    )
    portal.open("/sign-in").sign_in(PRACTITIONER)
    portal.start_raising()
    portal.answer_all(answers)
    expect(portal.summary_value("Their name")).to_have_text("Jo Williams")
    reference = portal.raise_escalation()
    portal.sign_out()

    # The police officer raising it jointly sees it, and withdraws it as the raiser may: an outcome.
    portal.sign_in(OFFICER)
    portal.follow(re.compile(rf"^{reference}"))
    portal.expect_heading(f"{reference}: Jordan Joint")
    expect(portal.summary_value("Raised jointly with")).to_contain_text("Jo Williams")
    portal.follow("Withdraw the escalation")
    page.get_by_label("Reason for withdrawing").fill("Health have agreed to the visit: no longer needed.")
    portal.press("Withdraw escalation")
    expect(portal.flash()).to_contain_text("The escalation is withdrawn.")
    with database.connection_context():
        assert Escalation.get(Escalation.reference == reference).status == "withdrawn"
