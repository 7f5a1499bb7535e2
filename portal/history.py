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
from portal.prepared import Prepared, Slot
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


# Written once (portal/prepared.py); a history "as at" the end of time is the whole of it
_FOREVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def _stages_reached():
    return (StageRecord.escalation == Slot("case_id")) & (
        StageRecord.started_at <= Slot("as_at", StageRecord.started_at)
    )


_RECORDS = Prepared(lambda: StageRecord.select().where(_stages_reached()).order_by(StageRecord.stage_index))
_PARTIES = Prepared(
    lambda: StageParty.select(StageParty).join(StageRecord).where(_stages_reached()).order_by(StageParty.id)
)
_ENTRIES = Prepared(
    lambda: (
        Event.select(Event, User.id, User.name)  # each entry's actor's name in the same query
        .join(User, JOIN.LEFT_OUTER, on=(Event.actor == User.id))
        .where((Event.escalation == Slot("case_id")) & Event.kind.in_(WRITTEN) & (Event.at <= Slot("as_at", Event.at)))
        .order_by(Event.at, Event.id)
    )
)


def stage_history(case: Escalation, procedure: Procedure | None, as_at: dt.datetime | None = None) -> list[StageStory]:
    """Every stage the case has reached (up to `as_at`, for a document showing the case as it stood then)."""
    values = {"case_id": case.id, "as_at": as_at or _FOREVER}
    stories = {
        r.stage_index: StageStory(r.stage_index, stage_name(procedure, r.stage_index), r)
        for r in _RECORDS.run(**values)
    }
    if not stories:
        return []
    by_record = {s.record.id: s for s in stories.values()}
    for party in _PARTIES.run(**values):
        by_record[party.stage_id].parties.append(party)
    for event in _ENTRIES.run(**values):
        story = stories.get(_ended_stage(event))
        if story is not None:
            story.entries.append(_entry(event))
    return list(stories.values())
