"""Who may do what on a case: the one place that decides, from the case's procedure.

A stage's parties resolve or escalate it; at the last stage there is no "resolve": the decision-makers it names
record the final decision. The raiser records discussions, withdraws, and escalates where the procedure says the
raiser does (stage 1 unless the stage's `escalated_by` says otherwise). A stage's `escalated_by` names who may
escalate it, parties or not. The Business Manager sees every case but acts only where the procedure names them.
Views, the emailed-link pages, templates and the workflow all ask here; each refusal carries the sentence shown
to the person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import fn

from portal.models import (
    ActionLink,
    Agency,
    Contact,
    Escalation,
    JointRaiser,
    StageParty,
    StageRecord,
    User,
    utcnow,
)
from portal.prepared import Prepared, Slot
from portal.procedure import Procedure, Stage
from portal.workdays import format_london

ON_OPEN_CASES = ("record", "resolve", "escalate", "decide", "withdraw", "flag")
AFTER_RESOLUTION = ("agree", "contest")  # the other side's answer to a resolution, within contest_within
DEADLINE_ACTIONS = ("earlier", "extend", "pause", "restart")  # portal.deadline_changes
ACTIONS = ON_OPEN_CASES + AFTER_RESOLUTION + DEADLINE_ACTIONS


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, or a link recipient known only by address."""

    user: User | None = None
    email: str = ""
    name: str = ""
    link: ActionLink | None = None  # acting through an emailed link: used up in the same transaction

    @classmethod
    def via_link(cls, link: ActionLink) -> Actor:
        return cls(email=link.recipient_email, name=link.recipient_name, link=link)

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user=user, email=user.email, name=user.name)


@dataclass(frozen=True)
class Answer:
    allowed: bool
    reason: str = ""  # why not, in words for the person asking

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Answer(True)


def escalated_by(procedure: Procedure, stage: Stage, case: Escalation | None = None) -> tuple[str, ...]:
    """Who may escalate a stage: its `escalated_by`, else its parties (and the raiser at the first stage); with
    imminent risk, the people the procedure has told at the first stage too."""
    who = stage.escalated_by or (("raiser",) if stage.index == 0 else ()) + stage.parties
    if case is not None and case.imminent_risk and stage.index == 0:
        who += procedure.imminent_risk_notify
    return who


# What _Standing reads, on every page of a case: SQL written once (portal/prepared.py)
_JOINT_RAISER = Prepared(
    lambda: JointRaiser.select(JointRaiser.id).where(
        (JointRaiser.escalation == Slot("case_id")) & (JointRaiser.email == Slot("email"))
    )
)
_PARTIES_NAMED = Prepared(
    lambda: (
        StageParty.select(StageParty.party, StageRecord.stage_index)
        .join(StageRecord)
        .where((StageRecord.escalation == Slot("case_id")) & (fn.LOWER(StageParty.email) == Slot("email")))
        .tuples()
    )
)
_CONTACT_ROLES = Prepared(
    lambda: (
        Contact.select(Contact.role, Contact.agency, Agency.kind)
        .join(Agency)
        .where(Contact.active & Agency.active & (fn.LOWER(Contact.email) == Slot("email")))
        .tuples()
    )
)


class _Standing:
    """What one person is on one case, read once per question set (a fixed number of queries)."""

    def __init__(self, case: Escalation, actor: Actor) -> None:
        self.case, self.actor = case, actor
        self.email = (actor.email or "").strip().lower()
        self.raiser = actor.user is not None and (
            actor.user.id == case.raiser_id  # or raising it jointly, with the same rights
            or _JOINT_RAISER.first(case_id=case.id, email=actor.user.email.lower()) is not None
        )
        self.business_manager = actor.user is not None and actor.user.role == "business_manager"
        parties = _PARTIES_NAMED.run(case_id=case.id, email=self.email)
        self.named_at: dict[int, set[str]] = {}
        for party, stage_index in parties:
            self.named_at.setdefault(stage_index, set()).add(party)
        self.contact_roles = self._directory_roles()

    def _directory_roles(self) -> set[str]:
        """The parties this address holds in the directory for this case: `raiser.ROLE`, `partnership.ROLE`..."""
        if not self.email:
            return set()
        sides = {case_agency: side for side, case_agency in self._agencies().items() if case_agency}
        roles = set()
        for role, agency_id, kind in _CONTACT_ROLES.run(email=self.email):
            if agency_id in sides:
                roles.add(f"{sides[agency_id]}.{role}")
            if kind == "partnership":
                roles.update({f"partnership.{role}", role})
        return roles

    def _agencies(self) -> dict[str, int | None]:
        return {"raiser": self.case.raiser_agency_id, "counterpart": self.case.counterpart_agency_id}

    def holds(self, party: str) -> bool:
        """Whether this person is who `party` names on this case."""
        named = set().union(*self.named_at.values()) if self.named_at else set()
        if party in named or party in self.contact_roles:
            return True  # named at a stage (the raiser acting through their link too), or in the directory
        if party == "raiser":
            return self.raiser
        if party == "counterpart":
            return bool(self.email) and self.email == (self.case.counterpart_email or "").lower()
        return party in ("business_manager", "partnership.business_manager") and self.business_manager

    def sees_case(self) -> bool:
        """A signed-in person who may open the case (portal.access.visible_cases): raiser, counterpart, anyone
        named at a stage, the Business Manager."""
        return self.actor.user is not None and (
            self.raiser or self.business_manager or self.holds("counterpart") or bool(self.named_at)
        )

    def party_now(self, stage: Stage) -> bool:
        """Named at the current stage: by address, or as the Business Manager where the stage names that role."""
        if self.named_at.get(self.case.stage_index):
            return True
        return self.business_manager and bool({"business_manager", "partnership.business_manager"} & set(stage.parties))


def _link_reason(case: Escalation, procedure: Procedure, actor: Actor) -> str:
    """An emailed link acts only at its own stage, on its own case, for the action it was sent for."""
    link = actor.link
    if link.escalation_id != case.id:
        return "This link is for a different case."
    if link.stage_index != case.stage_index:
        stage = procedure.stage(link.stage_index).name if link.stage_index < len(procedure.stages) else "an earlier"
        return f"This link was for {stage}; {case.reference} has moved on to {procedure.stage(case.stage_index).name}."
    return ""


def answer(case: Escalation, procedure: Procedure, actor: Actor, action: str, now: dt.datetime | None = None) -> Answer:
    """May this person take this action on this case now (`now`: the workflow's time), and if not, why not."""
    return answers(case, procedure, actor, now)[action]


def _on_the_resolution(case: Escalation, procedure: Procedure, actor: Actor, now: dt.datetime | None) -> Answer:
    """Agree or contest a resolution: the other side's parties at that stage, through the links they were sent,
    until `contest_until`."""
    if case.status != "resolved" or case.contest_until is None:
        return Answer(False, f"{case.reference} is {case.status}: there is no resolution to answer.")
    if (now or utcnow()) > case.contest_until:
        return Answer(
            False, f"The time to say whether the resolution stands ended {format_london(case.contest_until)}."
        )
    link = actor.link
    if link is None or link.action not in AFTER_RESOLUTION or link.escalation_id != case.id:
        stage = procedure.stage(case.stage_index).name
        return Answer(False, f"The other agency's people named at {stage} are asked, by email, whether it stands.")
    return ALLOWED


def answers(case: Escalation, procedure: Procedure, actor: Actor, now: dt.datetime | None = None) -> dict[str, Answer]:
    """Every action's answer for this person on this case now."""
    if actor.user is not None and actor.user.role == "admin":
        admin = Answer(False, "Administrators manage the portal; they do not act on cases.")
        return dict.fromkeys(ACTIONS, admin)
    if actor.link is not None and (reason := _link_reason(case, procedure, actor)):
        return dict.fromkeys(ACTIONS, Answer(False, reason))
    after = dict.fromkeys(AFTER_RESOLUTION, _on_the_resolution(case, procedure, actor, now))
    if case.status != "open":
        closed = Answer(False, f"{case.reference} is {case.status}: nothing more can be done on it.")
        return dict.fromkeys(ON_OPEN_CASES + DEADLINE_ACTIONS, closed) | after
    standing = _Standing(case, actor)
    stage = procedure.stage(case.stage_index)
    result: dict[str, Answer] = dict(after)
    last = case.stage_index >= procedure.last_index
    party_now = standing.party_now(stage)
    named = f"the people named for {stage.name}"
    result |= {
        "record": ALLOWED
        if standing.raiser or party_now
        else Answer(False, f"Only the person who raised it and {named} can add a record."),
        "withdraw": ALLOWED
        if standing.raiser and actor.link is None
        else Answer(False, "Only the person who raised the escalation can withdraw it."),
    }
    result["flag"] = (
        Answer(False, f"{case.reference} already has a specific circumstance recorded.")
        if case.specific_circumstance
        else ALLOWED
        if standing.sees_case()
        else Answer(False, "Anyone who can open the case can flag a specific circumstance, from the case page.")
    )
    result |= _deadline_answers(case, procedure, actor, standing, party_now, named)
    if last:
        final = procedure.stages[-1].name
        result["resolve"] = Answer(
            False, f"At {final} the case ends with the final decision of the people named for it, not a resolution."
        )
        result["escalate"] = Answer(False, f"{case.reference} is at {final}: it cannot be escalated further.")
        result["decide"] = ALLOWED if party_now else Answer(False, f"The final decision is made by {named}.")
        return result
    result["decide"] = Answer(False, f"The final decision is made at {procedure.stages[-1].name}, not at {stage.name}.")
    result["resolve"] = ALLOWED if party_now else Answer(False, f"Only {named} can mark it as resolved.")
    who = escalated_by(procedure, stage, case)
    result["escalate"] = (
        ALLOWED
        if any(standing.holds(party) for party in who) and (actor.link is None or party_now)
        else Answer(False, f"At {stage.name} the escalation is made by {describe_parties(who)}.")
    )
    return result


def _deadline_answers(
    case: Escalation, procedure: Procedure, actor: Actor, standing: _Standing, party_now: bool, named: str
) -> dict[str, Answer]:
    """An earlier deadline: the people acting at the stage (the raiser too at the first), signed in or through
    their link. Extend, pause, restart: the Business Manager and whom the procedure's `extended_by` names, signed in."""
    earlier = (
        ALLOWED
        if party_now or (standing.raiser and case.stage_index == 0)
        else Answer(False, f"An earlier deadline is agreed by {named}.")
    )
    may_extend = actor.link is None and (standing.business_manager or any(map(standing.holds, procedure.extended_by)))
    extend = ALLOWED if may_extend else Answer(False, "Only the Business Manager can extend or pause a deadline.")
    return {"earlier": earlier, "extend": extend, "pause": extend, "restart": extend}


def allowed_actions(case: Escalation, procedure: Procedure, actor: Actor) -> set[str]:
    return {action for action, reply in answers(case, procedure, actor).items() if reply}


def describe_parties(parties: tuple[str, ...]) -> str:
    """`("raiser", "counterpart.line_manager")` as "the person who raised it or the other agency's line manager"."""
    words = []
    for party in parties:
        side, _, role = party.partition(".")
        if party == "raiser":
            words.append("the person who raised it")
        elif party == "counterpart":
            words.append("the practitioner it was raised with")
        elif not role:
            words.append(f"the partnership's {side.replace('_', ' ')}")
        else:
            owner = {"raiser": "the raising agency's", "counterpart": "the other agency's"}.get(
                side, "the partnership's"
            )
            words.append(f"{owner} {role.replace('_', ' ')}")
    unique = list(dict.fromkeys(words))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " or " + unique[-1]
