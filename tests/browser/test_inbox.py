"""The Business Manager triages a new submission from the inbox to reviewed, in Chromium, with axe on each state,
by keyboard where a person would use it, and on a 320 px screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.db import database
from portal.models import Agency, Event, Learning, User, utcnow
from tests import factories
from tests.browser.conftest import BUSINESS_MANAGER, PRACTITIONER
from tests.browser.pages import Answers, Portal

pytestmark = pytest.mark.browser


@pytest.fixture
def portal(page, checks):
    return Portal(page, checks)


def row_of(portal: Portal, reference: str):
    return portal.page.locator("#results tbody tr").filter(
        has=portal.page.get_by_role("link", name=reference, exact=True)
    )


def test_the_business_manager_triages_a_new_submission_to_reviewed(portal):
    page = portal.page
    portal.open("/")
    portal.sign_in(PRACTITIONER)
    portal.start_raising()
    portal.answer_all(Answers(child_name="Rowan Inboxley"))
    reference = portal.raise_escalation()
    portal.sign_out()

    portal.sign_in(BUSINESS_MANAGER)
    menu = page.get_by_role("navigation", name="Menu")
    inbox_link = menu.get_by_role("link", name=re.compile(r"^Inbox \(\d+ new\)$"))
    expect(inbox_link).to_be_visible()
    inbox_link.click()
    portal.checks()
    portal.expect_heading("Inbox: cases")

    # By keyboard: the search box, then Enter submits the filter form (a GET: the URL holds the view).
    search = page.get_by_label("Search by reference or child's name")
    search.focus()
    page.keyboard.type("inbox")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=inbox"))
    portal.checks()
    expect(row_of(portal, reference)).to_contain_text("New")
    expect(page.locator(".portal-filter__tag")).to_have_text([re.compile("inbox")])

    # Opening the case marks it read.
    view = page.url
    row_of(portal, reference).get_by_role("link", name=reference, exact=True).click()
    portal.checks()
    expect(portal.heading()).to_contain_text(reference)
    portal.open(view)  # the bookmarked view, as it is now
    expect(row_of(portal, reference)).to_contain_text("Opened")

    portal.follow(f"Mark as reviewed {reference}")
    portal.expect_heading(f"Mark as reviewed: {reference}")
    page.get_by_label("Note (optional)").fill("x" * 2001)
    portal.press("Mark as reviewed")
    portal.expect_errors("Note must be 2,000 characters or fewer")
    page.get_by_label("Note (optional)").fill("Checked with the team manager; strategy meeting booked.")
    portal.press("Mark as reviewed")
    expect(portal.flash()).to_contain_text(f"{reference} is marked as reviewed")
    assert "q=inbox" in page.url  # back to the view it came from
    expect(row_of(portal, reference)).to_contain_text("Reviewed")

    # The selected filter's tag removes it; the documents list shows the case's PDF record.
    page.locator(".portal-filter__tag").first.click()
    portal.checks()
    assert "q=" not in page.url
    portal.follow("Documents")
    portal.expect_heading("Inbox: documents")
    expect(page.locator("tbody tr").filter(has_text=reference).first).to_be_visible()

    # On a phone: nothing scrolls sideways but a table's own box; the filters come first.
    page.set_viewport_size({"width": 320, "height": 640})
    for path in ("/inbox/?status=open&show=new", "/inbox/documents", "/inbox/?status=lost"):
        portal.open(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width}px wide at 320px"
    portal.expect_errors("Select a status from the list")


def test_the_business_manager_reviews_learning_from_the_inbox(portal, live_server):
    """Learning as a resolution leaves it (a row per lesson: the demo has none), found, filtered and reviewed."""
    with live_server.app.app_context(), database.connection_context():
        raiser = User.get(User.email == PRACTITIONER)
        theirs = Agency.select().where(Agency.id != raiser.agency_id).order_by(Agency.id).first()
        case = factories.escalation(raiser, theirs, utcnow(), child_name="Robin Lessonby")
        event = Event.select().where(Event.escalation == case).order_by(Event.id.desc()).first()
        Learning.create(
            escalation=case,
            event=event,
            stage_index=case.stage_index,
            at=utcnow(),
            points="Agree who chairs the strategy meeting before the first call. " * 10,
            policy="Threshold document",
            policy_gap="It does not say who decides when two agencies disagree.",
            debrief=True,
        )
    page = portal.page
    portal.open("/")
    portal.sign_in(BUSINESS_MANAGER)
    portal.follow(re.compile(r"^Inbox \(\d+ new\)$"))
    page.get_by_role("navigation", name="Inbox").get_by_role("link", name="Learning").click()
    portal.checks()
    portal.expect_heading("Inbox: learning")
    row = page.locator("tbody tr").filter(has=page.get_by_role("link", name=case.reference, exact=True))
    expect(row).to_contain_text("Debrief recommended")
    expect(row).to_contain_text("Threshold document")
    expect(row).to_contain_text("New")

    # By keyboard: tick a filter with Space, apply it with Enter; the view is in the URL.
    debrief = page.get_by_label("Debrief recommended", exact=True)
    debrief.focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Apply filters").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"show=debrief"))
    portal.checks()
    expect(row).to_contain_text("New")

    portal.follow(re.compile(rf"^Mark as reviewed learning from {case.reference}"))
    portal.expect_heading(f"Mark as reviewed: Learning from {case.reference}")
    page.get_by_label("Note (optional)").fill("Debrief booked with both team managers.")
    portal.press("Mark as reviewed")
    expect(portal.flash()).to_contain_text(f"Learning from {case.reference} is marked as reviewed")
    assert "show=debrief" in page.url  # back to the view it came from
    expect(row).to_contain_text("Reviewed")

    page.set_viewport_size({"width": 320, "height": 640})
    for path in ("/inbox/learning", "/inbox/learning?show=lost"):
        portal.open(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width}px wide at 320px"
    portal.expect_errors("Select what to show from the list")
