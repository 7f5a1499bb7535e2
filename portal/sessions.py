"""Server-side sign-in sessions: a random id in the (signed) cookie, its hash in the database.

A copied cookie dies with the row (sign-out, account disabled); idle and absolute
timeouts are enforced from the row, not the cookie (docs/security.md, 'Sessions').
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from portal.models import User, UserSession, utcnow
from portal.prepared import Prepared, Slot

TOUCH_EVERY = dt.timedelta(seconds=60)
# Every signed-in request: the session and its user in one query, its SQL written once (portal/prepared.py).
_SESSION_WITH_USER = Prepared(
    lambda: UserSession.select(UserSession, User).join(User).where(UserSession.token_hash == Slot("token_hash"))
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, now: dt.datetime | None = None) -> str:
    """A new session id for the cookie (a fresh one at every sign-in: no fixation)."""
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    UserSession.create(token_hash=_hash(token), user=user, created_at=now, last_seen_at=now)
    return token


def end_session(token: str | None) -> None:
    if token:
        UserSession.delete().where(UserSession.token_hash == _hash(token)).execute()


def end_all_sessions(user: User) -> None:
    UserSession.delete().where(UserSession.user == user).execute()


def end_other_sessions(user: User, keep: str | None) -> None:
    """Every session of the user's but this one (after they change their password)."""
    others = UserSession.delete().where(UserSession.user == user)
    (others.where(UserSession.token_hash != _hash(keep)) if keep else others).execute()


def session_user(
    token: str | None, idle: dt.timedelta, absolute: dt.timedelta, now: dt.datetime | None = None
) -> User | None:
    """The active user a session id belongs to, or None when it has ended, idled out or grown too old."""
    if not token:
        return None
    now = now or utcnow()
    row = _SESSION_WITH_USER.first(token_hash=_hash(token))
    if row is None:
        return None
    if now - row.last_seen_at > idle or now - row.created_at > absolute or not row.user.active:
        row.delete_instance()
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        UserSession.update(last_seen_at=now).where(UserSession.id == row.id).execute()
    return row.user
