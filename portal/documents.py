"""The case's PDF records (Escalation Notice, Request for Resolution, resolution proformas, final decision
notice), rendered by WeasyPrint in a task from templates/pdf/, stored with their SHA-256 and sent to the
partnership's Business Manager.

A document shows the case as it stood when the transition that asked for it was committed (`created_at`),
so rendering it late, or twice, gives the same record. Marking it rendered and queueing its emails is one
transaction that only the first renderer wins: the Business Manager receives each document once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateError

from portal import links, pdf
from portal.db import database
from portal.history import stage_history
from portal.mail import queue_email, wake_sender
from portal.models import Document, Escalation, Event, Outbox, StageParty, StageRecord, utcnow
from portal.procedure import DOCUMENTS, SPECIFIC_CIRCUMSTANCES, Procedure
from portal.registry import registry
from portal.routing import Recipient, business_managers
from portal.strict_templates import strict_template
from portal.wake import Waker

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

# Installed by the app to enqueue render tasks; without it the minute sweep renders every pending document.
wake_renderer = Waker()
COPY_LINK_LIFE = dt.timedelta(days=28)  # a copy is kept for the record: its link outlives the stage

RECORD_EVENTS = ("raised", "record", "escalated", "resolved", "decided", "withdrawn")
ENDINGS = ("escalated", "resolved", "decided", "withdrawn")


def filename_for(document: Document) -> str:
    return document.key.replace("/", "-") + ".pdf"


def document_context(document: Document, procedure: Procedure) -> dict[str, Any]:
    """The case as it stood when the document was asked for."""
    case: Escalation = document.escalation
    as_at = document.created_at
    records = (
        StageRecord.select()
        .where((StageRecord.escalation == case) & (StageRecord.started_at <= as_at))
        .order_by(StageRecord.stage_index)
    )
    events = list(
        Event.select()
        .where((Event.escalation == case) & (Event.at <= as_at) & Event.kind.in_(RECORD_EVENTS))
        .order_by(Event.at, Event.id)
    )
    # The event that ended each stage: an escalation is recorded at the stage it moved to.
    ended_by = {e.stage_index - (e.kind == "escalated"): e for e in events if e.kind in ENDINGS}
    stages = []
    for record in records:
        ended = record.ended_at is not None and record.ended_at <= as_at
        stages.append(
            {
                "name": procedure.stage(record.stage_index).name,
                "started_at": record.started_at,
                "due_at": record.due_at,
                "ended_at": record.ended_at if ended else None,
                "ending": record.ending if ended else "",
                "statement": record.statement if ended else "",
                "ended_by": ended_by.get(record.stage_index) if ended else None,
                "parties": [f"{p.name} ({p.email})" for p in StageParty.select().where(StageParty.stage == record)],
            }
        )
    # Who a copy of this kind of document went to by then: only mail that carried it, as sent, not today's directory.
    carried = Outbox.select().where(
        (Outbox.escalation == case)
        & (Outbox.purpose.in_(("copy", "document")))
        & (Outbox.status == "sent")
        & (Outbox.sent_at <= as_at)
    )
    copied = [
        (o.recipient_name, o.recipient_email)
        for o in carried
        if (o.context or {}).get("document") == document.kind and (o.context or {}).get("document_id")
    ]
    stage_index = 0 if document.stage_index is None else document.stage_index  # raise documents: stage 1
    return {
        "title": DOCUMENTS.get(document.kind, document.kind),
        "document": document,
        "case": case,
        "procedure": procedure,
        "stage_name": procedure.stage(stage_index).name,
        "as_at": as_at,
        "stages": stages,
        "history": stage_history(case, procedure, as_at),
        "events": events,
        "specific_circumstance": SPECIFIC_CIRCUMSTANCES.get(case.specific_circumstance or "", ""),
        "copies_to": sorted({f"{name} ({email})" for name, email in copied if email != case.raiser.email}),
    }


def render_pdf(document: Document, app: Flask) -> bytes:
    procedure = registry.of_case(document.escalation)
    # The bare environment, as for email: no request, so no request hooks (which would close the task's connection).
    html = strict_template(app, f"pdf/{document.kind}.html").render(document_context(document, procedure))
    return pdf.render(html)


def render_document(document_id: int, app: Flask, now: dt.datetime | None = None) -> str:
    """Render one pending document and send it to the Business Manager; anything else is left alone."""
    document = Document.get_or_none(Document.id == document_id)
    if document is None or document.status != "pending":
        return "skipped"
    try:
        content = render_pdf(document, app)
    except (pdf.RenderError, TemplateError, LookupError) as error:
        # A fault in the document itself (its template, a stage the procedure no longer has, a render that ran
        # out of time): show it and keep the case going. A database error is not caught: the sweep retries.
        log.error("document %s (%s) could not be rendered: %s", document.id, document.kind, error)
        Document.update(status="failed").where((Document.id == document.id) & (Document.status == "pending")).execute()
        return "failed"
    now = now or utcnow()
    outbox: list[int] = []
    with database.atomic():
        won = (
            Document.update(
                status="rendered",
                content=content,
                sha256=hashlib.sha256(content).hexdigest(),
                filename=filename_for(document),
                rendered_at=now,
            )
            .where((Document.id == document.id) & (Document.status == "pending"))
            .execute()
        )
        if won:
            case = document.escalation
            context = {
                "document": document.kind,
                "document_id": document.id,
                "stage_index": document.stage_index or 0,
            }
            for person in business_managers(registry.of_case(case), case):
                outbox.append(
                    queue_email(case, "document", person, f"{document.key}/document/{person.email.lower()}", context)
                )
            outbox += _release_copies(document, now)
    wake_sender(outbox)
    return "rendered" if won else "skipped"


def queue_copy(
    case: Escalation, document_kind: str | None, person: Recipient, key: str, stage_index: int, now: dt.datetime
) -> int:
    """A copy of a document (Salford's notice to the Service Manager, the resolution record to the parties) carries
    it: sent now if the document is ready, otherwise held until it is rendered."""
    context = {"stage_index": stage_index, "document": document_kind}
    row_id = queue_email(case, "copy", person, key, context)
    if not document_kind or row_id is None:
        return row_id
    document = (
        Document.select()
        .where((Document.escalation == case) & (Document.kind == document_kind) & (Document.status == "rendered"))
        .order_by(Document.id.desc())
        .first()
    )
    if document is None:
        Outbox.update(status="awaiting_document").where(Outbox.id == row_id).execute()
        return None
    _carry(Outbox.get_by_id(row_id), document, now)
    return row_id


def _release_copies(document: Document, now: dt.datetime) -> list[int]:
    """The copies held for this document go now, carrying it."""
    held = Outbox.select().where(
        (Outbox.escalation == document.escalation_id)
        & (Outbox.purpose == "copy")
        & (Outbox.status == "awaiting_document")
    )
    released = []
    for row in held:
        if (row.context or {}).get("document") == document.kind:
            _carry(row, document, now)
            released.append(row.id)
    return released


def _carry(row: Outbox, document: Document, now: dt.datetime) -> None:
    """Attach the document to the copy (a secure address gets the PDF itself; any other a link to a page that
    asks for the address before it gives the PDF)."""
    context = dict(row.context or {}, document_id=document.id)
    if not context.get("secure"):
        stage_index = context.get("stage_index", 0)
        links.issue_link(
            document.escalation_id,
            stage_index,
            row.recipient_email,
            row.recipient_name,
            "document",
            now + COPY_LINK_LIFE,
        )
    Outbox.update(status="pending", context=context, next_attempt_at=now).where(Outbox.id == row.id).execute()


def pending_documents(limit: int = 100) -> list[int]:
    return [
        d.id
        for d in Document.select(Document.id).where(Document.status == "pending").order_by(Document.id).limit(limit)
    ]


def retry_failed() -> int:
    """Failed documents back to pending, for the sweep to render again; returns how many."""
    return Document.update(status="pending").where(Document.status == "failed").execute()
