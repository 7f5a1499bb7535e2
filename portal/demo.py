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


def seed_demo(partnership_name: str = PARTNERSHIP[0]) -> bool:
    """Create the demo data once; returns False when it is already there.

    The partnership is named as the procedure names it (the header shows that name), and its business manager
    contact is the demo Business Manager's own account, so the mail they are sent is theirs to read.
    """
    if User.select().where(User.email == USERS[0][0]).exists():
        return False
    users = {role: (email, name) for email, name, role, _, _ in USERS}
    with database.atomic():
        partnership = Agency.create(name=partnership_name, kind=PARTNERSHIP[1])
        agencies = {name: Agency.create(name=name, kind=kind) for name, kind in AGENCIES}
        agencies[partnership.name] = partnership
        count = 0
        for agency, roles in [(a, AGENCY_ROLES) for a in agencies.values() if a.kind != "partnership"] + [
            (partnership, PARTNERSHIP_ROLES)
        ]:
            for role, title in roles:
                first = FIRST_NAMES[count % len(FIRST_NAMES)]
                count += 1
                email, name = (
                    f"{role.replace('_', '.')}@{_slug(agency.name)}.demo.example",
                    f"{first} {title.split()[-1]}",
                )
                if agency is partnership and role == "business_manager":
                    email, name = users["business_manager"]
                Contact.create(
                    agency=agency,
                    role=role,
                    name=name,
                    job_title=f"{title}, {agency.name}",
                    email=email,
                    secure=agency.kind in {"social care", "partnership"},
                )
        for email, name, role, agency, title in USERS:
            User.create(
                email=email,
                name=name,
                role=role,
                agency=agencies.get(agency, partnership),
                job_title=title,
                password_hash=hash_password(DEMO_PASSWORD),
            )
    return True
