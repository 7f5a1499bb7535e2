"""Test data: agencies with a full directory, users per role, and escalations."""

from __future__ import annotations

import datetime as dt
import itertools

from argon2 import PasswordHasher

from portal import links
from portal.case_actions import Actor, answer
from portal.models import Agency, Contact, Escalation, StageParty, StageRecord, User
from portal.procedure import load_procedure
from portal.registry import registry
from portal.workflow import EscalationDetails, raise_escalation
from tests.conftest import TEST_PROCEDURE

PASSWORD = "correct horse battery staple"
# argon2id at its lowest cost: every sign-in verifies this hash, with the cost written in it, and the web tests sign in
# hundreds of times. Passwords the portal sets itself (flask users create, the demo) keep portal/users.py's cost.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
_serial = itertools.count(1)


def procedure():
    return load_procedure(TEST_PROCEDURE)


def agency(name: str | None = None, kind: str = "social care", roles=("line_manager", "safeguarding_lead")) -> Agency:
    agency = Agency.create(name=name or f"Agency {next(_serial)}", kind=kind)
    for role in roles:
        Contact.create(
            agency=agency, role=role, name=f"{role} of {agency.name}", email=f"{role}.{agency.id}@agency.example"
        )
    return agency


def partnership() -> Agency:
    return agency("The Partnership", "partnership", roles=("business_manager", "dcs", "cp_chair_or_iro"))


def user(role: str = "practitioner", agency_: Agency | None = None, email: str | None = None) -> User:
    n = next(_serial)
    return User.create(
        email=email or f"user{n}@agency.example",
        name=f"User {n}",
        role=role,
        agency=agency_,
        password_hash=PASSWORD_HASH,
    )


def details(**overrides) -> EscalationDetails:
    values = dict(
        child_name="Zzyzx Canaryson",
        child_dob=dt.date(2019, 3, 1),
        summary="The referral was closed without an assessment.",
        outcome_sought="A strategy discussion this week.",
        action_taken="Phoned the duty manager twice.",
        counterpart_name="Pat Counter",
        counterpart_email="pat.counter@police.example",
        categories=["thresholds"],
    )
    values.update(overrides)
    return EscalationDetails(**values)


def world():
    """A raiser's agency, a counterpart agency, the partnership and a raiser: enough for every stage."""
    links.init_secret("test-secret")
    ours, theirs = agency("Children's Social Care"), agency("Police", "police")
    partnership()
    raiser = user(agency_=ours)
    return raiser, ours, theirs


def acting(case: Escalation, action: str = "record") -> Actor:
    """The first person named at the case's current stage whom the procedure lets take `action`."""
    parties = (
        StageParty.select()
        .join(StageRecord)
        .where((StageRecord.escalation == case.id) & (StageRecord.stage_index == case.stage_index))
        .order_by(StageParty.id)
    )
    procedure = registry.of_case(case)
    actors = [Actor(email=party.email, name=party.name) for party in parties]
    return next(actor for actor in actors if answer(case, procedure, actor, action))


def escalation(raiser: User, theirs: Agency, now: dt.datetime, proc=None, **overrides):
    return raise_escalation(proc or procedure(), raiser, details(counterpart_agency_id=theirs.id, **overrides), now=now)
