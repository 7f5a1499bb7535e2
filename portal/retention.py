"""Retention: a closed case's details are erased once its partnership's retention period has passed.

What goes: the child, the people, every word written, the events, the PDFs and the emails. What stays, for the
reports: the row itself as a tombstone (reference, dates, status, categories, the stage it ended at, the agencies,
the stage dates and endings) and who confirmed the erasure, when.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask
from peewee import ModelDelete

from portal.db import database
from portal.models import (
    ActionLink,
    DeadlineChange,
    Document,
    Escalation,
    Event,
    InboxMark,
    Learning,
    Outbox,
    Reminder,
    StageParty,
    StageRecord,
    utcnow,
)
from portal.registry import registry

log = logging.getLogger(__name__)

# The tombstone: every field that says who or what, emptied; the rest (dates, status, agencies...) kept.
ERASED_FIELDS = {
    "child_name": "",
    "child_dob": None,
    "child_due": None,
    "child_name_key": "",
    "child_surname_key": "",
    "child_identifier": "",
    "child_chair_name": "",
    "child_chair_email": "",
    "raiser_role": "",
    "raiser_contact_details": "",
    "counterpart_name": "",
    "counterpart_email": "",
    "category_other": "",
    "summary": "",
    "action_taken": "",
    "outcome_sought": "",
    "lead_name": "",
    "outcome": "",
    "submission_key": None,
}


def retention_years(app: Flask) -> int:
    """The procedure file's `retention_years`, else the RETENTION_YEARS setting."""
    return registry.current().retention_years or app.config["RETENTION_YEARS"]


def years_before(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def due_for_erasure(years: int, now: dt.datetime | None = None) -> list[Escalation]:
    """Closed cases whose retention has run out and whose details are still held, oldest first."""
    cutoff = years_before(now or utcnow(), years)
    query = Escalation.select().where(
        (Escalation.status != "open")
        & Escalation.closed_at.is_null(False)
        & (Escalation.closed_at <= cutoff)
        & Escalation.erased_at.is_null()
    )
    return list(query.order_by(Escalation.closed_at, Escalation.id))


def erase_case(escalation_id: int, confirmed_by: str, now: dt.datetime | None = None) -> None:
    """Erase one case's details, keeping its tombstone; all or nothing."""
    if not confirmed_by.strip():
        raise ValueError("an erasure is confirmed by a named person")
    now = now or utcnow()
    with database.atomic():
        stages = StageRecord.select(StageRecord.id).where(StageRecord.escalation == escalation_id)
        StageParty.delete().where(StageParty.stage.in_(stages)).execute()
        StageRecord.update(statement="").where(StageRecord.escalation == escalation_id).execute()
        # Deadline changes keep their kind and dates (paused time, for the reports); who and why go.
        DeadlineChange.update(reason="", made_by=None, made_by_email="", made_by_name="").where(
            DeadlineChange.escalation == escalation_id
        ).execute()
        documents = Document.select(Document.id).where(Document.escalation == escalation_id)
        lessons = Learning.select(Learning.id).where(Learning.escalation == escalation_id)
        InboxMark.delete().where(
            ((InboxMark.kind == "case") & (InboxMark.item_id == escalation_id))
            | ((InboxMark.kind == "document") & InboxMark.item_id.in_(documents))
            | ((InboxMark.kind == "learning") & InboxMark.item_id.in_(lessons))
        ).execute()
        # Learning can name the child; the quarterly reports made before now keep what they counted.
        for model in (Learning, ActionLink, Reminder, Outbox, Document):
            model.delete().where(model.escalation == escalation_id).execute()
        Escalation.update(**ERASED_FIELDS, erased_at=now, erased_by=confirmed_by.strip()).where(
            Escalation.id == escalation_id
        ).execute()
        # The one deletion of events: the database allows it only for a case marked erased (migration 0015), and
        # the ORM's Event refuses it everywhere, hence the query built directly.
        ModelDelete(Event).where(Event.escalation == escalation_id).execute()
    log.info("retention: case id=%s erased, confirmed by a named person", escalation_id)
