"""The directory of named contacts: CSV import, all rows checked before any is written."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from portal.addresses import InvalidAddress, normalise_address
from portal.db import database
from portal.models import Agency, Contact
from portal.procedure import ROLES, Procedure, canonical_role

COLUMNS = ("agency", "role", "name", "job_title", "email", "secure")
OPTIONAL = {"job_title", "secure"}
AGENCY_KINDS = ("social care", "police", "health", "education", "partnership", "voluntary", "other")
_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0", ""}


@dataclass(frozen=True)
class ContactRow:
    line: int
    agency: str
    role: str
    name: str
    job_title: str
    email: str
    secure: bool


def agency_key(name: str) -> str:
    """How an agency's name is matched: "metropolitan  police" is the existing "Metropolitan Police"."""
    return " ".join(name.casefold().split())


def parse_csv(text: str) -> tuple[list[ContactRow], list[str]]:
    """Every row checked; errors name the line number and what is wrong."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header and c not in OPTIONAL]
    if missing:
        return [], [f"line 1: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"]
    reader.fieldnames = header
    rows, errors, seen = [], [], set()
    for line, raw in enumerate(reader, start=2):
        values = {k: (v or "").strip() for k, v in raw.items() if k}
        problems = []
        for column in ("agency", "role", "name", "email"):
            if not values.get(column):
                problems.append(f"{column} is empty")
        role = canonical_role(values.get("role", "")) or values.get("role", "")
        if role and role not in ROLES:
            problems.append(f"role {role!r} is not one of {', '.join(ROLES)} (or a name procedure files use for one)")
        email = values.get("email", "").lower()
        if email:
            try:
                email = normalise_address(email)
            except InvalidAddress as error:
                problems.append(f"email {email!r} is not an email address ({error})")
        secure = values.get("secure", "").lower()
        if secure not in _TRUE | _FALSE:
            problems.append(f"secure {values.get('secure')!r} must be yes or no")
        for column, limit in (("agency", 200), ("name", 200), ("job_title", 200), ("email", 254)):
            if len(values.get(column, "")) > limit:
                problems.append(f"{column} is longer than {limit} characters")
        key = (agency_key(values.get("agency", "")), role, email)
        if key in seen:
            problems.append("repeats an earlier row (same agency, role and email)")
        seen.add(key)
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
            continue
        rows.append(
            ContactRow(
                line, values["agency"], role, values["name"], values.get("job_title", ""), email, secure in _TRUE
            )
        )
    if not rows and not errors:
        errors.append("line 2: the file has no contacts")
    return rows, errors


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    new_agencies: tuple[str, ...]

    @property
    def agencies_note(self) -> str:
        """Names the agencies the file created, so a misspelt name is seen, not silently added."""
        count = len(self.new_agencies)
        if not count:
            return ""
        return f"Created {count} new {'agency' if count == 1 else 'agencies'}: {', '.join(self.new_agencies)}"


def import_rows(rows: list[ContactRow]) -> ImportResult:
    """Create or update each contact (keyed by agency, role and email); an agency not yet known is created."""
    created = updated = 0
    new_agencies: list[str] = []
    with database.atomic():
        known = list(Agency.select().order_by(Agency.id))
        exact = {agency.name: agency for agency in known}  # wins when two names differ only in case
        agencies: dict[str, Agency] = {}
        for agency in known:
            agencies.setdefault(agency_key(agency.name), agency)
        for row in rows:
            agency = exact.get(row.agency) or agencies.get(agency_key(row.agency))
            if agency is None:
                name = " ".join(row.agency.split())
                agency = agencies[agency_key(name)] = Agency.create(name=name, kind="other")
                new_agencies.append(name)
            contact = Contact.get_or_none(
                Contact.agency == agency, Contact.role == row.role, Contact.email == row.email
            )
            if contact is None:
                Contact.create(
                    agency=agency,
                    role=row.role,
                    name=row.name,
                    job_title=row.job_title,
                    email=row.email,
                    secure=row.secure,
                )
                created += 1
            else:
                Contact.update(name=row.name, job_title=row.job_title, secure=row.secure, active=True).where(
                    Contact.id == contact.id
                ).execute()
                updated += 1
    return ImportResult(created, updated, tuple(new_agencies))


def directory_gaps(procedure: Procedure) -> list[str]:
    """Roles the procedure names that the directory cannot supply: nobody would be emailed for them."""
    agencies = list(Agency.select().where(Agency.active))
    held: dict[int, set[str]] = {agency.id: set() for agency in agencies}
    for agency_id, role in Contact.select(Contact.agency, Contact.role).where(Contact.active).tuples():
        held.setdefault(agency_id, set()).add(role)
    partnership = [a for a in agencies if a.kind == "partnership"]
    others = [a for a in agencies if a.kind != "partnership"]
    gaps = []
    for where, party in _named_parties(procedure):
        side, dot, role = party.partition(".")
        if party in ("raiser", "counterpart") or role not in ROLES and side not in ROLES:
            continue
        if (role or side) == "cp_chair_or_iro":  # the child's own, named by the raiser for each case
            continue
        if side in ("raiser", "counterpart"):
            lacking = [a.name for a in others if role not in held[a.id]]
            if lacking:
                gaps.append(f"{where}: {party}: no {role} in the directory for {', '.join(lacking)}")
        elif not any((role or side) in held[a.id] for a in partnership):
            gaps.append(f"{where}: {party}: the partnership has no {role or side} in the directory: nobody is told")
    return gaps


def _named_parties(procedure: Procedure):
    for stage in procedure.stages:
        where = f"stage {stage.index + 1} ({stage.key})"
        for party in dict.fromkeys(
            stage.parties + tuple(n.role for n in stage.notify) + tuple(c.role for c in stage.copies)
        ):
            yield where, party
    for key, parties in (
        ("imminent_risk_notify", procedure.imminent_risk_notify),
        ("specific_circumstances notify", procedure.specific_circumstances_notify),
        ("learning notify", procedure.learning_notify),
        ("learning policy_gaps_notify", procedure.policy_gaps_notify),
    ):
        for party in parties:
            yield key, party
