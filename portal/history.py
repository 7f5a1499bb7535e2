"""The case's story stage by stage: who was named, when each stage ran, and everything written at it (the
records the procedure asks for, discussions, the reason for escalating, the agreed outcome). One reading for
the case page, the emailed-link page and the PDF records, so all three tell it the same way.

Three queries whatever the number of stages or events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN

from portal.models import Escalation, Event, StageParty, StageRecord, User
from portal.procedure import Procedure
from portal.stage_records import labelled
from portal.views.display import stage_name

WRITTEN = ("record", "escalated", "resolved", "decided", "withdrawn")
# The event that ends a stage, and the label of its own text.
ENDING_LABELS = {
    "resolved": "Agreed outcome",
    "escalated": "Reason for escalating",
    "decided": "Final decision",
    "withdrawn": "Reason for withdrawing",
}


@dataclass
class Entry:
    """One written act at a stage: a discussion recorded, or how the stage ended."""

    event: Event
    title: str
    answers: list[tuple[str, str]]  # (label, text), the act's own text first


@dataclass
class StageStory:
    index: int
    name: str
    record: StageRecord
    parties: list[StageParty] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    @property
    def ending_event(self) -> Event | None:
        return next((e.event for e in self.entries if e.event.kind in ENDING_LABELS), None)


def _ended_stage(event: Event) -> int:
    """An escalation is recorded at the stage it moved to; it ends the one before."""
    return event.stage_index - 1 if event.kind == "escalated" else event.stage_index


def _entry(event: Event) -> Entry:
    data = event.data or {}
    if event.kind == "record":
        answers = [("Record of the discussion", event.text)]
        title = "Record of a discussion"
    else:
        answers = [(ENDING_LABELS[event.kind], event.text)]
        title = {"resolved": "Resolved", "escalated": "Escalated", "decided": "Decided", "withdrawn": "Withdrawn"}[
            event.kind
        ]
    answers += labelled(data.get("records"))
    if data.get("outstanding"):
        answers.append(("How outstanding issues will be pursued", data["outstanding"]))
    return Entry(event, title, answers)


def stage_history(case: Escalation, procedure: Procedure | None, as_at: dt.datetime | None = None) -> list[StageStory]:
    """Every stage the case has reached (up to `as_at`, for a document showing the case as it stood then)."""
    records = StageRecord.select().where(StageRecord.escalation == case)
    events = (
        Event.select(Event, User.id, User.name)  # each entry's actor's name in the same query
        .join(User, JOIN.LEFT_OUTER, on=(Event.actor == User.id))
        .where((Event.escalation == case) & Event.kind.in_(WRITTEN))
    )
    if as_at is not None:
        records = records.where(StageRecord.started_at <= as_at)
        events = events.where(Event.at <= as_at)
    stories = {
        r.stage_index: StageStory(r.stage_index, stage_name(procedure, r.stage_index), r)
        for r in records.order_by(StageRecord.stage_index)
    }
    if not stories:
        return []
    parties = StageParty.select().where(StageParty.stage.in_([s.record.id for s in stories.values()]))
    by_record = {s.record.id: s for s in stories.values()}
    for party in parties.order_by(StageParty.id):
        by_record[party.stage_id].parties.append(party)
    for event in events.order_by(Event.at, Event.id):
        story = stories.get(_ended_stage(event))
        if story is not None:
            story.entries.append(_entry(event))
    return list(stories.values())
