"""What makes a password acceptable: length, and not one of the 100,000 most common (NCSC guidance: a deny list,
no composition rules). The list is NCSC's PwnedPasswordsTop100k (Have I Been Pwned), kept in portal/data/."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 1000
COMMON_LIST = Path(__file__).parent / "data" / "ncsc-top-100k-passwords.txt.gz"


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_LIST, "rt", encoding="utf-8", errors="replace") as lines:
        return frozenset(line.rstrip("\n").lower() for line in lines if line.strip())


def password_problem(password: str, email: str = "") -> str | None:
    """Why this password cannot be used, in GOV.UK error wording; None when it can."""
    if len(password) < MIN_LENGTH:
        return f"Password must be {MIN_LENGTH} characters or more"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    lowered = password.lower()
    if lowered in common_passwords():
        return "This password is one of the most common passwords: choose another"
    if email and (lowered == email.lower() or lowered == email.lower().split("@")[0]):
        return "Password must not be your email address"
    return None
