"""The directory: CSV import (all rows or none) from the command line and the browser, and the admin pages."""

from __future__ import annotations

import io
import re

import pytest

from portal.db import database
from portal.directory import agency_key
from portal.models import Agency, Contact, Outbox
from tests.web.conftest import sign_in, text_of_page, token

GOOD = """agency,role,name,job_title,email,secure
Metropolitan Police,line_manager,Sgt Ann Lee,Detective Sergeant,ann.lee@met.police.example,no
Metropolitan Police,safeguarding_lead,DI Raj Shah,Detective Inspector,raj.shah@met.police.example,yes
Hollyfield Primary School,safeguarding_lead,Mo Green,Designated Safeguarding Lead,mo.green@school.example,No
"""

BAD = """agency,role,name,job_title,email,secure
Metropolitan Police,line_manager,Sgt Ann Lee,Detective Sergeant,ann.lee@met.police.example,no
Metropolitan Police,boss,DI Raj Shah,,raj.shah@met.police.example,yes
,safeguarding_lead,Mo Green,,not-an-email,perhaps
Metropolitan Police,line_manager,Sgt Ann Lee,Detective Sergeant,ann.lee@met.police.example,no
"""


def test_cli_imports_a_good_file(runner, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(GOOD)
    result = runner.invoke(args=["directory", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 3 contact(s): 3 new, 0 updated" in result.output
    with database.connection_context():
        raj = Contact.get(Contact.email == "raj.shah@met.police.example")
        assert (raj.agency.name, raj.role, raj.secure) == ("Metropolitan Police", "safeguarding_lead", True)
        assert Agency.select().count() == 2
    again = runner.invoke(args=["directory", "import", str(path)])
    assert "0 new, 3 updated" in again.output


# The existing agency spelt another way, a new agency, and the same new agency spelt another way again.
RESPELT = """agency,role,name,job_title,email,secure
  metropolitan   POLICE ,head_of_service,Supt Kay,Head of Public Protection,kay@met.police.example,yes
Bury  College,safeguarding_lead,Lee Park,Designated Safeguarding Lead,lee.park@bury.college.example,no
bury college,line_manager,Sam Hill,Head of Year,sam.hill@bury.college.example,no
"""


def agency_names() -> list[str]:
    with database.connection_context():
        return sorted(a.name for a in Agency.select())


def test_cli_matches_agencies_ignoring_case_and_spaces_and_names_the_ones_it_creates(runner, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(GOOD)
    second.write_text(RESPELT)
    assert "Created 2 new agencies: Metropolitan Police, Hollyfield Primary School" in (
        runner.invoke(args=["directory", "import", str(first)]).output
    )
    result = runner.invoke(args=["directory", "import", str(second)])
    assert result.exit_code == 0, result.output
    assert "imported 3 contact(s): 3 new, 0 updated" in result.output
    assert "Created 1 new agency: Bury College" in result.output
    assert agency_names() == ["Bury College", "Hollyfield Primary School", "Metropolitan Police"]
    with database.connection_context():
        kay = Contact.get(Contact.email == "kay@met.police.example")
        assert kay.agency.name == "Metropolitan Police"
        assert Contact.select().where(Contact.agency == kay.agency).count() == 3
    again = runner.invoke(args=["directory", "import", str(second)])
    assert "0 new, 3 updated" in again.output and "agenc" not in again.output
    assert len(agency_names()) == 3


def test_rows_naming_one_agency_two_ways_are_one_contact(runner, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(GOOD + "metropolitan  police,line_manager,Ann Lee,,ann.lee@met.police.example,no\n")
    result = runner.invoke(args=["directory", "import", str(path)])
    assert result.exit_code == 1 and "line 5: repeats an earlier row" in result.stderr


def test_the_import_reads_role_names_as_procedure_files_do(runner, tmp_path):
    """One table of role names: `designated_lead` and `Designated Lead` load in a procedure file, so here too."""
    path = tmp_path / "contacts.csv"
    path.write_text(
        "agency,role,name,job_title,email,secure\n"
        "Metropolitan Police,designated_lead,Kay Dee,,kay.dee@met.police.example,yes\n"
        "Hounslow Council,Designated Safeguarding Lead,Lee Oh,,lee.oh@hounslow.example,no\n"
    )
    result = runner.invoke(args=["directory", "import", str(path)])
    assert result.exit_code == 0, result.output
    with database.connection_context():
        assert {c.role for c in Contact.select()} == {"safeguarding_lead"}


def test_cli_reports_every_bad_row_and_imports_nothing(runner, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(BAD)
    result = runner.invoke(args=["directory", "import", str(path)])
    assert result.exit_code == 1
    errors = result.stderr
    assert "line 3: role 'boss' is not one of" in errors
    assert (
        "line 4: agency is empty; email 'not-an-email' is not an email address (an email address must have an @-sign); "
        "secure 'perhaps' must be yes or no" in errors
    )
    assert "line 5: repeats an earlier row" in errors
    assert "line 2" not in errors
    assert "nothing imported: 3 bad row(s)" in errors
    with database.connection_context():
        assert Contact.select().count() == 0


def test_cli_refuses_a_file_without_the_columns(runner, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("name,email\nA,a@b.example\n")
    result = runner.invoke(args=["directory", "import", str(path)])
    assert result.exit_code == 1 and "line 1: missing column(s) agency, role" in result.stderr


@pytest.fixture
def admin_client(client, people):
    sign_in(client, people["admin"])
    return client


def test_admin_pages_are_admin_only(client, people):
    sign_in(client, people["raiser"])
    for url in ("/admin/", "/admin/directory", "/admin/directory/contacts/new", "/admin/mail"):
        assert client.get(url).status_code == 404


def upload(client, text: str):
    url = "/admin/directory/import"
    return client.post(
        url,
        data={"csrf_token": token(client, url), "file": (io.BytesIO(text.encode()), "c.csv")},
        content_type="multipart/form-data",
    )


def test_import_through_the_browser_form(admin_client):
    bad = upload(admin_client, BAD)
    assert bad.status_code == 400 and "nothing was imported" in bad.get_data(as_text=True)
    good = upload(admin_client, GOOD)
    assert good.status_code == 302
    page = text_of_page(admin_client.get("/admin/directory").get_data(as_text=True))
    assert "raj.shah@met.police.example" in page
    assert "Created 2 new agencies: Metropolitan Police, Hollyfield Primary School." in page
    respelt = upload(admin_client, RESPELT)
    assert respelt.status_code == 302
    page = admin_client.get("/admin/directory").get_data(as_text=True)
    assert "Imported 3 contacts: 3 new, 0 updated. Created 1 new agency: Bury College." in page
    keys = [agency_key(name) for name in agency_names()]
    assert (keys.count("metropolitan police"), keys.count("bury college")) == (1, 1)


def test_add_change_and_retire_a_contact(admin_client, people):
    url = "/admin/directory/contacts/new"
    missing = admin_client.post(url, data={"csrf_token": token(admin_client, url)})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 400 and "Enter the contact&#39;s name" in html and "Select the agency" in html
    data = {
        "agency": str(people["theirs"].id),
        "role": "head_of_service",
        "name": "Chief Inspector Kay",
        "job_title": "Head of Public Protection",
        "email": "Kay@Police.example",
        "secure": "yes",
    }
    assert admin_client.post(url, data={"csrf_token": token(admin_client, url), **data}).status_code == 302
    with database.connection_context():
        kay = Contact.get(Contact.email == "kay@police.example")
    edit = f"/admin/directory/contacts/{kay.id}"
    assert 'value="Chief Inspector Kay"' in admin_client.get(edit).get_data(as_text=True)
    admin_client.post(edit, data={"csrf_token": token(admin_client, edit), **data, "name": "Supt Kay"})
    toggle = f"/admin/directory/contacts/{kay.id}/active"
    admin_client.post(toggle, data={"csrf_token": token(admin_client, "/admin/directory")})
    with database.connection_context():
        kay = Contact.get_by_id(kay.id)
        assert (kay.name, kay.active) == ("Supt Kay", False)


@pytest.mark.both_engines
def test_sent_mail_lists_rows_and_resends_a_failed_one(admin_client, case):
    with database.connection_context():
        row = Outbox.select().where(Outbox.escalation == case.id).first()
        Outbox.update(status="failed", last_error="550 5.1.1 unknown user").where(Outbox.id == row.id).execute()
    page = admin_client.get("/admin/mail").get_data(as_text=True)
    assert "550 5.1.1 unknown user" in page and case.reference in page
    assert re.search(rf'action="/admin/mail/{row.id}/resend"', page)
    admin_client.post(f"/admin/mail/{row.id}/resend", data={"csrf_token": token(admin_client, "/admin/mail")})
    with database.connection_context():
        assert Outbox.get_by_id(row.id).status != "failed"


def test_the_business_manager_reads_an_email_with_its_links_hidden_even_from_the_demo_files(app, client, people, case):
    from portal import mail as mail_module

    with database.connection_context():
        row = Outbox.select().where((Outbox.escalation == case.id) & (Outbox.purpose == "stage_started")).first()
    with app.app_context():
        path = mail_module.write_eml(mail_module.build_message(row, app), row, app.config)
    assert re.search(r"/a/[A-Za-z0-9_-]{20,}", path.read_text())
    sign_in(client, people["manager"])
    page = client.get(f"/admin/mail/{row.id}").get_data(as_text=True)
    assert case.reference in page and "/a/[link for the recipient only]" in page
    assert not re.search(r"/a/[A-Za-z0-9_-]{20,}", page)
