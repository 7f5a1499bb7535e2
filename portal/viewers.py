"""Who has opened a case: views are kept append-only, but a busy page records a person at most once in
`VIEW_EVERY`, and the page reads one line per person from a grouped query, not every view."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from peewee import JOIN, Case, fn

from portal.case_actions import Actor
from portal.models import Escalation, Event, User
from portal.prepared import Prepared, Slot

VIEW_EVERY = dt.timedelta(minutes=10)
# A view's data is JSON with sorted keys; a document opened carries `"document": kind` (a quote inside any other
# value is escaped, so this cannot match one).
OPENED_A_DOCUMENT = fn.LOWER(Event.data).contains('"document":')  # LOWER: a function, so the text is not JSON-encoded


def _seen_since(person):
    return Event.select(Event.id).where(
        (Event.escalation == Slot("case_id")) & (Event.kind == "viewed") & person & (Event.at > Slot("since", Event.at))
    )


# On every page of a case: SQL written once (portal/prepared.py), for a user and for a link recipient
_SEEN_BY_USER = Prepared(lambda: _seen_since(Event.actor == Slot("user_id")).limit(1))
_SEEN_BY_ADDRESS = Prepared(lambda: _seen_since(Event.actor.is_null() & (Event.actor_email == Slot("email"))).limit(1))


def seen_lately(escalation: Escalation, actor: Actor, now: dt.datetime) -> bool:
    """Whether this person's opening of the case (page or document) is already on record within VIEW_EVERY."""
    since = now - VIEW_EVERY
    if actor.user is not None:
        return _SEEN_BY_USER.first(case_id=escalation.id, user_id=actor.user.id, since=since) is not None
    return _SEEN_BY_ADDRESS.first(case_id=escalation.id, email=actor.email, since=since) is not None


@dataclass(frozen=True)
class Viewer:
    who: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    times: int  # recorded openings: at most one a VIEW_EVERY for the page, every document opened
    documents: int  # of which documents opened
    via_link: bool  # a link recipient without an account (the page was opened from an email)


def _viewers_query():
    first, last = fn.MIN(Event.at).alias("first_seen"), fn.MAX(Event.at).alias("last_seen")
    return (
        Event.select(
            User.name,
            Event.actor_email,
            first,
            last,
            fn.COUNT(Event.id).alias("times"),
            fn.SUM(Case(None, [(OPENED_A_DOCUMENT, 1)], 0)).alias("documents"),
            # a link recipient's name is in each view's data; any of their views carries the same one
            fn.MAX(Event.data).coerce(False).alias("data"),
        )
        .join(User, JOIN.LEFT_OUTER, on=(Event.actor == User.id))
        .where((Event.escalation == Slot("case_id")) & (Event.kind == "viewed"))
        .group_by(Event.actor, User.name, Event.actor_email)
        .order_by(fn.MAX(Event.at).desc())
        .dicts()
    )


_VIEWERS = Prepared(_viewers_query)


def viewers(escalation: Escalation) -> list[Viewer]:
    """One line per person who opened the case, the latest first: one query, whatever the number of views."""
    rows = _VIEWERS.run(case_id=escalation.id)
    found = []
    for row in rows:
        if row["name"]:
            who = row["name"]
        else:
            name = json.loads(row["data"] or "{}").get("actor_name", "")
            who = f"{name} ({row['actor_email']})" if name and row["actor_email"] else name or row["actor_email"]
        found.append(
            Viewer(
                who,
                _utc(row["first_seen"]),
                _utc(row["last_seen"]),
                row["times"],
                row["documents"] or 0,
                not row["name"],
            )
        )
    return found


def _utc(value) -> dt.datetime:
    """Aggregates come back as the engine gives them (text on SQLite): read them as the field would."""
    return Event.at.python_value(value)
