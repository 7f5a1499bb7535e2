"""Who may do what, for every preset x stage x kind of person, against the table the seeds give.

The table below says who escalates each stage (a stage's `escalated_by`, or its parties and, at the first stage,
the raiser); the rules it is read with are the procedures' own: a stage's parties record, resolve and escalate it,
the last stage ends by its parties' final decision (no resolution there), the raiser records and withdraws, and
nobody else acts: not the Business Manager unless named, not an administrator, not a colleague, not a link sent
for an earlier stage.
"""

from __future__ import annotations

import datetime as dt

import pytest

from portal import links
from portal.case_actions import ACTIONS, Actor, answers
from portal.demo import seed_demo
from portal.models import ActionLink, Agency, Contact, Escalation, StageParty, StageRecord, User
from portal.procedure import resolve_procedure
from portal.registry import version_for
from portal.workflow import escalate, raise_escalation
from tests import factories

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
R, C = "raiser", "counterpart"

# Who escalates each stage but the last, in order, with the seed's words where the seed says it.
ESCALATED_BY = {
    "hounslow": [
        ((R, C), "If the professionals are unable to resolve the matter ... escalated to their line manager"),
        ((f"{R}.line_manager", f"{C}.line_manager"), "If agreement cannot be reached ... between the line managers"),
        ((f"{R}.safeguarding_lead", f"{C}.safeguarding_lead"), "the safeguarding leads will escalate the matter"),
        (
            (f"{R}.head_of_service", f"{C}.head_of_service", f"{R}.safeguarding_lead", f"{C}.safeguarding_lead"),
            "the Head of Service or Designated Safeguarding Lead will refer the matter to the HSCP",
        ),
    ],
    "salford": [
        ((R, C), "2.1 resolve difficulties at practitioner/case worker level"),
        ((f"{R}.line_manager", f"{R}.safeguarding_lead", f"{C}.line_manager", f"{C}.safeguarding_lead"), "2.4"),
    ],
    "birmingham": [
        ((R, f"{R}.line_manager"), "consult your line manager on the same working day"),
        ((R, C), "The professionals who disagree should discuss the issues"),
        ((f"{R}.line_manager", f"{C}.line_manager"), "the two professionals should each notify their manager"),
        (
            (f"{R}.safeguarding_lead", f"{R}.service_manager", f"{C}.safeguarding_lead", f"{C}.service_manager"),
            "the case should be referred to the Business Coordinator",
        ),
    ],
    "wirral": [
        ((R, C), "It is the responsibility of professionals to inform their managers"),
        ((f"{R}.line_manager", f"{R}.safeguarding_lead", f"{C}.line_manager", f"{C}.safeguarding_lead"), ""),
        ((f"{R}.board_member", f"{C}.board_member"), "the relevant WSCB Board members will escalate the case"),
    ],
    "bury": [
        ((R, C), "Level 1: Practitioner to Practitioner"),
        ((f"{R}.line_manager", f"{R}.safeguarding_lead", f"{C}.line_manager"), "referred to equivalent heads"),
        (
            (
                f"{R}.head_of_service",
                f"{C}.head_of_service",
                f"{R}.director",
                f"{C}.director",
                f"{R}.safeguarding_lead",
            ),
            "If the manager / named safeguarding lead are unable to achieve a resolution, they should refer it",
        ),
    ],
}


def expected(
    holds: set[str], raiser: bool, acts_now: bool, last: bool, escalators: tuple[str, ...], sees: bool
) -> set[str]:
    allowed = {"flag"} if sees else set()  # anyone signed in who can open the case: "whoever first comes to know"
    if raiser or acts_now:
        allowed.add("record")
    if raiser:
        allowed.add("withdraw")
    if acts_now:
        allowed.add("decide" if last else "resolve")
    if not last and holds & set(escalators):
        allowed.add("escalate")
    return allowed


def people(raiser: User, officer: User) -> list[tuple[str, Actor, set[str], bool]]:
    """(label, actor, the parties they hold on the case, whether they raised it) for everyone in the world."""
    sides = {raiser.agency_id: R, officer.agency_id: C}
    found = [
        ("raiser", Actor.of(raiser), {R}, True),
        ("counterpart", Actor.of(officer), {C}, False),
        ("business manager", Actor.of(User.get(User.role == "business_manager")), set(), False),
        ("administrator", Actor.of(User.get(User.role == "admin")), set(), False),
        ("colleague", Actor.of(factories.user(agency_=raiser.agency)), set(), False),
    ]
    for contact in Contact.select().join(Agency):
        side = sides.get(contact.agency_id, "partnership" if contact.agency.kind == "partnership" else "")
        holds = {f"{side}.{contact.role}"} if side else set()
        found.append((f"{contact.role} of {contact.agency.name}", Actor(email=contact.email), holds, False))
    return found


@pytest.mark.parametrize("preset", sorted(ESCALATED_BY))
def test_every_stage_answers_every_kind_of_person_as_the_procedure_says(db, preset):
    procedure = resolve_procedure(preset)
    links.init_secret("test-secret")
    assert len(ESCALATED_BY[preset]) == len(procedure.stages) - 1, "one row per stage that can be escalated"
    seed_demo(procedure.partnership)
    raiser = User.get(User.email == "practitioner@demo.example")
    officer = User.get(User.email == "officer@demo.example")
    details = factories.details(
        counterpart_name=officer.name, counterpart_email=officer.email, counterpart_agency_id=officer.agency_id
    )
    version_for(procedure)
    case = raise_escalation(procedure, raiser, details, now=START)
    everyone = people(raiser, officer)
    earlier_link = None
    for stage in procedure.stages:
        case = Escalation.get_by_id(case.id)
        last = stage.index == procedure.last_index
        escalators = () if last else ESCALATED_BY[preset][stage.index][0]
        named_now = {
            party.email.lower()
            for party in StageParty.select()
            .join(StageRecord)
            .where((StageRecord.escalation == case) & (StageRecord.stage_index == stage.index))
        }
        assert named_now, f"{preset} {stage.name}: nobody named"
        for label, actor, holds, raised in everyone:
            if actor.user is not None and actor.user.role == "admin":
                want: set[str] = set()
            else:
                acts_now = actor.email.lower() in named_now
                named_before = {
                    party.party
                    for party in StageParty.select()
                    .join(StageRecord)
                    .where((StageRecord.escalation == case) & (StageParty.email == actor.email))
                }
                sees = actor.user is not None and (
                    raised or label in ("counterpart", "business manager") or named_before
                )
                want = expected(holds | named_before, raised, acts_now, last, escalators, bool(sees))
                if acts_now or (raised and stage.index == 0):  # the people acting at a stage agree a sooner date
                    want.add("earlier")
                if label == "business manager":  # the seeds name nobody else in `extended_by`
                    want |= {"extend", "pause", "restart"}
            got = {action for action, reply in answers(case, procedure, actor).items() if reply}
            assert got == want, f"{preset} {stage.name}: {label}"
            for action in set(ACTIONS) - got:
                assert answers(case, procedure, actor)[action].reason, f"{preset} {stage.name}: {label} {action}"
        if earlier_link is not None:
            refused = answers(case, procedure, Actor.via_link(earlier_link))
            assert not any(refused.values())
            assert "This link was for" in refused["resolve"].reason
        if not last:
            earlier_link = ActionLink.get((ActionLink.escalation == case) & (ActionLink.stage_index == stage.index))
            escalator = next(actor for _, actor, _, _ in everyone if answers(case, procedure, actor)["escalate"])
            escalate(procedure, case, escalator, f"{stage.name} did not resolve it.", now=START)


def test_nothing_is_allowed_on_a_closed_case_and_each_refusal_says_so(db):
    raiser, _, theirs = factories.world()
    procedure = factories.procedure()
    case = factories.escalation(raiser, theirs, START)
    Escalation.update(status="withdrawn").where(Escalation.id == case.id).execute()
    replies = answers(Escalation.get_by_id(case.id), procedure, Actor.of(raiser))
    assert {reply.allowed for reply in replies.values()} == {False}
    assert {reply.reason for reply in replies.values()} == {
        f"{case.reference} is withdrawn: nothing more can be done on it.",
        f"{case.reference} is withdrawn: there is no resolution to answer.",  # agree, contest
    }
