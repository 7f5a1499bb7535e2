"""Emailed Resolve and Escalate links (/a/<token>) in Chromium, for people who may have no account.

A GET shows the case and a form and changes nothing (mail scanners open every link, some with JavaScript);
the POST, with a written record, acts once. Used, superseded and unknown links each get their own page.
Every page is checked with axe-core (`checks`).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from portal.case_actions import Actor
from portal.db import database
from portal.models import ActionLink, Agency, Contact, Document, Escalation, Event, Outbox, StageRecord, User
from portal.procedure import resolve_procedure
from portal.registry import registry
from portal.workflow import EscalationDetails, escalate, raise_escalation
from tests.browser.conftest import PRACTITIONER
from tests.browser.pages import Portal, link_path

pytestmark = pytest.mark.browser

# The secure.example domain is secure in the test procedure: the counterpart sees the child's details.
COUNTERPART = "dc.morgan@secure.example"


@pytest.fixture
def portal(page, checks):
    return Portal(page, checks)


def raise_case(live_server, child: str) -> str:
    """A case open at stage 1, raised by the practitioner against DC Morgan, as the raise journey makes it."""
    app = live_server.app
    with app.app_context(), database.connection_context():
        raiser = User.get(User.email == PRACTITIONER)
        police = Agency.get(Agency.name == "Metropolitan Police")
        details = EscalationDetails(
            child_name=child,
            child_dob=dt.date(2016, 9, 14),
            summary="The referral was closed without a strategy discussion.",
            action_taken="Two calls with the duty sergeant.",
            outcome_sought="A strategy discussion this week.",
            raiser_role="Social Worker",
            raiser_agency_id=raiser.agency_id,
            raiser_contact_details="020 7946 0000",
            counterpart_name="DC Morgan",
            counterpart_email=COUNTERPART,
            counterpart_agency_id=police.id,
            categories=["thresholds"],
        )
        return raise_escalation(registry.current(), raiser, details).reference


def state_of(reference: str) -> dict:
    """Everything an action would change: the case, its stages, links, events (views apart) and emails."""
    with database.connection_context():
        case = Escalation.get(Escalation.reference == reference)
        return {
            "case": (case.status, case.stage_index, case.version, case.outcome, case.closed_at, case.due_at),
            "stages": [
                (s.stage_index, s.ended_at, s.ending)
                for s in StageRecord.select().where(StageRecord.escalation == case).order_by(StageRecord.id)
            ],
            "links": [
                (link.id, link.used_at, link.superseded_at)
                for link in ActionLink.select().where(ActionLink.escalation == case).order_by(ActionLink.id)
            ],
            "events": [
                (e.kind, e.text)
                for e in Event.select().where((Event.escalation == case) & (Event.kind != "viewed")).order_by(Event.id)
            ],
            "emails": Outbox.select().where(Outbox.escalation == case).count(),
        }


def test_resolve_through_the_emailed_link_once(live_server, portal):
    page = portal.page
    reference = raise_case(live_server, "Casey Link")
    resolve_link = link_path(live_server, reference, COUNTERPART, "resolve")

    response = page.goto(resolve_link)
    portal.checks()
    assert response.status == 200
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    portal.expect_heading("Record the agreed outcome")
    expect(page.get_by_text(f"{reference}: Stage 1: Practitioners")).to_be_visible()
    expect(page.get_by_text("DC Morgan, you are named at Stage 1: Practitioners")).to_be_visible()
    expect(portal.summary_value("Reference")).to_have_text(reference)
    expect(portal.summary_value("Child")).to_have_text("Casey Link, born 14 September 2016")  # a secure address
    expect(page.get_by_role("link", name="Sign out")).to_have_count(0)  # no account needed

    # Nothing written: the error summary takes focus, and each of its links moves focus to its question.
    portal.press("Record resolution")
    portal.expect_errors(
        "Enter the agreed outcome", "Select yes if any learning or gap in policy should go to the partnership"
    )
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    portal.error_summary().get_by_role("link", name="Enter the agreed outcome").click()
    expect(page.get_by_label("Agreed outcome")).to_be_focused()
    portal.error_summary().get_by_role("link", name=re.compile("^Select yes if any learning")).click()
    group = portal.group("Should any learning or gap in policy go to the partnership?")
    expect(group.get_by_label("Yes", exact=True)).to_be_focused()
    portal.checks()
    assert state_of(reference)["case"][0] == "open"

    # A real record, by the labels a person reads.
    outcome = "Agreed with Sam Patel on the phone: a strategy discussion on Friday and a joint visit next week."
    page.get_by_label("Agreed outcome").fill(outcome)
    portal.choose("Should any learning or gap in policy go to the partnership?", "No")
    portal.press("Record resolution")
    expect(page.get_by_role("heading", level=1)).to_have_text("Resolution recorded")
    expect(page.get_by_text(reference, exact=True)).to_be_visible()
    expect(
        page.get_by_text("Everyone named so far, Sam Patel, who raised it, and the partnership's business manager")
    ).to_be_visible()
    portal.checks()

    with database.connection_context():
        case = Escalation.get(Escalation.reference == reference)
        assert (case.status, case.outcome) == ("resolved", outcome)
        resolved = Event.get((Event.escalation == case) & (Event.kind == "resolved"))
        assert (resolved.actor_email, resolved.text, resolved.data["via"]) == (COUNTERPART, outcome, "emailed link")

    # The link from the email, opened again: the same page, 410 Gone; nothing changes.
    before = state_of(reference)
    response = page.goto(resolve_link)
    portal.checks()
    assert response.status == 410
    portal.expect_heading("This link has already been used")
    assert state_of(reference) == before

    # The raiser's own links for the stage ended with it.
    response = page.goto(link_path(live_server, reference, PRACTITIONER, "escalate"))
    portal.checks()
    assert response.status == 410
    portal.expect_heading("This case has moved on")
    expect(page.get_by_text(f"{reference} is no longer at Stage 1: Practitioners: it is resolved.")).to_be_visible()


def test_unknown_and_superseded_links(live_server, portal):
    page = portal.page
    reference = raise_case(live_server, "Robin Superseded")
    resolve_link = link_path(live_server, reference, COUNTERPART, "resolve")

    # A forged token (the real one with its last character changed) and a made-up one: not recognised.
    token = resolve_link.removeprefix("/a/")
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for path in (f"/a/{forged}", "/a/not-a-real-token"):
        response = page.goto(path)
        portal.checks()
        assert response.status == 404
        portal.expect_heading("This link is not recognised")
        expect(page.get_by_text("Check you copied the whole link from the email.")).to_be_visible()
    assert state_of(reference)["case"][0] == "open"

    # The raiser escalates through their own emailed Escalate link (not secure: their address is asked first).
    portal.open(link_path(live_server, reference, PRACTITIONER, "escalate"))
    expect(page.get_by_text("Robin Superseded")).to_have_count(0)
    portal.confirm_address(PRACTITIONER)
    portal.expect_heading("Escalate to the next stage")
    contacts = portal.group("Who should act at the next stage?").get_by_role("checkbox")
    expect(contacts).to_have_count(2)
    page.get_by_label("Reason for escalating").fill("DC Morgan's sergeant upheld the closure; we still disagree.")
    portal.press("Escalate")
    expect(page.get_by_role("heading", level=1)).to_have_text("Escalated")
    expect(page.get_by_text(f"{reference} is now at Stage 2: Line managers.")).to_be_visible()
    with database.connection_context():
        case = Escalation.get(Escalation.reference == reference)
        assert (case.status, case.stage_index) == ("open", 1)

    # The counterpart's Resolve link, from the first email: the case has moved on and nothing is changed.
    before = state_of(reference)
    response = page.goto(resolve_link)
    portal.checks()
    assert response.status == 410
    portal.expect_heading("This case has moved on")
    expect(
        page.get_by_text(f"{reference} is no longer at Stage 1: Practitioners. Nothing was changed.")
    ).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(0)
    assert state_of(reference) == before


def test_opening_a_link_changes_nothing(live_server, portal):
    """A mail scanner opens the link, runs its JavaScript and waits: only the view is recorded."""
    page = portal.page
    reference = raise_case(live_server, "Sam Scanner")
    before = state_of(reference)

    for action in ("resolve", "escalate"):
        response = page.goto(link_path(live_server, reference, COUNTERPART, action))
        portal.checks()
        assert response.status == 200
        page.wait_for_timeout(2000 if action == "resolve" else 500)  # a scanner lingering, not a clock
        expect(page.locator("form[method=post] button[type=submit]").last).to_be_visible()
        assert page.url.endswith(link_path(live_server, reference, COUNTERPART, action))  # no script navigated
    # A scanner without JavaScript: HEAD and GET.
    path = link_path(live_server, reference, COUNTERPART, "resolve")
    assert page.request.head(path).status == 200
    assert page.request.get(path).status == 200

    assert state_of(reference) == before
    with database.connection_context():
        views = list(
            Event.select().join(Escalation).where((Escalation.reference == reference) & (Event.kind == "viewed"))
        )
    assert len(views) == 1  # two in the browser, one GET, within ten minutes; a HEAD shows nothing and records nothing
    for view in views:
        assert view.actor_email == COUNTERPART
        assert view.actor is None
        assert view.data["via"] == "emailed link"
        assert view.data["may_be_automated"] is True


def test_an_address_not_approved_for_personal_data_confirms_it_then_reads_the_earlier_stages(live_server, portal):
    """Hounslow stage 2: the police line manager (not a secure address) types the address the link was sent to,
    then reads stage 1's reason for escalating and the procedure's guidance, and records the stage's discussion."""
    page = portal.page
    hounslow = resolve_procedure("hounslow")
    with live_server.app.app_context(), database.connection_context():
        raiser = User.get(User.email == PRACTITIONER)
        police = Agency.get(Agency.name == "Metropolitan Police")
        case = raise_escalation(
            hounslow,
            raiser,
            EscalationDetails(
                child_name="Robin Record",
                summary="The referral was closed without a strategy discussion.",
                outcome_sought="A strategy discussion this week.",
                counterpart_name="DC Morgan",
                counterpart_email=COUNTERPART,
                counterpart_agency_id=police.id,
                categories=["thresholds"],
            ),
        )
        reason = "DC Morgan and I spoke twice; the police still see no threshold for a strategy discussion."
        escalate(hounslow, case, Actor(email=COUNTERPART, name="DC Morgan"), reason)
        manager = Contact.get((Contact.agency == police) & (Contact.role == "line_manager")).email
    page.goto(link_path(live_server, case.reference, manager, "resolve", stage_index=1))
    portal.checks()
    portal.expect_heading("Confirm your email address")
    expect(page.get_by_text("Robin Record")).to_have_count(0)

    page.get_by_label("The email address this link was sent to").fill("someone.else@example.com")
    portal.press("Continue")
    portal.checks()
    portal.expect_errors("Enter the email address this link was sent to")
    expect(page.get_by_text("Robin Record")).to_have_count(0)

    page.get_by_label("The email address this link was sent to").fill(manager)
    portal.press("Continue")
    portal.checks()
    portal.expect_heading("Record the agreed outcome")
    expect(portal.summary_value("Child")).to_have_text("Robin Record")
    expect(page.get_by_text(reason)).to_be_visible()
    expect(page.get_by_text("Line managers must always consider convening a professionals meeting")).to_be_visible()
    expect(page.get_by_role("region", name="Stages")).to_be_visible()

    page.get_by_label("Summary of the discussion at this stage").fill("We met on Teams with both team managers.")
    page.get_by_label("Agreed outcome").fill("A strategy discussion on Friday, chaired by the police.")
    portal.choose("Should any learning or gap in policy go to the partnership?", "No")
    portal.press("Record resolution")
    expect(page.get_by_role("heading", level=1)).to_have_text("Resolution recorded")
    portal.checks()
    with database.connection_context():
        resolved = Event.get((Event.escalation == case.id) & (Event.kind == "resolved"))
        assert resolved.data["records"] == {"discussion": "We met on Teams with both team managers."}
        assert Document.get((Document.escalation == case.id) & (Document.kind == "resolution_record"))
