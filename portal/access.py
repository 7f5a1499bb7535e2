"""Who may see and act on which case. A practitioner sees only cases they are party to;
the Business Manager sees every case; administrators manage users, not cases."""

from __future__ import annotations

from peewee import JOIN, fn

from portal.models import Agency, Escalation, JointRaiser, StageParty, StageRecord, User
from portal.prepared import Prepared, Slot


def _party_case_ids(email):
    return StageRecord.select(StageRecord.escalation).join(StageParty).where(fn.LOWER(StageParty.email) == email)


def _of_party(query, user_id, email):
    """`query` narrowed to the cases of a practitioner: raised by them, against them, naming them at a stage, or
    raised jointly with them (`email` in lower case)."""
    return query.where(
        (Escalation.raiser == user_id)
        | (Escalation.counterpart_email == email)
        | Escalation.id.in_(_party_case_ids(email))
        | Escalation.id.in_(JointRaiser.select(JointRaiser.escalation).where(JointRaiser.email == email))
    )


def visible_cases(user: User):
    """The cases this user may open, as a query."""
    if user.role == "business_manager":
        return Escalation.select()
    return _of_party(Escalation.select(), user.id, user.email.lower())


def _with_people():
    """A case with its raiser and agencies, which every page of the case names."""
    raiser_agency, counterpart_agency = Agency.alias(), Agency.alias()
    return (
        Escalation.select(Escalation, User, raiser_agency, counterpart_agency)
        .join_from(Escalation, User, on=Escalation.raiser)
        .join_from(Escalation, raiser_agency, JOIN.LEFT_OUTER, on=Escalation.raiser_agency)
        .join_from(Escalation, counterpart_agency, JOIN.LEFT_OUTER, on=Escalation.counterpart_agency)
    )


# Every page of a case starts here: its SQL is written once (portal/prepared.py)
_ANY_CASE = Prepared(lambda: _with_people().where(Escalation.reference == Slot("reference")))
_CASE_OF_PARTY = Prepared(
    lambda: _of_party(_with_people(), Slot("user_id"), Slot("email")).where(Escalation.reference == Slot("reference"))
)


def case_for(reference: str, user: User) -> Escalation | None:
    """The case, if this user may see it; None (a 404, same as no such case) otherwise."""
    if user.role == "business_manager":
        return _ANY_CASE.first(reference=reference)
    return _CASE_OF_PARTY.first(reference=reference, user_id=user.id, email=user.email.lower())


def stage_party(case_id: int, stage_index: int, email: str) -> StageParty | None:
    """The person named at a stage of a case, by address."""
    return (
        StageParty.select()
        .join(StageRecord)
        .where(
            (StageRecord.escalation == case_id)
            & (StageRecord.stage_index == stage_index)
            & (fn.LOWER(StageParty.email) == email.lower())
        )
        .first()
    )
