"""The final decision reaches the referrer and the parties in writing, through a real SMTP server: the notice
attached for a secure address, and for any other a link whose page asks for the address before it gives the PDF."""

from __future__ import annotations

import datetime as dt
import re

import time_machine

from portal import links
from portal.models import Document, Outbox
from portal.procedure import load_procedure
from portal.workflow import decide, escalate
from tasks.documents import render_pending_documents
from tasks.mail import send_outbox
from tests import factories
from tests.conftest import TEST_PROCEDURE

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
COPY_LINK = re.compile(r"http://localhost:5000(/a/[A-Za-z0-9_-]+)")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def test_the_decision_notice_goes_to_the_referrer_attached_and_to_the_parties_behind_a_link(smtp_server, smtp_app):
    procedure = load_procedure(TEST_PROCEDURE)  # secure_domains = ["secure.example"]
    with time_machine.travel(START, tick=False):
        links.init_secret(smtp_app.config["SECRET_KEY"])
        ours, theirs = factories.agency("Children's Social Care"), factories.agency("Police", "police")
        factories.partnership()
        raiser = factories.user(agency_=ours, email="rae.referrer@secure.example")
        case = factories.escalation(raiser, theirs, START, procedure)
        for _ in range(procedure.last_index):
            escalate(procedure, case, factories.acting(case, "escalate"), "Not agreed at this stage.")
        decide(procedure, case, factories.acting(case, "decide"), "The police will hold a strategy meeting today.")
        render_pending_documents.call_local()
        for row in Outbox.select().where(Outbox.status == "pending"):
            send_outbox.call_local(row.id)
        notice = Document.get((Document.escalation == case.id) & (Document.kind == "final_decision_notice"))

    by_recipient: dict[str, list] = {}
    for message in smtp_server.messages:
        by_recipient.setdefault(message["To"].addresses[0].addr_spec, []).append(message)
    attached = [
        part.get_filename()
        for message in by_recipient[raiser.email]
        for part in message.iter_attachments()
        if part.get_content_type() == "application/pdf"
    ]
    assert attached == [notice.filename]

    line_manager = f"line_manager.{theirs.id}@agency.example"  # a party at stage 2, not a secure address
    copies = [m for m in by_recipient[line_manager] if "Final decision notice" in m.get_body(("plain",)).get_content()]
    assert len(copies) == 1 and not list(copies[0].iter_attachments())
    body = copies[0].get_body(("plain",)).get_content()
    assert "Zzyzx Canaryson" not in body
    path = COPY_LINK.search(body)[1]
    client = smtp_app.test_client()
    with time_machine.travel(START + dt.timedelta(hours=1), tick=False):
        page = client.get(path).get_data(as_text=True)
        pdf = client.post(path, data={"csrf_token": CSRF.search(page)[1], "email": line_manager})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data == notice.content
