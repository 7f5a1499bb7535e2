"""The Business Manager's information governance pages: the access log and a subject access export, downloaded
as a browser downloads them. Every page is checked with axe-core (`checks`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from playwright.sync_api import expect

from portal.db import database
from portal.models import Event
from tests.browser.conftest import BUSINESS_MANAGER, PRACTITIONER, raise_demo_case
from tests.browser.pages import Portal

pytestmark = pytest.mark.browser
CHILD = "Riley Governance"


@pytest.fixture
def portal(page, checks):
    return Portal(page, checks)


@pytest.fixture(scope="module")
def reference(live_server) -> str:
    with live_server.app.app_context(), database.connection_context():
        return raise_demo_case(
            PRACTITIONER, CHILD, dt.date(2015, 6, 9), "Metropolitan Police", "dc.lee@met.demo.example"
        )


def test_the_business_manager_lists_and_downloads_who_viewed_a_case(portal, reference):
    page = portal.page
    portal.sign_in(PRACTITIONER)
    portal.open(f"/cases/{reference}")
    portal.sign_out()
    portal.sign_in(BUSINESS_MANAGER)

    portal.follow("Information governance", exact=True)
    portal.expect_heading("Information governance")
    portal.follow("Access log")
    page.get_by_label("Case reference (optional)").fill(reference)
    page.get_by_label("Email address of the person who looked (optional)").fill("not an address")
    portal.press("Show views")
    portal.expect_errors("Enter an email address in the correct format")
    expect(page.get_by_label("Case reference (optional)")).to_have_value(reference)
    page.get_by_label("Email address of the person who looked (optional)").fill(PRACTITIONER)
    portal.press("Show views")
    expect(page.get_by_role("row").filter(has_text=reference)).to_have_count(1)

    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("link", name="Download these views as CSV").click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert [(r["reference"], r["email"]) for r in rows] == [(reference, PRACTITIONER)]


def test_the_business_manager_downloads_a_childs_records(portal, reference, live_server):
    page = portal.page
    portal.sign_in(BUSINESS_MANAGER)
    portal.open("/governance/subject-access")
    portal.press("Find the child's records")
    portal.expect_errors("Enter the child's full name, or a case reference", "Enter the child's date of birth")
    page.get_by_label("Child's full name (optional)").fill(CHILD.upper())
    page.get_by_label("Day").fill("9")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill("2015")
    portal.press("Find the child's records")
    expect(page.get_by_role("heading", name="1 case found")).to_be_visible()

    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("button", name="Download the export (zip)").click(no_wait_after=True)
    archive = zipfile.ZipFile(download_info.value.path())
    assert "index.pdf" in archive.namelist() and f"{reference}/record.json" in archive.namelist()
    assert archive.read("index.pdf").startswith(b"%PDF-")
    with live_server.app.app_context(), database.connection_context():
        assert Event.select().where(Event.kind == "subject_access_export").count() == 1
