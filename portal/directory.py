"""The directory of named contacts: CSV import, all rows checked before any is written."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from portal.db import database
from portal.models import Agency, Contact
from portal.procedure import ROLES

COLUMNS = ("agency", "role", "name", "job_title", "email", "secure")
OPTIONAL = {"job_title", "secure"}
AGENCY_KINDS = ("social care", "police", "health", "education", "partnership", "voluntary", "other")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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
        role = values.get("role", "")
        if role and role not in ROLES:
            problems.append(f"role {role!r} is not one of {', '.join(ROLES)}")
        email = values.get("email", "").lower()
        if email and not _EMAIL.match(email):
            problems.append(f"email {email!r} is not an email address")
        secure = values.get("secure", "").lower()
        if secure not in _TRUE | _FALSE:
            problems.append(f"secure {values.get('secure')!r} must be yes or no")
        for column, limit in (("agency", 200), ("name", 200), ("job_title", 200), ("email", 254)):
            if len(values.get(column, "")) > limit:
                problems.append(f"{column} is longer than {limit} characters")
        key = (values.get("agency", "").lower(), role, email)
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


def import_rows(rows: list[ContactRow]) -> tuple[int, int]:
    """Create or update each contact (keyed by agency, role and email); returns (created, updated)."""
    created = updated = 0
    with database.atomic():
        for row in rows:
            agency = Agency.get_or_none(Agency.name == row.agency) or Agency.create(name=row.agency, kind="other")
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
    return created, updated
