"""Subject access: every record the portal holds about a child, as one zip with an index PDF.

The Business Manager answers the request; what is handed to the requester is for them to redact (other people's
details are in it). Each export is an event on every case it covers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from flask import Flask
from peewee import JOIN, fn
from playhouse.shortcuts import model_to_dict

from portal import mail, pdf
from portal.db import database
from portal.models import Document, Escalation, Event, Outbox, StageParty, StageRecord, User, utcnow
from portal.strict_templates import strict_template
from portal.workflow import Actor, record_subject_access_export

MAX_CASES = 50  # one child rarely has more than a few; a search matching more is too broad to be one child


@dataclass(frozen=True)
class ExportedFile:
    name: str
    size: int
    sha256: str


def find_child_cases(reference: str = "", name: str = "", dob: dt.date | None = None) -> list[Escalation]:
    """A child's cases, by reference or by full name (any case, extra spaces ignored) and date of birth. Erased
    cases hold nothing of the child and are never found."""
    query = Escalation.select().where(Escalation.erased_at.is_null())
    if reference:
        query = query.where(Escalation.reference == reference.strip().upper())
    else:
        query = query.where(
            (fn.LOWER(Escalation.child_name) == " ".join(name.split()).lower()) & (Escalation.child_dob == dob)
        )
    return list(query.order_by(Escalation.created_at, Escalation.id).limit(MAX_CASES))


def _json(value) -> bytes:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False).encode("utf-8")


def _case_files(case: Escalation, app: Flask) -> list[tuple[str, bytes]]:
    folder = case.reference
    stages = list(StageRecord.select().where(StageRecord.escalation == case).order_by(StageRecord.stage_index))
    parties = StageParty.select().where(StageParty.stage.in_([s.id for s in stages])) if stages else []
    record = {
        "case": model_to_dict(case, recurse=False),
        "stages": [model_to_dict(s, recurse=False) for s in stages],
        "people_named": [model_to_dict(p, recurse=False) for p in parties],
    }
    events = Event.select(Event, User).join(User, JOIN.LEFT_OUTER, on=(Event.actor == User.id))
    events = events.where(Event.escalation == case).order_by(Event.id)
    files = [
        (f"{folder}/record.json", _json(record)),
        (
            f"{folder}/events.json",
            _json(
                [{**model_to_dict(e, recurse=False), "actor_name": e.actor.name if e.actor_id else ""} for e in events]
            ),
        ),
    ]
    for document in Document.select().where((Document.escalation == case) & (Document.status == "rendered")):
        files.append((f"{folder}/documents/{document.filename}", document.content))
    for row in Outbox.select().where(Outbox.escalation == case).order_by(Outbox.id):
        try:
            message = mail.message_for_reading(row, app)
            body = f"To: {message['To']}\nSubject: {message['Subject']}\n\n{message.get_body(('plain',)).get_content()}"
        except mail.DeliveryError as error:  # e.g. a document email whose PDF failed: say so rather than omit it
            body = f"To: {row.recipient_email}\n\n(this email could not be rebuilt: {error})"
        files.append((f"{folder}/emails/{row.id}-{row.purpose}.txt", body.encode("utf-8")))
    return files


def export(cases: list[Escalation], requested_by: User, app: Flask, now: dt.datetime | None = None) -> bytes:
    """The zip: per case its record, events, PDFs and emails (links hidden), and index.pdf listing them all."""
    now = now or utcnow()
    files = [item for case in cases for item in _case_files(case, app)]
    listed = [ExportedFile(name, len(data), hashlib.sha256(data).hexdigest()) for name, data in files]
    index = pdf.render(
        strict_template(app, "pdf/subject_access_index.html").render(
            cases=cases, files=listed, requested_by=requested_by, as_at=now
        )
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.pdf", index)
        for name, data in files:
            archive.writestr(name, data)
    with database.atomic():
        for case in cases:
            record_subject_access_export(case, Actor.of(requested_by), now, files=len(files))
    return buffer.getvalue()
