"""The report pages in Chromium with axe-core, on the demo history: every state, wide and at 320 px."""

from __future__ import annotations

import pytest

from portal import pdf
from portal.db import database
from portal.demo_history import write_history
from portal.models import utcnow
from tests.browser.conftest import BUSINESS_MANAGER, PRACTITIONER
from tests.browser.pages import Portal
from tests.browser.test_accessibility import BROKEN_WORDS
from tests.conftest import stand_in_pdf

pytestmark = [pytest.mark.browser]


@pytest.fixture
def portal(page, checks):
    return Portal(page, checks)


@pytest.fixture(scope="module", autouse=True)
def history(live_server):
    """The demo's year of cases (their PDFs stood in: this module looks at pages, not documents)."""
    with pytest.MonkeyPatch.context() as patch, live_server.app.app_context(), database.connection_context():
        patch.setattr(pdf, "render", stand_in_pdf)
        assert write_history(live_server.app, utcnow()) > 20


def test_the_report_in_each_state(portal):
    page = portal.page
    portal.sign_in(BUSINESS_MANAGER)
    portal.follow("Reports")
    for title in (
        "Escalations resolved or decided, by stage",
        "Deadlines missed, by stage",
        "Median working days to resolution, by the stage it ended at",
        "Categories of disagreement",
    ):
        chart = page.get_by_role("img", name=title)
        assert chart.count() == 1, title
        assert page.get_by_role("region", name=f"{title}: data").count() == 1  # its table, beside it
    # A financial year from the list, then dates with an error, then good dates.
    page.get_by_label("Quarter or financial year").select_option(index=8)
    portal.press("Show the report")
    assert "Financial year" in portal.heading().inner_text()
    page.get_by_text("Choose any dates").click()
    page.locator("#start-day").fill("31")
    page.locator("#start-month").fill("2")
    page.locator("#start-year").fill("2026")
    portal.press("Show these dates")
    portal.expect_errors("The start date must be a real date", "Enter the end date")
    page.locator("#start-day").fill("1")
    page.locator("#end-day").fill("30")
    page.locator("#end-month").fill("6")
    page.locator("#end-year").fill("2026")
    portal.press("Show these dates")
    assert "1 February 2026 to 30 June 2026" in portal.heading().inner_text()


@pytest.mark.parametrize("path", ["/reports/", "/cases/"])
def test_at_320_px_nothing_overflows_and_no_word_breaks(portal, path):
    page = portal.page
    page.set_viewport_size({"width": 320, "height": 800})
    portal.sign_in(BUSINESS_MANAGER)
    portal.open(path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.evaluate(BROKEN_WORDS) == []


def test_a_practitioner_has_no_reports(portal):
    portal.sign_in(PRACTITIONER)
    assert portal.page.get_by_role("link", name="Reports").count() == 0
    portal.open("/reports/")
    portal.expect_heading("Page not found")
