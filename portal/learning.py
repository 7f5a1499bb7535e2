"""Learning from a resolution or final decision: kept as a row the quarterly report counts, and sent to the
Business Manager and to the roles the procedure's `[learning]` table names (docs/procedure-files.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.mail import queue_email
from portal.models import Escalation, Event, Learning
from portal.procedure import Procedure
from portal.routing import business_managers, resolve_parties

MAX_TEXT = 10_000


@dataclass(frozen=True)
class Lessons:
    """What the person resolving or deciding says the partnership should learn; every part is optional."""

    points: str = ""
    policy: str = ""  # which policy or procedure
    policy_gap: str = ""  # the gap or weakness found in it
    debrief: bool = False

    @classmethod
    def of(cls, value: Lessons | str | None) -> Lessons:
        """A plain string is learning points alone (how callers passed learning before policy gaps were asked)."""
        if isinstance(value, Lessons):
            return cls(
                value.points.strip()[:MAX_TEXT],
                value.policy.strip()[:200],
                value.policy_gap.strip()[:MAX_TEXT],
                bool(value.debrief),
            )
        return cls(points=(value or "").strip()[:MAX_TEXT])

    def __bool__(self) -> bool:
        return bool(self.points or self.policy or self.policy_gap or self.debrief)


def record_lessons(
    procedure: Procedure, escalation: Escalation, event: Event, lessons: Lessons | None, now: dt.datetime
) -> list[int]:
    """Store the lessons and queue their emails, inside the caller's transaction; returns the outbox ids."""
    if not lessons:
        return []
    Learning.create(
        escalation=escalation,
        event=event,
        stage_index=escalation.stage_index,
        at=now,
        points=lessons.points,
        policy=lessons.policy,
        policy_gap=lessons.policy_gap,
        debrief=lessons.debrief,
    )
    roles = procedure.learning_notify + (procedure.policy_gaps_notify if lessons.policy_gap else ())
    people = {r.email.lower(): r for r in business_managers(procedure, escalation)}
    for person in resolve_parties(procedure, roles, escalation):
        people.setdefault(person.email.lower(), person)
    key = f"{escalation.reference}/stage{escalation.stage_index + 1}/learning"
    context = {"stage_index": escalation.stage_index, "event_id": event.id}
    return [
        row
        for email, person in people.items()
        if (row := queue_email(escalation, "learning", person, f"{key}/{email}", context))
    ]
