"""Subject access: the Business Manager finds a child and downloads every record as a zip with an index PDF."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile

import pytest
from pypdf import PdfReader

from portal import pdf
from portal.db import database
from portal.models import Document, Event, Outbox
from tests import factories
from tests.conftest import WEASYPRINT_RENDER
from tests.web.conftest import START, sign_in, text_of_page, token

pytestmark = pytest.mark.both_engines
CHILD = "Zzyzx Canaryson"
BY_NAME = "child_name=zzyzx++canaryson&child_dob=1&child_dob=3&child_dob=2019"


@pytest.fixture
def cases(app, people, case, clock):
    """The child's case (the `case` fixture, raised at the real time), a second case about them raised after it,
    and one about another child."""
    later = max(case.created_at, START) + dt.timedelta(minutes=1)
    with app.app_context(), database.connection_context():
        second = factories.escalation(people["raiser"], people["theirs"], later)
        factories.escalation(people["raiser"], people["theirs"], later, child_name="Other Child")
    return case, second


def _export(client, query: str):
    url = f"/governance/subject-access?{query}"
    page = client.get(url).get_data(as_text=True)
    return page, client.post(f"/governance/subject-access/export?{query}", data={"csrf_token": token(client, url)})


def test_the_export_holds_every_record_document_email_and_event_with_an_index(app, client, people, cases):
    first, second = cases
    sign_in(client, people["manager"])

    page, response = _export(client, BY_NAME)

    assert first.reference in page and second.reference in page and "Other Child" not in page
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert f'filename="subject-access-20261201-{first.reference}.zip"' in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    index_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read("index.pdf"))).pages)
    with app.app_context(), database.connection_context():
        for case in (first, second):
            record = json.loads(archive.read(f"{case.reference}/record.json"))
            assert record["case"]["child_name"] == CHILD and record["case"]["child_dob"] == "2019-03-01"
            assert record["stages"] and record["people_named"]
            events = json.loads(archive.read(f"{case.reference}/events.json"))
            kinds = [e["kind"] for e in events]
            assert "raised" in kinds and "subject_access_export" not in kinds  # recorded after the export
            for document in Document.select().where((Document.escalation == case) & (Document.status == "rendered")):
                data = archive.read(f"{case.reference}/documents/{document.filename}")
                assert hashlib.sha256(data).hexdigest() == document.sha256
            emails = [n for n in names if n.startswith(f"{case.reference}/emails/")]
            assert len(emails) == Outbox.select().where(Outbox.escalation == case).count() > 0
            assert not any(re.search(r"/a/[A-Za-z0-9_-]{20,}", archive.read(n).decode()) for n in emails)
            exported = Event.get((Event.escalation == case) & (Event.kind == "subject_access_export"))
            assert exported.actor_id == people["manager"].id and exported.data["files"] == len(names) - 1
        assert Event.select().where(Event.kind == "subject_access_export").count() == 2
    assert index_text == "" and archive.read("index.pdf").startswith(b"%PDF-")  # the stand-in; real one below


def test_the_index_pdf_lists_every_file_with_its_hash(app, client, people, cases, monkeypatch):
    monkeypatch.setattr(pdf, "render", WEASYPRINT_RENDER)  # the cases' own records stood in while seeding
    first, _second = cases
    sign_in(client, people["manager"])

    _page, response = _export(client, f"reference={first.reference.lower()}")

    archive = zipfile.ZipFile(io.BytesIO(response.data))
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read("index.pdf"))).pages)
    text = " ".join(text.split())
    assert "Subject access export" in text and first.reference in text and CHILD in text
    for name in archive.namelist():
        if name != "index.pdf":
            assert hashlib.sha256(archive.read(name)).hexdigest()[:16] in text.replace(" ", "")


def test_searching_records_nothing_and_bad_searches_say_what_is_missing(app, client, people, cases):
    sign_in(client, people["manager"])

    missing = client.get("/governance/subject-access?child_name=Zzyzx+Canaryson")
    none = client.get("/governance/subject-access?reference=ESC-1999-0001").get_data(as_text=True)

    assert (
        missing.status_code == 400
        and "Enter the child&#39;s date of birth, or a case reference" in missing.get_data(True)
    )
    assert 'value="Zzyzx Canaryson"' in missing.get_data(as_text=True)
    assert "No case matches" in text_of_page(none)
    with app.app_context(), database.connection_context():
        assert Event.select().where(Event.kind == "subject_access_export").count() == 0
    url = "/governance/subject-access?reference=ESC-1999-0001"
    assert (
        client.post(
            "/governance/subject-access/export?reference=ESC-1999-0001", data={"csrf_token": token(client, url)}
        ).status_code
        == 404
    )
    assert client.post(f"/governance/subject-access/export?{BY_NAME}").status_code in (400, 403)


@pytest.mark.parametrize("role", ["raiser", "admin"])
def test_only_the_business_manager_answers_subject_access(client, people, cases, role):
    sign_in(client, people[role])
    url = f"/governance/subject-access?{BY_NAME}"
    assert client.get(url).status_code == 404
    assert (
        client.post(
            f"/governance/subject-access/export?{BY_NAME}", data={"csrf_token": token(client, "/cases/")}
        ).status_code
        == 404
    )
