"""Accounts: creation and password hashing (argon2id, above ASVS 5.0's minimum)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal.addresses import InvalidAddress, normalise_address
from portal.db import database
from portal.models import Agency, User
from portal.passwords import password_problem

ROLES = User.ROLES
_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4


class UserError(ValueError):
    """Why an account cannot be created as asked."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    email: str, password: str | None, role: str = "practitioner", name: str = "", agency_name: str = ""
) -> User:
    """An account; with no password, it cannot sign in until its owner sets one (portal/accounts.py)."""
    try:
        email = normalise_address(email)
    except InvalidAddress as error:
        raise UserError(f"{email.strip()!r} is not an email address ({error})") from None
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if password is not None and (problem := password_problem(password, email)):
        raise UserError(problem)
    if User.select().where(User.email == email).exists():
        raise UserError(f"{email} already has an account")
    with database.atomic():
        agency = Agency.get_or_create(name=agency_name.strip())[0] if agency_name.strip() else None
        return User.create(
            email=email,
            name=name.strip() or email.split("@")[0],
            role=role,
            password_hash=hash_password(password) if password is not None else "",
            agency=agency,
        )
