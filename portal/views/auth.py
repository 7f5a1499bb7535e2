"""Sign in and sign out."""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import urlsplit

from authlib.integrations.base_client import OAuthError
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from forms.sign_in import CodeForm, SecondFactorForm, SignInForm, SignOutForm
from portal import second_factor, sso, throttle
from portal.auth import attempt_sign_in, begin_session, finish_session, public, signed_in
from portal.models import User

bp = Blueprint("auth", __name__)
log = logging.getLogger("portal.auth")
PENDING_SECONDS = 600  # from the password to the second factor


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect, nor a header broken by a line break or control character."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and target.isprintable()
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("cases.dashboard")


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    if form.validate_on_submit():
        user = attempt_sign_in(form.email.data, form.password.data)
        if user is not None:
            return _after_password(user, _safe_next(request.args.get("next")))
        form.email.errors.append("Enter a correct email address and password")
    return render_template(
        "auth/sign_in.html", form=form, sso_name=current_app.config["OIDC_NAME"] if sso.client() else ""
    )


@bp.get("/sign-in/sso")
@public
def sso_start():
    council = sso.client()
    if council is None:
        abort(404)
    return council.authorize_redirect(
        current_app.config["BASE_URL"] + url_for("auth.sso_return"), nonce=secrets.token_urlsafe(16)
    )


@bp.get("/sign-in/sso/return")
@public
def sso_return():
    """The provider sends the browser back here with a code; Authlib checks the state and the ID token's nonce."""
    council = sso.client()
    if council is None:
        abort(404)
    throttle.check("sign-in-address", throttle.client_address())
    try:
        token = council.authorize_access_token()
        user = sso.account_for(token.get("userinfo") or {})
    except OAuthError as error:
        log.warning("single sign-on failed ip=%s: %s", request.remote_addr, error.error)
        return render_template("auth/sso_refused.html", reason="Your council's sign-in did not complete."), 403
    except sso.NotAllowed as refused:
        throttle.failed("sign-in-address", throttle.client_address())
        log.warning("single sign-on refused ip=%s", request.remote_addr)
        return render_template("auth/sso_refused.html", reason=str(refused)), 403
    log.info("single sign-on user_id=%s ip=%s", user.id, request.remote_addr)
    return _after_password(user, url_for("cases.dashboard"))


def _after_password(user: User, target: str):
    """Signed in at once, or first the second factor: its code, or setting it up if the role requires one."""
    if not user.totp_secret and not second_factor.required(user):
        begin_session(user)
        return redirect(target)
    stash = session.get("stash")
    session.clear()
    session["pending"] = {"user": user.id, "at": time.time(), "next": target}
    if stash:
        session["stash"] = stash
    return redirect(url_for("auth.second_factor_code" if user.totp_secret else "auth.set_up_second_factor"))


def _pending_user() -> tuple[User | None, str]:
    """Who has given their password in this browser within PENDING_SECONDS, and where they were going."""
    pending = session.get("pending") or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, ""
    user = User.get_or_none((User.id == pending["user"]) & (User.active == True))  # noqa: E712
    return user, pending.get("next") or url_for("cases.dashboard")


@bp.route("/sign-in/code", methods=["GET", "POST"])
@public
def second_factor_code():
    user, target = _pending_user()
    if user is None or not user.totp_secret:
        flash("Sign in again: the code must follow the password within 10 minutes.")
        return redirect(url_for("auth.sign_in"))
    form = CodeForm()
    if form.validate_on_submit():
        throttle.check("second-factor", str(user.id))
        if second_factor.verify(user, form.code.data):
            begin_session(user)
            left = second_factor.recovery_codes_left(user)
            if len("".join(form.code.data.split())) > 8:  # a recovery code, not the app's 6 digits
                flash(f"You used a recovery code: {left} left. Make new ones from 'Your second factor'.")
            return redirect(target)
        throttle.failed("second-factor", str(user.id))
        log.warning("second factor failed user_id=%s ip=%s", user.id, request.remote_addr)
        form.code.errors.append("The code is not correct. Enter the code your app shows now, or a recovery code")
    return render_template("auth/code.html", form=form), 400 if form.errors else 200


@bp.route("/sign-in/set-up", methods=["GET", "POST"])
@public
def set_up_second_factor():
    """Setting up the app: at first sign-in when the role requires it, or later from 'Your second factor'."""
    if current_user.is_authenticated:
        user, target = current_user._get_current_object(), url_for("auth.your_second_factor")
    else:
        user, target = _pending_user()
        if user is None:
            return redirect(url_for("auth.sign_in"))
    secret = session.setdefault("totp_setup", second_factor.new_secret())
    form = CodeForm()
    if form.validate_on_submit():
        throttle.check("second-factor", str(user.id))
        step = second_factor.verify_new(secret, form.code.data)
        if step is not None:
            codes = second_factor.enrol(user, secret, step)
            log.info("second factor set up user_id=%s", user.id)
            if not current_user.is_authenticated:
                begin_session(user)
            session.pop("totp_setup", None)
            session["recovery_codes"] = codes
            session["after_codes"] = target
            return redirect(url_for("auth.recovery_codes"))
        throttle.failed("second-factor", str(user.id))
        form.code.errors.append("The code is not correct. Enter the 6-digit code your app shows now")
    return render_template(
        "auth/set_up.html",
        form=form,
        qr=second_factor.qr_code(secret, user.email),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        required=second_factor.required(user),
    ), 400 if form.errors else 200


@bp.get("/account/recovery-codes")
@signed_in
def recovery_codes():
    """Shown once, straight after they are made."""
    codes = session.pop("recovery_codes", None)
    if not codes:
        return redirect(url_for("auth.your_second_factor"))
    return render_template("auth/recovery_codes.html", codes=codes, target=session.pop("after_codes", None))


@bp.route("/account/second-factor", methods=["GET", "POST"])
@signed_in
def your_second_factor():
    form = SecondFactorForm()
    if form.validate_on_submit():
        if form.action.data == "codes" and current_user.totp_secret:
            session["recovery_codes"] = second_factor.new_recovery_codes(current_user)
            return redirect(url_for("auth.recovery_codes"))
        if form.action.data == "remove" and current_user.totp_secret and not second_factor.required(current_user):
            second_factor.remove(current_user)
            log.info("second factor removed user_id=%s", current_user.id)
            flash("Your second factor is turned off.")
        return redirect(url_for("auth.your_second_factor"))
    return render_template(
        "auth/second_factor.html",
        left=second_factor.recovery_codes_left(current_user),
        required=second_factor.required(current_user),
    )


@bp.post("/sign-out")
@signed_in
def sign_out():
    form = SignOutForm()
    if form.validate_on_submit():
        finish_session()
        flash("You have signed out.")
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for("cases.dashboard"))
