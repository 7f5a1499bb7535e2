"""The case's PDF records: rendered by the task, read back with pypdf, sent once to the Business Manager over
a real SMTP server on loopback, and opened from the case page only by those who may see the case.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import subprocess

import pytest
from pypdf import PdfReader

from portal import links, pdf
from portal.documents import wake_renderer
from portal.models import Contact, Document, Event, Outbox
from portal.workflow import Actor, add_record, decide, escalate
from tasks.documents import render_document, render_pending_documents
from tasks.mail import send_outbox
from tests import factories
from tests.web.conftest import START, sign_in

pytestmark = pytest.mark.real_pdf

CHILD = "Zzyzx Canaryson"


@pytest.fixture
def world(smtp_app, clock):
    raiser, ours, theirs = factories.world()
    links.init_secret(smtp_app.config["SECRET_KEY"])
    return raiser, theirs


def text_of(pdf: bytes) -> str:
    return " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def send_all() -> None:
    for row in Outbox.select().where(Outbox.status == "pending"):
        send_outbox.call_local(row.id)


def secure_business_manager() -> Contact:
    contact = Contact.get(Contact.role == "business_manager")
    contact.secure = True
    contact.save()
    return contact


@pytest.mark.both_engines
def test_the_escalation_notice_is_rendered_stored_with_its_hash_and_sent_once(smtp_server, world):
    raiser, theirs = world
    manager = secure_business_manager()
    case = factories.escalation(raiser, theirs, START, summary="The referral was closed without an assessment.")
    notice = Document.get(Document.escalation == case)
    assert (notice.kind, notice.status, notice.content) == ("escalation_notice", "pending", None)

    assert render_document.call_local(notice.id) is None
    notice = Document.get_by_id(notice.id)
    pdf = notice.content
    assert notice.status == "rendered" and pdf.startswith(b"%PDF-")
    assert notice.sha256 == hashlib.sha256(pdf).hexdigest()
    text = text_of(pdf)
    for expected in ("Escalation Notice", case.reference, CHILD, "1 March 2019", "closed without an assessment"):
        assert expected in text
    assert PdfReader(io.BytesIO(pdf)).metadata.title == f"Escalation Notice: {case.reference}"

    render_document.call_local(notice.id)  # a second wake-up, or a replay, changes nothing
    render_pending_documents.call_local()
    assert Document.get_by_id(notice.id).sha256 == notice.sha256
    send_all()
    to_manager = [m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == manager.email]
    documents = [m for m in to_manager if m["Subject"].startswith("Document for your records")]
    assert len(documents) == 1
    (attachment,) = list(documents[0].iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{case.reference}-escalation_notice.pdf"
    assert hashlib.sha256(attachment.get_content()).hexdigest() == notice.sha256
    assert CHILD not in documents[0]["Subject"]


def test_an_address_not_marked_secure_is_told_without_the_pdf(smtp_server, world):
    raiser, theirs = world
    case = factories.escalation(raiser, theirs, START)
    render_pending_documents.call_local()
    send_all()

    (message,) = [m for m in smtp_server.messages if m["Subject"].startswith("Document for your records")]
    assert not list(message.iter_attachments())
    body = message.get_body(("plain",)).get_content()
    assert "sign in to the portal to read it" in body and CHILD not in message.as_string()
    assert f"The case in the portal (sign in first): http://localhost:5000/cases/{case.reference}\r\n" in body
    assert "Deadline:" not in body  # the document is a record of what happened, not a request


@pytest.mark.both_engines
def test_a_document_shows_the_case_as_it_stood_when_it_was_asked_for(world, clock):
    raiser, theirs = world
    procedure = factories.procedure()
    case = factories.escalation(raiser, theirs, START)
    # Bury asks for its Request for Resolution when the case is raised
    Document.create(escalation=case, kind="request_for_resolution", key=f"{case.reference}/rfr", created_at=START)
    clock.shift(dt.timedelta(hours=1))
    add_record(procedure, case, Actor.of(raiser), "Spoke to the duty sergeant: no change.")
    escalate(procedure, case, Actor.of(raiser), "No agreement at stage 1.")
    manager = factories.acting(case, "escalate")
    escalate(procedure, case, manager, "Managers could not agree.")
    clock.shift(dt.timedelta(days=2))
    decider = factories.acting(case, "decide")
    decide(procedure, case, decider, "A strategy discussion is to be held by Friday.")
    clock.shift(dt.timedelta(days=1))
    render_pending_documents.call_local()  # rendered late: still the record as at each request

    request = text_of(Document.get(Document.kind == "request_for_resolution").content)
    assert "Request for Resolution" in request and "Stage 1: Practitioners" in request and "In progress" in request
    for later in ("Spoke to the duty sergeant", "Stage 2", "No agreement at stage 1.", "strategy discussion is to"):
        assert later not in request
    final = text_of(Document.get(Document.kind == "final_decision_notice").content)
    for expected in ("Final decision notice", "A strategy discussion is to be held by Friday.", "Stage 3"):
        assert expected in final
    assert "No agreement at stage 1." in final and "Managers could not agree." in final
    for who in (raiser.name, manager.name, decider.name):  # who ended each stage: two escalations and the decision
        assert f"by {who}" in " ".join(final.split()), who


def test_a_document_that_cannot_be_rendered_is_marked_failed_and_the_case_goes_on(world, caplog):
    raiser, theirs = world
    case = factories.escalation(raiser, theirs, START)
    broken = Document.create(escalation=case, kind="no_such_template", key=f"{case.reference}/broken")

    render_document.call_local(broken.id)

    assert Document.get_by_id(broken.id).status == "failed"
    assert "could not be rendered" in caplog.text
    assert not Outbox.select().where(Outbox.purpose == "document").exists()


def test_raising_wakes_the_renderer_after_commit(world):
    from portal import wake_renderers

    raiser, theirs = world
    wake_renderer.install(wake_renderers)  # as create_app installs it; huey is in immediate mode
    case = factories.escalation(raiser, theirs, START)

    assert Document.get(Document.escalation == case).status == "rendered"


@pytest.mark.both_engines
def test_the_case_page_links_the_pdf_for_those_who_may_see_the_case(app, client, people, case):
    with app.app_context():
        render_pending_documents.call_local()
        document = Document.get(Document.escalation == case)
    sign_in(client, people["raiser"])

    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    url = f"/cases/{case.reference}/documents/{document.id}"
    assert re.search(rf'href="{url}">Escalation Notice \(PDF, \d+ KB\)</a>', page)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]
    assert case.reference in text_of(response.data)
    with app.app_context():
        opened = Event.select().where((Event.escalation == case) & (Event.kind == "viewed")).order_by(-Event.id).get()
        assert opened.data == {"document": "escalation_notice"} and opened.actor_id == people["raiser"].id
    viewers = client.get(f"/cases/{case.reference}").get_data(as_text=True).split('id="case-viewers"', 1)[1]
    assert re.search(r"numeric\">2</td>\s*<td [^>]*numeric\">1</td>", viewers)  # the page, then the document

    assert client.get(f"/cases/{case.reference}/documents/{document.id + 999}").status_code == 404
    client.post("/sign-out", data={"csrf_token": _token(client)})
    sign_in(client, people["stranger"])
    assert client.get(url).status_code == 404
    client.post("/sign-out", data={"csrf_token": _token(client)})
    sign_in(client, people["manager"])
    assert client.get(url).status_code == 200


def test_a_pending_document_is_listed_but_not_linked(app, client, people, case):
    with app.app_context():
        document = Document.create(escalation=case, kind="final_decision_notice", key=f"{case.reference}/final")
    sign_in(client, people["raiser"])
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "Final decision notice: being prepared" in page
    assert client.get(f"/cases/{case.reference}/documents/{document.id}").status_code == 404


def test_documents_need_a_session(client, case):
    response = client.get(f"/cases/{case.reference}/documents/1")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def _token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/cases/").get_data(as_text=True)).group(1)


def test_the_business_manager_sees_what_a_document_email_carried(app, client, people, case):
    app.config["MAIL_BACKEND"] = "smtp"  # the message is built again for reading: nothing was written to a file
    with app.app_context():
        secure_business_manager()
        final = Document.create(escalation=case, kind="final_decision_notice", stage_index=0, key=f"{case.reference}/f")
        render_document.call_local(final.id)
        (row,) = [
            r for r in Outbox.select().where(Outbox.purpose == "document") if r.context["document_id"] == final.id
        ]
    sign_in(client, people["manager"])

    page = client.get(f"/admin/mail/{row.id}").get_data(as_text=True)
    assert f"{case.reference}-f.pdf" in page and "It is attached as a PDF." in page


def test_long_addresses_and_words_stay_on_the_page(world, clock, tmp_path):
    raiser, theirs = world
    procedure = factories.procedure()
    long_name = "Commander Alexandra Featherstonehaugh-Cholmondeley"
    for contact in Contact.select():
        contact.name, contact.email = (
            long_name,
            f"{contact.role}.{contact.id}@a-very-long-subdomain.police.example.org.uk",
        )
        contact.save()
    case = factories.escalation(raiser, theirs, START)
    unbroken = "https://records.example.org/" + "x" * 150
    add_record(procedure, case, Actor.of(raiser), f"Notes are at {unbroken} for anyone who needs them.")
    escalate(procedure, case, Actor.of(raiser), f"See {unbroken}")
    escalate(procedure, case, factories.acting(case, "escalate"), "Managers could not agree. " * 40)
    decide(procedure, case, factories.acting(case, "decide"), "Decided. " * 200)
    render_pending_documents.call_local()

    for document in Document.select():
        path = tmp_path / document.filename
        path.write_bytes(document.content)
        boxes = subprocess.run(
            ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        width = float(re.search(r'<page width="([\d.]+)"', boxes).group(1))
        right_edges = [float(x) for x in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"', boxes)]
        assert right_edges and max(right_edges) <= width - 40, f"{document.kind}: text runs past the right margin"


def test_emoji_and_symbols_people_type_print_as_themselves(world, tmp_path):
    """A font covers them (Symbola), so they are neither empty boxes nor missing from the text read back."""
    raiser, theirs = world
    case = factories.escalation(raiser, theirs, START, summary="Mum said 😢 twice ✔ and ☎ the school.")
    render_pending_documents.call_local()
    path = tmp_path / "notice.pdf"
    path.write_bytes(Document.get(Document.escalation == case).content)

    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Symbola" in fonts
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert all(symbol in text for symbol in "😢✔☎")


# --- docs/security.md, 'The PDF sandbox': what the renderer may fetch, how long it may run, how a PDF is served


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/x.png",
        "data:image/png;base64,iVBORw0KGgo=",
        f"file://{pdf.ALLOWED}/../../portal/config.py",
        f"file://{pdf.ALLOWED.parent}/scss/portal.scss",
        "file://evil.example/etc/passwd",
    ],
)
def test_the_renderer_fetches_nothing_outside_static_pdf(url):
    assert pdf.allowed_file(url) is None
    with pytest.raises(pdf.RenderError, match="exit"):
        pdf.render(f'<html lang="en"><title>t</title><body><img alt="" src="{url}"><p>text</p></body></html>')


def test_payloads_in_the_record_are_printed_as_text_and_never_fetched(world):
    raiser, theirs = world
    payloads = [
        '<img src="file:///etc/passwd">',
        '<link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/">',
        '<a rel="attachment" href="file:///etc/hostname">x</a>',
        "<style>@import url(file:///etc/passwd);</style>",
    ]
    case = factories.escalation(raiser, theirs, START, summary=" ".join(payloads), child_name='Zz <img src="x">')
    Document.create(escalation=case, kind="request_for_resolution", key=f"{case.reference}/rfr", created_at=START)
    render_pending_documents.call_local()

    for document in Document.select().where(Document.escalation == case):
        assert document.status == "rendered", document.kind
        reader = PdfReader(io.BytesIO(document.content))
        assert not reader.attachments
        assert all(not page.images for page in reader.pages)
        text = text_of(document.content)
        assert "root:" not in text  # /etc/passwd's first line
        if document.kind == "request_for_resolution":
            assert '<img src="file:///etc/passwd">' in text and '<a rel="attachment"' in text


def test_weasyprint_is_a_release_with_the_url_fetching_fixes():
    import weasyprint

    assert int(weasyprint.__version__.split(".")[0]) >= 69  # CVE-2025-68616 (68.0), CVE-2026-49452 (69.0)


def test_a_render_that_runs_too_long_is_stopped_and_the_document_marked_failed(world, monkeypatch, caplog):
    raiser, theirs = world
    case = factories.escalation(raiser, theirs, START)
    monkeypatch.setattr(pdf, "RENDER_SECONDS", 0.001)

    render_pending_documents.call_local()

    assert Document.get(Document.escalation == case).status == "failed"
    assert "took longer than" in caplog.text and CHILD not in caplog.text


def test_a_pdf_is_served_as_a_download_only_to_those_who_may_see_the_case(app, client, people, case):
    with app.app_context():
        document = Document.get(Document.escalation == case)
    url = f"/cases/{case.reference}/documents/{document.id}"
    sign_in(client, people["manager"])
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f"attachment; filename={case.reference}-escalation_notice.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff" and "no-store" in response.headers["Cache-Control"]
    stranger = client.application.test_client()
    sign_in(stranger, people["stranger"])
    assert stranger.get(url).status_code == 404


def test_failed_documents_are_rendered_again_on_request(app, runner, case):
    with app.app_context():
        Document.update(status="failed").execute()
    result = runner.invoke(args=["documents", "retry"])
    assert result.exit_code == 0 and "1 failed document will be rendered again" in result.output
    with app.app_context():
        render_pending_documents.call_local()
        assert Document.get(Document.escalation == case).status == "rendered"
