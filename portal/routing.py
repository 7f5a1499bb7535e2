"""Who a procedure's party names for a case: the raiser, the counterpart or a directory role."""

from __future__ import annotations

from dataclasses import dataclass

from portal.models import Agency, Contact, Escalation, JointRaiser
from portal.procedure import Procedure


@dataclass(frozen=True)
class Recipient:
    party: str
    name: str
    email: str
    secure: bool = False
    contact_id: int | None = None
    verified: bool = True  # False: typed in by the person escalating, not from the directory


def _is_secure(procedure: Procedure, email: str, flagged: bool) -> bool:
    domain = email.rpartition("@")[2].lower()
    return flagged or any(domain == d or domain.endswith("." + d) for d in procedure.secure_domains)


def _contacts(party: str, escalation: Escalation) -> list[Contact]:
    side, _, role = party.partition(".")
    query = Contact.select().join(Agency).where(Contact.active & Agency.active)
    if side == "raiser":
        return list(query.where((Contact.agency == escalation.raiser_agency_id) & (Contact.role == role)))
    if side == "counterpart":
        return list(query.where((Contact.agency == escalation.counterpart_agency_id) & (Contact.role == role)))
    # `partnership.ROLE`, or a bare ROLE: the partnership's own contact, never every agency's.
    return list(query.where((Agency.kind == "partnership") & (Contact.role == (role or side))).order_by(Contact.id))


def resolve_party(procedure: Procedure, party: str, escalation: Escalation) -> list[Recipient]:
    """The people a party names for this case (may be none: the escalating person then names them)."""
    if party.rpartition(".")[2] == "cp_chair_or_iro":  # the child's own, named by the raiser; never every one
        return _child_chair(procedure, party, escalation)
    if party == "raiser":  # with anyone from another agency raising it jointly
        user = escalation.raiser
        return [Recipient(party, user.name, user.email, _is_secure(procedure, user.email, False))] + [
            Recipient(party, joint.name, joint.email, _is_secure(procedure, joint.email, False))
            for joint in JointRaiser.select().where(JointRaiser.escalation == escalation.id).order_by(JointRaiser.id)
        ]
    if party == "counterpart":
        if not escalation.counterpart_email:
            return []
        email = escalation.counterpart_email
        return [Recipient(party, escalation.counterpart_name, email, _is_secure(procedure, email, False))]
    return [
        Recipient(party, c.name, c.email, _is_secure(procedure, c.email, c.secure), c.id)
        for c in _contacts(party, escalation)
    ]


def _child_chair(procedure: Procedure, party: str, escalation: Escalation) -> list[Recipient]:
    email = escalation.child_chair_email
    if not email:
        return []
    contact = Contact.get_or_none(Contact.email == email)
    secure = _is_secure(procedure, email, bool(contact and contact.secure))
    return [Recipient(party, escalation.child_chair_name, email, secure, contact.id if contact else None)]


def resolve_parties(procedure: Procedure, parties: tuple[str, ...], escalation: Escalation) -> list[Recipient]:
    """Every person the parties name, each address once."""
    seen: dict[str, Recipient] = {}
    for party in parties:
        for recipient in resolve_party(procedure, party, escalation):
            seen.setdefault(recipient.email.lower(), recipient)
    return list(seen.values())


def business_managers(procedure: Procedure, escalation: Escalation) -> list[Recipient]:
    """The partnership's Business Manager(s): told of every case, and sent its records."""
    return resolve_parties(procedure, ("partnership.business_manager",), escalation)


def named_recipient(procedure: Procedure, party: str, name: str, email: str, verified: bool = True) -> Recipient:
    """Someone the person escalating chose (from the directory) or typed (unverified, for a party the directory
    cannot supply); secure only as the directory or the procedure's secure domains say."""
    contact = Contact.get_or_none(Contact.email == email)
    flagged = bool(contact and contact.secure)
    secure = _is_secure(procedure, email, flagged)
    return Recipient(party, name, email, secure, contact.id if contact else None, verified)


def is_partnership_party(party: str) -> bool:
    side, dot, _ = party.partition(".")
    return side == "partnership" or (not dot and side not in ("raiser", "counterpart"))


def next_stage_people(procedure: Procedure, escalation: Escalation) -> tuple[list[Recipient], tuple[str, ...]]:
    """The directory's people for the next stage, and the parties it cannot supply there, which the person
    escalating may name by hand (never the partnership's: those come only from its directory entries)."""
    nxt = procedure.stage(escalation.stage_index + 1)
    missing = tuple(
        party
        for party in nxt.parties
        if not is_partnership_party(party) and not resolve_party(procedure, party, escalation)
    )
    return resolve_parties(procedure, nxt.parties, escalation), missing
