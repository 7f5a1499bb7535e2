"""Who may see and act on which case. A practitioner sees only cases they are party to;
the Business Manager sees every case; administrators manage users, not cases."""

from __future__ import annotations

from peewee import JOIN, fn

from portal.models import Agency, Escalation, JointRaiser, StageParty, StageRecord, User


def _party_case_ids(user: User):
    return (
        StageRecord.select(StageRecord.escalation)
        .join(StageParty)
        .where(fn.LOWER(StageParty.email) == user.email.lower())
    )


def visible_cases(user: User, query=None):
    """The cases this user may open, as a query (`query`: one selecting more than the case, to narrow)."""
    query = Escalation.select() if query is None else query
    if user.role == "business_manager":
        return query
    return query.where(
        (Escalation.raiser == user.id)
        | (Escalation.counterpart_email == user.email.lower())
        | Escalation.id.in_(_party_case_ids(user))
        | Escalation.id.in_(JointRaiser.select(JointRaiser.escalation).where(JointRaiser.email == user.email.lower()))
    )


def case_for(reference: str, user: User) -> Escalation | None:
    """The case, if this user may see it; None (a 404, same as no such case) otherwise. Its raiser and agencies
    come in the same query: every page of the case names them."""
    raiser_agency, counterpart_agency = Agency.alias(), Agency.alias()
    query = (
        Escalation.select(Escalation, User, raiser_agency, counterpart_agency)
        .join_from(Escalation, User, on=Escalation.raiser)
        .join_from(Escalation, raiser_agency, JOIN.LEFT_OUTER, on=Escalation.raiser_agency)
        .join_from(Escalation, counterpart_agency, JOIN.LEFT_OUTER, on=Escalation.counterpart_agency)
    )
    return visible_cases(user, query).where(Escalation.reference == reference).first()


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
