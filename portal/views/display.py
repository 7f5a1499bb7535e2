"""How case data reads on a page: category names, document names and timeline event titles."""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup

from forms.raise_escalation import CATEGORIES
from portal.models import Event
from portal.procedure import DOCUMENTS, Procedure

EVENT_TITLES = {
    "raised": "Escalation raised",
    "viewed": "Case viewed",
    "record": "Record of a discussion",
    "resolved": "Resolved: agreed outcome",
    "escalated": "Escalated",
    "withdrawn": "Withdrawn",
    "decided": "Final decision",
    "specific_circumstance": "Specific circumstance: procedure bypassed",
    "reminder_sent": "Reminder sent",
    "deadline_missed": "Deadline missed",
    "link_viewed": "Emailed link opened",
    "agreed": "The other agency agreed it is resolved",
    "contested": "The other agency said it is not resolved: reopened",
    "bypassed": "Procedure bypassed",
    "still_overdue": "Still overdue: notice repeated",
    "not_escalated": "Not escalated in time",
    "copy_overdue": "Copy not sent in time",
}


def category_names(keys: list[str], other: str = "") -> str:
    names = dict(CATEGORIES)
    return "; ".join(other if key == "other" and other else names.get(key, key) for key in keys)


def record_text(text: str) -> Markup:
    """A written record inside a component's value: its own line breaks kept, the template's whitespace not."""
    return Markup('<span class="portal-record">{}</span>').format(text or "")


def document_name(kind: str) -> str:
    return DOCUMENTS.get(kind, kind.replace("_", " ").capitalize())


def actor_label(event: Event) -> str:
    """Who acted: the user's name, or the link recipient's name and address."""
    if event.actor_id:
        return event.actor.name
    name = (event.data or {}).get("actor_name")
    if name and event.actor_email:
        return f"{name} ({event.actor_email})"
    return name or event.actor_email


def event_title(event: Event) -> str:
    title = EVENT_TITLES.get(event.kind, event.kind.replace("_", " ").capitalize())
    if event.kind == "viewed" and event.data.get("document"):
        return f"Document opened: {document_name(event.data['document'])}"
    if event.kind in ("escalated", "contested", "bypassed") and event.data.get("to_stage"):
        return f"{title} to Stage {event.stage_index + 1}"
    return title


def party_names(parties) -> str:
    """Who acts at a stage; someone typed in by the person escalating is marked as not from the directory."""
    return ", ".join(
        p.name if p.verified else f"{p.name} ({p.email}, typed in: not from the directory)" for p in parties
    )


def stage_name(procedure: Procedure | None, index: int) -> str:
    """The stage's name, or its number when the case's procedure cannot be loaded."""
    if procedure is None or not 0 <= index < len(procedure.stages):
        return f"Stage {index + 1}"
    return procedure.stage(index).name


def init_display(app: Flask) -> None:
    app.jinja_env.filters["record"] = record_text
    app.jinja_env.globals.update(
        category_names=category_names,
        event_title=event_title,
        document_name=document_name,
        actor_label=actor_label,
        stage_name=stage_name,
        party_names=party_names,
    )
