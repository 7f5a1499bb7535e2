"""Managing accounts: create with an emailed set-password link, change role and agency, disable, re-enable,
reset. Used by the administration pages and by `flask users`, so both do exactly the same.

A set-password link's token is HMAC(secret, salt), as emailed action links are (portal/links.py): the database
keeps the salt and the token's SHA-256, so the sender can rebuild the URL on a retry and a copy of the database
cannot set anyone's password. A link works once, for LINK_LIFETIME, and a newer one retires it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

from flask import current_app

from portal import mail
from portal.db import database
from portal.models import AccountLink, Agency, User, utcnow
from portal.routing import Recipient
from portal.sessions import end_all_sessions, end_other_sessions
from portal.users import ROLES, UserError, create_user, hash_password

LINK_LIFETIME = dt.timedelta(hours=24)
LINK_PATH = "/account/password/"


def _token(salt: str) -> str:
    key = hashlib.sha256(b"account-links:" + current_app.secret_key.encode()).digest()
    return base64.urlsafe_b64encode(hmac.digest(key, salt.encode(), "sha256")).decode().rstrip("=")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(link_id: int) -> str:
    link = AccountLink.get_by_id(link_id)
    return current_app.config["BASE_URL"].rstrip("/") + LINK_PATH + _token(link.salt)


def send_password_link(user: User, kind: str) -> None:
    """Email `user` a link to set their password ("new" account or "reset"); earlier unused links stop working."""
    now = utcnow()
    with database.atomic():
        AccountLink.update(used_at=now).where((AccountLink.user == user) & AccountLink.used_at.is_null()).execute()
        salt = secrets.token_urlsafe(32)
        link = AccountLink.create(
            user=user, salt=salt, token_hash=_hash(_token(salt)), created_at=now, expires_at=now + LINK_LIFETIME
        )
        outbox_id = mail.queue_email(
            None,
            "account_link",
            Recipient(party="account", name=user.name, email=user.email),
            f"account-link:{link.id}",
            {"account_link_id": link.id, "kind": kind},
        )
    mail.wake_sender([outbox_id])


def find_link(token: str) -> AccountLink | None:
    """The link this token names, if it can still set a password."""
    link = AccountLink.get_or_none(AccountLink.token_hash == _hash(token))
    if link is None or link.used_at is not None or link.expires_at <= utcnow() or not link.user.active:
        return None
    return link


def set_password_by_link(link: AccountLink, password: str) -> User:
    """Uses the link (once: a conditional update) and ends every session the account had."""
    with database.atomic():
        claimed = (
            AccountLink.update(used_at=utcnow())
            .where((AccountLink.id == link.id) & AccountLink.used_at.is_null())
            .execute()
        )
        if not claimed:
            raise UserError("This link has already been used")
        User.update(password_hash=hash_password(password)).where(User.id == link.user_id).execute()
        end_all_sessions(link.user)
    return User.get_by_id(link.user_id)


def change_password(user: User, password: str, keep_session: str | None = None) -> None:
    """The user's own change: their other sessions end (a session someone else holds dies with the old password)."""
    with database.atomic():
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
        end_other_sessions(user, keep_session)


def create_account(email: str, name: str, role: str, agency_name: str = "") -> User:
    """A new account with no password, and the email that lets its owner set one."""
    user = create_user(email, password=None, role=role, name=name, agency_name=agency_name)
    send_password_link(user, "new")
    return user


def change_account(user: User, role: str, agency_name: str) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    with database.atomic():
        agency = Agency.get_or_create(name=agency_name.strip())[0] if agency_name.strip() else None
        User.update(role=role, agency=agency).where(User.id == user.id).execute()


def set_active(user: User, active: bool) -> None:
    """Disabling ends the account's sessions at once (not at their next request) and retires its links."""
    with database.atomic():
        User.update(active=active).where(User.id == user.id).execute()
        if not active:
            end_all_sessions(user)
            AccountLink.update(used_at=utcnow()).where(
                (AccountLink.user == user) & AccountLink.used_at.is_null()
            ).execute()


def find_user(email: str) -> User:
    user = User.get_or_none(User.email == email.strip().lower())
    if user is None:
        raise UserError(f"no account for {email.strip()!r}")
    return user
