"""Signing in and out: argon2id passwords, lockout after repeated failures, server-side sessions,
and answers kept when a session expired mid-form."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from functools import wraps

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from werkzeug.datastructures import MultiDict

from portal.db import database
from portal.models import FormStash, User, utcnow
from portal.sessions import end_session, session_user, start_session
from portal.users import hash_password, verify_password

log = logging.getLogger("portal.auth")
login_manager = LoginManager()
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
STASH_LIFETIME = dt.timedelta(hours=24)
# The most a form stash may hold: the largest form's own limits (three answers of 5,000 characters) with room for
# its short fields. Anything bigger was not typed into a portal form, and is not kept.
STASH_MAX_CHARS = 20_000
STASH_MAX_FIELDS = 30
_DUMMY_HASH = hash_password(secrets.token_hex(16))  # unknown users cost the same hash check


def _timeouts() -> tuple[dt.timedelta, dt.timedelta]:
    config = current_app.config
    return dt.timedelta(minutes=config["SESSION_IDLE_MINUTES"]), dt.timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = session_user(session.get("sid"), *_timeouts())
    return user if user is not None and str(user.id) == user_id else None


@login_manager.unauthorized_handler
def _unauthorized():
    """Send the user to sign in; a form they were submitting is kept and given back afterwards, by any page that
    shows its form again (`keeps_answers`): the sign-in page promises only that."""
    view = current_app.view_functions.get(request.endpoint or "")
    keeps = getattr(view, "keeps_answers", False)
    if request.method == "POST" and request.form and session.get("sid") and keeps and _stash(request.form):
        flash("Your session timed out. Sign in again and your answers will be restored.")
    elif session.get("sid"):
        flash("You were signed out because you were inactive. Sign in again to continue.")
    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _stash(form: MultiDict) -> bool:
    """Keep a signed-out form's answers, if they fit a portal form; True when kept.

    Only a session that was signed in has a `sid` (the cookie is signed, so nobody makes one up), and its stash
    is named by it: a session keeps at most one, however often the same cookie is sent. Stashes older than
    STASH_LIFETIME go whenever one is made."""
    answers = {k: form.getlist(k) for k in form if k != "csrf_token"}
    size = sum(len(k) + sum(len(v) for v in values) for k, values in answers.items())
    fits = 0 < len(answers) <= STASH_MAX_FIELDS and size <= STASH_MAX_CHARS and len(request.path) <= 500
    if not fits or any("\x00" in v for values in answers.values() for v in values):  # jsonb refuses NUL
        return False
    token = hmac.new(current_app.secret_key.encode(), b"stash:" + session["sid"].encode(), "sha256").hexdigest()
    with database.atomic():
        FormStash.delete().where(
            (FormStash.token_hash == _hash(token)) | (FormStash.created_at < utcnow() - STASH_LIFETIME)
        ).execute()
        FormStash.create(token_hash=_hash(token), path=request.path, answers=answers)
    session["stash"] = token
    return True


def restored_answers() -> MultiDict | None:
    """Answers stashed for this page before sign-in, once per request (every form the page builds gets them);
    None when there are none."""
    if "restored_answers" not in g:
        g.restored_answers = _take_stash()
    return g.restored_answers


def _take_stash() -> MultiDict | None:
    token = session.get("stash")
    if not token:
        return None
    row = FormStash.get_or_none(FormStash.token_hash == _hash(token))
    if row is None or row.path != request.path:
        return None
    session.pop("stash")
    with database.atomic():
        FormStash.delete().where(FormStash.id == row.id).execute()
    if utcnow() - row.created_at > STASH_LIFETIME:
        return None
    flash("What you typed before you were signed out is below. Check it and submit it again.")
    return MultiDict([(key, value) for key, values in row.answers.items() for value in values])


def attempt_sign_in(email: str, password: str) -> User | None:
    """The user, if the password is right and the account is neither disabled nor locked."""
    now = utcnow()
    user = User.get_or_none(User.email == email.strip().lower())
    if user is None:
        verify_password(_DUMMY_HASH, password)
        log.warning("sign-in failed: unknown account ip=%s", request.remote_addr)
        return None
    if user.locked_until and user.locked_until > now:
        verify_password(_DUMMY_HASH, password)
        log.warning("sign-in refused: account locked user_id=%s ip=%s", user.id, request.remote_addr)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        failures = user.failed_logins + 1
        locked = now + LOCKOUT if failures >= MAX_FAILURES else None
        with database.atomic():
            User.update(failed_logins=0 if locked else failures, locked_until=locked).where(
                User.id == user.id
            ).execute()
        log.warning(
            "sign-in failed user_id=%s ip=%s failures=%s%s",
            user.id,
            request.remote_addr,
            failures,
            " locked for 15 minutes" if locked else "",
        )
        return None
    with database.atomic():
        User.update(failed_logins=0, locked_until=None).where(User.id == user.id).execute()
    log.info("sign-in user_id=%s ip=%s", user.id, request.remote_addr)
    return user


def begin_session(user: User) -> None:
    """A new session id at every sign-in; a stashed form survives the change."""
    stash = session.get("stash")
    session.clear()
    with database.atomic():
        session["sid"] = start_session(user)
    if stash:
        session["stash"] = stash
    login_user(user)


def finish_session() -> None:
    with database.atomic():
        end_session(session.get("sid"))
    logout_user()
    session.clear()


def role_required(*roles: str):
    """Only users with one of these roles; others get 404, as if the page were not there."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        wrapped.access = "roles:" + ",".join(roles)
        return wrapped

    return decorate


def public(view):
    """Marks a route anyone may use (sign-in, the procedure page, emailed links)."""
    view.access = "public"
    return view


signed_in = role_required(*User.ROLES)


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.session_protection = None  # the server-side session row does this job
