"""A copy the procedure asks for carries its document: attached for a secure address, behind the address
check for any other (Salford: "a copy to the Service Manager within 2 working days")."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal import links, mail
from portal.db import database
from portal.models import ActionLink, Contact, Outbox
from portal.registry import registry
from portal.workflow import raise_escalation
from tasks.documents import render_pending_documents
from tests import factories
from tests.web.conftest import token

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
PROCEDURE = """
id = "copies"
name = "Escalation with a copy of the notice"
raise_documents = ["escalation_notice"]

[[stages]]
key = "practitioners"
name = "Stage 1: Practitioners"
parties = ["raiser", "counterpart"]
resolve_within = "5 working days"
copies = [{ role = "raiser.service_manager", within = "2 working days", document = "escalation_notice" }]

[[stages]]
key = "managers"
name = "Stage 2: Managers"
parties = ["raiser.line_manager", "counterpart.line_manager"]
resolve_within = "5 working days"
"""


@pytest.fixture
def copied(app, people, tmp_path, request):
    """A case raised under the procedure above; the service manager's address is secure or not."""
    path = tmp_path / "copies.toml"
    path.write_text(PROCEDURE)
    registry.configure(str(path))
    with app.app_context(), database.connection_context():
        links.init_secret(app.config["SECRET_KEY"])
        Contact.create(
            agency=people["ours"],
            role="service_manager",
            name="Sam Service",
            email="sam.service@agency.example",
            secure=request.param,
        )
        case = raise_escalation(
            registry.current(), people["raiser"], factories.details(counterpart_agency_id=people["theirs"].id), START
        )
        render_pending_documents.call_local()  # the notice is rendered: the copy held for it goes, carrying it
        copy = Outbox.get((Outbox.escalation == case) & (Outbox.purpose == "copy"))
    return case, copy


@pytest.mark.parametrize("copied", [True], indirect=True, ids=["secure"])
def test_a_secure_address_gets_the_notice_attached(app, copied):
    _, copy = copied
    assert copy.status == "sent" and copy.context["document_id"]
    with app.app_context(), database.connection_context():
        message = mail.build_message(copy, app)
        assert not ActionLink.select().where(ActionLink.action == "document").exists()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content().startswith(b"%PDF")
    assert "It is attached to this email." in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize("copied", [False], indirect=True, ids=["not-secure"])
def test_any_other_address_gets_a_link_that_asks_for_the_address_first(app, client, copied):
    case, copy = copied
    with app.app_context(), database.connection_context():
        message = mail.build_message(copy, app)
    assert not list(message.iter_attachments())
    text = message.get_body(("plain",)).get_content()
    path = re.search(r"Open the document: https?://[^/]+(/a/\S+)", text).group(1)
    page = client.get(path)
    assert page.status_code == 200 and "The email address this link was sent to" in page.get_data(as_text=True)
    wrong = client.post(path, data={"csrf_token": token(client, path), "email": "someone@else.example"})
    assert wrong.status_code == 400 and "Enter the email address this link was sent to" in wrong.get_data(as_text=True)
    right = client.post(path, data={"csrf_token": token(client, path), "email": "Sam.Service@agency.example"})
    assert right.status_code == 200 and right.mimetype == "application/pdf"
    assert right.headers["Content-Disposition"].startswith("attachment")
    assert right.data.startswith(b"%PDF")
