"""The administrator's pages (directory, contacts, CSV import, sent mail) and the business manager's view.

Every page is checked with axe-core (`checks`).
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from playwright.sync_api import expect

from portal import reminders
from portal.db import database
from portal.models import Agency, Contact, Heartbeat, Outbox, utcnow
from tests.browser.conftest import BUSINESS_MANAGER, OFFICER, PRACTITIONER, raise_demo_case
from tests.browser.pages import Portal

pytestmark = pytest.mark.browser

ADMIN = "admin@demo.example"


@pytest.fixture
def portal(page, checks):
    return Portal(page, checks)


@pytest.fixture(scope="module")
def references(live_server) -> list[str]:
    """Two cases: one raised by the practitioner, one by the police officer (the business manager is named in
    neither's first stage)."""
    with live_server.app.app_context(), database.connection_context():
        return [
            raise_demo_case(raiser, child, dt.date(2014, 2, 1), agency, counterpart)
            for raiser, child, agency, counterpart in [
                (PRACTITIONER, "Morgan Directory", "Metropolitan Police", "dc.lee@met.demo.example"),
                (OFFICER, "Avery Mail", "Children's Social Care", "sw.khan@csc.demo.example"),
            ]
        ]


def contact_row(portal: Portal, text: str):
    return portal.page.get_by_role("row").filter(has_text=text)


def test_directory_contacts_and_csv_import(portal, tmp_path):
    page = portal.page
    portal.sign_in(ADMIN)
    portal.follow("Administration", exact=True)
    portal.expect_heading("Administration")
    portal.follow("Directory of contacts")
    portal.expect_heading("Directory of contacts")
    with database.connection_context():
        count = Contact.select().count()
        school = Agency.get(Agency.name == "Hollyfield Primary School")
        lead = Contact.get((Contact.agency == school) & (Contact.role == "safeguarding_lead"))
    expect(page.get_by_role("table").locator("caption")).to_have_text(f"{count} contacts")

    # Add a contact: nothing filled in, then someone already there, then a new person.
    portal.press("Add a contact")  # a link drawn as a button
    portal.expect_heading("Add a contact")
    portal.press("Save contact")
    portal.expect_errors(
        "Select the agency",
        "Select the role",
        "Enter the contact's name",
        "Enter the contact's email address",
        "Select whether the address is secure",
    )
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    portal.error_summary().get_by_role("link", name="Select the role").click()
    expect(page.get_by_label("Role in the procedure")).to_be_focused()
    portal.checks()

    page.get_by_label("Agency", exact=True).select_option(label="Hollyfield Primary School")
    page.get_by_label("Role in the procedure").select_option(label="Safeguarding lead / designated lead")
    page.get_by_label("Full name").fill("Nia Okafor")
    page.get_by_label("Job title").fill("Deputy Head")
    page.get_by_label("Email address").fill(lead.email.upper())
    portal.choose("Is this address approved for a child's personal details?", "No")
    portal.press("Save contact")
    portal.expect_errors("This agency already has this person in this role")
    expect(page.get_by_label("Full name")).to_have_value("Nia Okafor")
    expect(page.get_by_label("Agency", exact=True).locator("option:checked")).to_have_text("Hollyfield Primary School")

    page.get_by_label("Email address").fill("nia.okafor@hollyfield.demo.example")
    portal.press("Save contact")
    portal.expect_heading("Directory of contacts")
    expect(portal.flash()).to_contain_text("Nia Okafor was saved.")
    row = contact_row(portal, "nia.okafor@hollyfield.demo.example")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Safeguarding lead / designated lead")
    expect(row).to_contain_text("Nia Okafor, Deputy Head")
    expect(row.get_by_role("cell").nth(3)).to_have_text("No")
    expect(page.get_by_role("table").locator("caption")).to_have_text(f"{count + 1} contacts")

    # Change it: the form comes back filled in.
    portal.follow("Change Nia Okafor")
    portal.expect_heading("Change a contact")
    expect(page.get_by_label("Job title")).to_have_value("Deputy Head")
    expect(page.get_by_label("Email address")).to_have_value("nia.okafor@hollyfield.demo.example")
    group = portal.group("Is this address approved for a child's personal details?")
    expect(group.get_by_label("No", exact=True)).to_be_checked()
    page.get_by_label("Full name").fill("")
    portal.press("Save contact")
    portal.expect_errors("Enter the contact's name")
    page.get_by_label("Full name").fill("Nia Okafor-Reid")
    page.get_by_label("Job title").fill("Headteacher")
    portal.choose("Is this address approved for a child's personal details?", "Yes, it is a secure address")
    portal.press("Save contact")
    expect(portal.flash()).to_contain_text("Nia Okafor-Reid was saved.")
    row = contact_row(portal, "nia.okafor@hollyfield.demo.example")
    expect(row).to_contain_text("Nia Okafor-Reid, Headteacher")
    expect(row.get_by_role("cell").nth(3)).to_have_text("Yes")

    # Stop offering them for new stages (a POST behind a link-styled button).
    portal.press("Stop offering Nia Okafor-Reid")
    expect(portal.flash()).to_contain_text("Nia Okafor-Reid is no longer offered for new stages.")
    expect(contact_row(portal, "nia.okafor@hollyfield.demo.example")).to_contain_text("Not offered for new stages")

    # CSV import: a file with mistakes names each wrong line and imports nothing.
    portal.press("Import from CSV")
    portal.expect_heading("Import contacts from a CSV file")
    bad = tmp_path / "contacts-with-mistakes.csv"
    bad.write_text(
        "agency,role,name,job_title,email,secure\n"
        "Riverside Youth Service,line_manager,Tariq Bell,Youth Work Manager,tariq.bell@riverside.demo.example,no\n"
        "Riverside Youth Service,wizard,Ann Hart,,ann.hart@riverside.demo.example,no\n"
        "Riverside Youth Service,lado,,,not-an-email,maybe\n",
        encoding="utf-8",
    )
    page.get_by_label("CSV file").set_input_files(bad)
    portal.press("Import")
    portal.expect_heading("Import contacts from a CSV file")
    summary = portal.error_summary()
    expect(summary).to_contain_text("There is a problem: nothing was imported")
    expect(summary.get_by_role("link")).to_have_text(
        [
            re.compile(r"^line 3: role 'wizard' is not one of "),
            "line 4: name is empty; email 'not-an-email' is not an email address "
            "(an email address must have an @-sign); secure 'maybe' must be yes or no",
        ]
    )
    expect(page).to_have_title(re.compile(r"^Error: Import contacts from a CSV file"))
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    expect(page.locator("#file-error")).to_contain_text("line 3:")
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("CSV file")).to_be_focused()
    portal.checks()
    with database.connection_context():
        assert Contact.select().count() == count + 1
        assert Agency.get_or_none(Agency.name == "Riverside Youth Service") is None

    # A good file: one new contact in a new agency, and an update to a contact already there.
    good = tmp_path / "contacts.csv"
    good.write_text(
        "agency,role,name,job_title,email,secure\n"
        "Riverside Youth Service,line_manager,Tariq Bell,Youth Work Manager,tariq.bell@riverside.demo.example,no\n"
        f"Hollyfield Primary School,safeguarding_lead,Grace Lead,Designated Safeguarding Lead,{lead.email},yes\n",
        encoding="utf-8",
    )
    page.get_by_label("CSV file").set_input_files(good)
    portal.press("Import")
    portal.expect_heading("Directory of contacts")
    expect(portal.flash()).to_contain_text("Imported 2 contacts: 1 new, 1 updated.")
    expect(contact_row(portal, "tariq.bell@riverside.demo.example")).to_contain_text("Riverside Youth Service")
    expect(contact_row(portal, lead.email)).to_contain_text("Grace Lead, Designated Safeguarding Lead")
    expect(page.get_by_role("table").locator("caption")).to_have_text(f"{count + 2} contacts")


def test_sent_mail_and_send_again(portal, references):
    page = portal.page
    with database.connection_context():
        email = Outbox.select().order_by(Outbox.id).first()
        Outbox.update(status="failed", last_error="550 5.1.1 Mailbox unknown", attempts=3).where(
            Outbox.id == email.id
        ).execute()

    portal.sign_in(ADMIN)
    portal.follow("Administration", exact=True)
    portal.follow("Sent mail")
    portal.expect_heading("Sent mail")
    for reference in references:
        expect(page.get_by_role("row").filter(has_text=reference).first).to_be_visible()
    failed = page.get_by_role("row").filter(has_text="550 5.1.1 Mailbox unknown")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Failed")
    expect(failed).to_contain_text(email.recipient_email)

    portal.press(f"Send again to {email.recipient_email}")
    portal.expect_heading("Sent mail")
    expect(portal.flash()).to_contain_text("The email will be sent again now.")
    deadline = time.monotonic() + 10
    while True:
        with database.connection_context():
            status = Outbox.get_by_id(email.id).status
        if status == "sent" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == "sent"


def test_the_business_manager_sees_every_case_and_the_sent_mail(portal, references):
    page = portal.page
    portal.sign_in(BUSINESS_MANAGER)
    portal.expect_heading("All escalations")
    for reference in references:
        expect(page.get_by_role("link", name=reference, exact=True)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Avery Mail")).to_contain_text("Stage 1: Practitioners")
    expect(page.get_by_role("link", name="Administration", exact=True)).to_have_count(0)

    portal.follow("Sent mail", exact=True)
    portal.expect_heading("Sent mail")
    expect(page.get_by_role("row").filter(has_text=references[1]).first).to_be_visible()

    # The directory is the administrator's: to anyone else it is not there.
    response = page.goto("/admin/directory")
    portal.checks()
    assert response.status == 404
    portal.expect_heading("Page not found")


def test_service_status_and_the_stopped_sweep_banner(portal):
    """The demo's sweep has not run in this test server: the red banner on every page, then the status page;
    once the sweep writes its heartbeat, the banner goes."""
    page = portal.page
    with database.connection_context():
        Heartbeat.delete().execute()
    portal.sign_in(BUSINESS_MANAGER)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Service problem")
    expect(alert).to_contain_text("The reminder sweep has not run for over 5 minutes.")
    portal.follow("Service status", exact=True)
    portal.expect_heading("Service status")
    expect(portal.summary_value("Reminder sweep last ran")).to_contain_text("Never, on this database.")

    with database.connection_context():
        reminders.sweep(utcnow())
    portal.open("/admin/status")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(portal.summary_value("Reminder sweep last ran")).to_contain_text("Working")
