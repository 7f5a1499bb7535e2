"""Sent mail by role: administrators see envelopes only; the Business Manager reads bodies, never a live link.

On both backends: the demo's files hold the live links, so reading them back would hand the links out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal import mail
from portal.db import database
from portal.models import Outbox
from tasks.mail import send_outbox
from tests import factories
from tests.web.conftest import START, sign_in, text_of_page

CHILD, DOB = "Zzyzx Canaryson", "2019"
LIVE_LINK = re.compile(r"/a/[A-Za-z0-9_-]{20,}")


@pytest.fixture(params=["file", "smtp"])
def sent(request, app, clock):
    """A case whose counterpart's address is secure (their email names the child), every email delivered."""
    if request.param == "smtp":
        server = request.getfixturevalue("smtp_server")
        app.config.update(MAIL_BACKEND="smtp", SMTP_HOST=server.host, SMTP_PORT=server.port)
    mail.set_waker(None)
    with app.app_context():
        raiser, _ours, theirs = factories.world()
        people = {"admin": factories.user("admin"), "manager": factories.user("business_manager")}
        case = factories.escalation(raiser, theirs, START, counterpart_email="pat@police.secure.example")
        for row in Outbox.select():
            send_outbox.call_local(row.id)
        rows = list(Outbox.select().where(Outbox.escalation == case))
    assert {row.status for row in rows} == {"sent"}
    if request.param == "file":  # the files written do carry the child and the live links
        files = "".join(p.read_text() for p in Path(app.config["MAIL_FILE_DIR"]).glob("*.eml"))
        assert CHILD in files and LIVE_LINK.search(files)
    return case, rows, people


def test_administrators_see_the_envelope_and_nothing_of_the_child(app, client, sent):
    case, rows, people = sent
    sign_in(client, people["admin"])

    page = client.get("/admin/mail").get_data(as_text=True)

    assert "pat@police.secure.example" in text_of_page(page) and f"Action needed: {case.reference}" in page
    assert page.count("govuk-tag--green") >= len(rows)
    assert CHILD not in page and "Zzyzx" not in page and "01/03/2019" not in page and "1 March 2019" not in page
    assert not LIVE_LINK.search(page) and "/a/" not in page
    assert not re.search(r'href="/admin/mail/\d+"', page)
    for row in rows:
        assert client.get(f"/admin/mail/{row.id}").status_code == 404


def test_the_business_manager_reads_bodies_without_a_working_link(app, client, sent):
    case, rows, people = sent
    sign_in(client, people["manager"])
    (secure,) = [r for r in rows if r.recipient_email == "pat@police.secure.example" and r.purpose == "stage_started"]

    listing = client.get("/admin/mail").get_data(as_text=True)
    assert f'href="/admin/mail/{secure.id}"' in listing and not LIVE_LINK.search(listing)
    page = client.get(f"/admin/mail/{secure.id}").get_data(as_text=True)

    assert CHILD in page and case.reference in page
    assert "/a/[link for the recipient only]" in page and not LIVE_LINK.search(page)


def test_mail_waiting_for_its_document_has_a_tag_of_its_own(app, client, sent):
    _case, rows, people = sent
    with database.connection_context():
        Outbox.update(status="awaiting_document").where(Outbox.id == rows[0].id).execute()
    sign_in(client, people["admin"])

    page = client.get("/admin/mail").get_data(as_text=True)

    assert re.search(r'govuk-tag--purple">\s*Awaiting document', page)
