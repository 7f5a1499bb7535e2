"""The deadline's working on the case page, and the pages that change it: every page and state checked with
axe-core (`checks`), by keyboard-reachable controls only (links, buttons, labelled fields)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from portal.db import database
from portal.models import Agency, User
from portal.registry import registry
from portal.workdays import LONDON
from portal.workflow import EscalationDetails, raise_escalation
from tests.browser.conftest import BUSINESS_MANAGER, PRACTITIONER
from tests.browser.pages import Portal

pytestmark = [pytest.mark.browser]


@pytest.fixture
def portal(page, checks):
    return Portal(page, checks)


@pytest.fixture(scope="module")
def reference(live_server) -> str:
    with live_server.app.app_context(), database.connection_context():
        raiser = User.get(User.email == PRACTITIONER)
        details = EscalationDetails(
            child_name="Rowan Clock",
            child_dob=dt.date(2015, 5, 1),
            summary="The plan review was cancelled twice.",
            outcome_sought="A review date this month.",
            raiser_agency_id=raiser.agency_id,
            counterpart_name="A Counterpart",
            counterpart_email="dc.lee@met.demo.example",
            counterpart_agency_id=Agency.get(Agency.name == "Metropolitan Police").id,
            categories=["communication"],
        )
        return raise_escalation(registry.current(), raiser, details).reference


def fill_date(page, legend: str, day: dt.date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def test_the_deadline_is_explained_and_the_business_manager_pauses_and_restarts_it(portal, reference):
    page = portal.page
    today = dt.datetime.now(LONDON).date()
    portal.sign_in(BUSINESS_MANAGER)
    portal.open(f"/cases/{reference}")
    page.get_by_text("How this deadline was worked out").click()
    expect(page.get_by_text("Rule: 5 working days").first).to_be_visible()
    page.get_by_text("Reminder 1:").click()
    portal.checks()  # both details open

    portal.follow("Pause the clock")
    portal.expect_heading("Pause the clock")
    portal.press("Pause the clock")
    portal.expect_errors("Enter the date the clock restarts", "Enter the reason")
    fill_date(page, "Restart the clock on", today)
    page.get_by_label("Reason").fill("A key person is on leave until next week.")
    portal.press("Pause the clock")
    portal.expect_errors("The date the clock restarts must be after today")
    expect(page.get_by_label("Reason")).to_have_value("A key person is on leave until next week.")
    fill_date(page, "Restart the clock on", today + dt.timedelta(days=7))
    portal.press("Pause the clock")
    expect(portal.flash()).to_contain_text("The clock is paused.")
    expect(page.get_by_text("The clock is paused until")).to_be_visible()
    expect(page.locator(".portal-timeline__item strong", has_text="Clock paused")).to_be_visible()

    portal.follow("Restart the clock now")
    portal.expect_heading("Restart the clock")
    portal.press("Restart the clock now")
    expect(portal.flash()).to_contain_text("The clock has restarted.")

    portal.follow("Extend the deadline")
    fill_date(page, "The new deadline", today)
    page.get_by_label("Reason").fill("A professionals meeting is booked.")
    portal.press("Extend the deadline")
    portal.expect_errors("The new deadline must be after the current one")


def test_the_raiser_agrees_an_earlier_deadline(portal, reference):
    page = portal.page
    portal.sign_in(PRACTITIONER)
    portal.open(f"/cases/{reference}")
    portal.follow("Agree an earlier deadline")
    portal.expect_heading("Agree an earlier deadline")
    fill_date(page, "The earlier deadline", dt.datetime.now(LONDON).date() + dt.timedelta(days=60))
    page.get_by_label("Reason").fill("The child moves school next week.")
    portal.press("Agree the earlier deadline")
    portal.expect_errors("The earlier deadline must be before the current deadline")
    expect(page.get_by_role("link", name="Extend the deadline")).to_have_count(0)
