"""Sign in and sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from forms.sign_in import SignInForm, SignOutForm
from portal.auth import attempt_sign_in, begin_session, finish_session, public, signed_in

bp = Blueprint("auth", __name__)


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
            begin_session(user)
            return redirect(_safe_next(request.args.get("next")))
        form.email.errors.append("Enter a correct email address and password")
    return render_template("auth/sign_in.html", form=form)


@bp.post("/sign-out")
@signed_in
def sign_out():
    form = SignOutForm()
    if form.validate_on_submit():
        finish_session()
        flash("You have signed out.")
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for("cases.dashboard"))
