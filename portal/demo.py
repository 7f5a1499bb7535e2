"""The demo partnership: agencies, a directory covering every role the presets name, one user per role."""

from __future__ import annotations

from portal.db import database
from portal.models import Agency, Contact, User
from portal.users import hash_password

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (the demo's published sign-in, README.md)

PARTNERSHIP = ("Demo Safeguarding Children Partnership", "partnership")
AGENCIES = [
    ("Children's Social Care", "social care"),
    ("Metropolitan Police", "police"),
    ("NHS Community Health", "health"),
    ("Hollyfield Primary School", "education"),
]
# (role, job title) present in every agency; the partnership has its own roles.
AGENCY_ROLES = [
    ("line_manager", "Team Manager"),
    ("team_manager", "Practice Manager"),
    ("safeguarding_lead", "Designated Safeguarding Lead"),
    ("service_manager", "Service Manager"),
    ("head_of_service", "Head of Service"),
    ("director", "Assistant Director"),
    ("board_member", "Partnership Board Member"),
]
PARTNERSHIP_ROLES = [
    ("business_manager", "Partnership Business Manager"),
    ("independent_chair", "Independent Chair"),
    ("dcs", "Director of Children's Services"),
    ("cp_chair_or_iro", "Child Protection Chair / IRO"),
    ("lado", "Local Authority Designated Officer"),
    ("board_member", "Partnership Board Member"),
]
USERS = [
    ("practitioner@demo.example", "Sam Patel", "practitioner", "Children's Social Care", "Social Worker"),
    ("officer@demo.example", "Jo Williams", "practitioner", "Metropolitan Police", "Detective Constable"),
    ("business.manager@demo.example", "Alex Morgan", "business_manager", PARTNERSHIP[0], "Business Manager"),
    ("admin@demo.example", "Chris Taylor", "admin", PARTNERSHIP[0], "Portal Administrator"),
]
FIRST_NAMES = ["Priya", "Tom", "Aisha", "Gareth", "Helen", "Omar", "Ruth", "Dev", "Maria", "Neil", "Fiona"]


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "." for ch in text.lower()).strip(".").replace("..", ".")


def seed_demo() -> bool:
    """Create the demo data once; returns False when it is already there."""
    if User.select().where(User.email == USERS[0][0]).exists():
        return False
    with database.atomic():
        partnership = Agency.create(name=PARTNERSHIP[0], kind=PARTNERSHIP[1])
        agencies = {name: Agency.create(name=name, kind=kind) for name, kind in AGENCIES}
        agencies[partnership.name] = partnership
        count = 0
        for agency, roles in [(a, AGENCY_ROLES) for a in agencies.values() if a.kind != "partnership"] + [
            (partnership, PARTNERSHIP_ROLES)
        ]:
            for role, title in roles:
                first = FIRST_NAMES[count % len(FIRST_NAMES)]
                count += 1
                Contact.create(
                    agency=agency,
                    role=role,
                    name=f"{first} {title.split()[-1]}",
                    job_title=f"{title}, {agency.name}",
                    email=f"{role.replace('_', '.')}@{_slug(agency.name)}.demo.example",
                    secure=agency.kind in {"social care", "partnership"},
                )
        for email, name, role, agency, title in USERS:
            User.create(
                email=email,
                name=name,
                role=role,
                agency=agencies[agency],
                job_title=title,
                password_hash=hash_password(DEMO_PASSWORD),
            )
    return True
