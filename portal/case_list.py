"""The report's case list: one row a case raised or ended in the period. Children's names and dates of birth only
when the Business Manager asks, and then every case listed records who exported them (an `exported` event)."""

from __future__ import annotations

import datetime as dt

from peewee import JOIN

from portal.models import Agency, Escalation, Event, Learning, StageRecord, User
from portal.procedure import Procedure
from portal.reports import Period
from portal.workdays import london

HEADER = [
    "Reference", "Raised", "Status", "Stage reached", "Ended", "Working days to end", "Raising agency",
    "Other agency", "Categories", "Imminent risk", "Specific circumstance", "Child protection plan", "Looked after",
    "Deadlines missed", "Learning recorded",
]  # fmt: skip
CHILD = ["Child's name", "Date of birth"]


def _when(moment: dt.datetime | None) -> str:
    return london(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def case_rows(procedure: Procedure, period: Period, children: bool) -> tuple[list[str], list[list], list[int]]:
    """The header, the rows and the cases' ids: three queries whatever the number of cases."""
    raiser_agency, other_agency = Agency.alias(), Agency.alias()
    window = lambda column: (column >= period.starts_at) & (column < period.ends_at)  # noqa: E731
    cases = list(
        Escalation.select(Escalation, raiser_agency.name.alias("raising"), other_agency.name.alias("other"))
        .join(raiser_agency, JOIN.LEFT_OUTER, on=(Escalation.raiser_agency == raiser_agency.id))
        .switch(Escalation)
        .join(other_agency, JOIN.LEFT_OUTER, on=(Escalation.counterpart_agency == other_agency.id))
        .where(
            (Escalation.procedure_id == procedure.id) & (window(Escalation.created_at) | window(Escalation.closed_at))
        )
        .order_by(Escalation.created_at, Escalation.id)
        .objects()
    )
    ids = [case.id for case in cases]
    late: dict[int, int] = {}
    for case_id, ended_at, due_at in (
        StageRecord.select(StageRecord.escalation, StageRecord.ended_at, StageRecord.due_at)
        .where(StageRecord.escalation.in_(ids or [0]))
        .tuples()
    ):
        late[case_id] = late.get(case_id, 0) + bool(ended_at and ended_at > due_at)
    learned = {
        row[0] for row in Learning.select(Learning.escalation).where(Learning.escalation.in_(ids or [0])).tuples()
    }
    rows = []
    calendar = procedure.calendar
    for case in cases:
        stage = procedure.stage(min(case.stage_index, procedure.last_index)).name
        days = calendar.working_days_between(case.created_at, case.closed_at) if case.closed_at else ""
        row = [
            case.reference, _when(case.created_at), case.status, stage, _when(case.closed_at), days,
            case.raising or "", case.other or "", "; ".join(case.categories or []),
            "yes" if case.imminent_risk else "no", case.specific_circumstance or "",
            "yes" if case.child_on_plan else "no", "yes" if case.child_looked_after else "no",
            late.get(case.id, 0), "yes" if case.id in learned else "no",
        ]  # fmt: skip
        if children:
            row += [case.child_name, case.child_dob.isoformat() if case.child_dob else ""]
        rows.append(row)
    return HEADER + (CHILD if children else []), rows, ids


def record_export(ids: list[int], user: User, now: dt.datetime, period_label: str) -> None:
    """Who took the children's details out of the portal, on each case's own record; inside the caller's
    transaction, in one statement."""
    if ids:
        Event.insert_many(
            [
                {
                    "escalation": case_id,
                    "at": now,
                    "kind": "exported",
                    "actor": user.id,
                    "actor_email": user.email,
                    "text": "",
                    "data": {"what": "children's names and dates of birth", "period": period_label},
                }
                for case_id in ids
            ]
        ).execute()
