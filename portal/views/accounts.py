"""Accounts: the administrators' pages, the emailed set-password link, and changing one's own password."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from peewee import JOIN

from forms.accounts import ROLE_NAMES, ChangeAccountForm, ChangePasswordForm, NewAccountForm, SetPasswordForm
from forms.confirm import ConfirmForm
from portal import accounts, second_factor, throttle
from portal.auth import public, role_required, signed_in
from portal.models import Agency, User
from portal.passwords import password_problem
from portal.users import UserError, verify_password
from portal.views.errors import keeps_answers

bp = Blueprint("accounts", __name__)
admin_only = role_required("admin")
log = logging.getLogger(__name__)
PAGE_SIZE = 500  # accounts in a partnership: hundreds at most; the page says when there are more


def _agency_choices() -> list[tuple[str, str]]:
    return [("", "No agency")] + [(a.name, a.name) for a in Agency.select(Agency.name).order_by(Agency.name)]


def _account(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/admin/accounts")
@admin_only
def index():
    users = list(User.select(User, Agency).join(Agency, join_type=JOIN.LEFT_OUTER).order_by(User.name).limit(PAGE_SIZE))
    return render_template("accounts/index.html", users=users, more=len(users) == PAGE_SIZE, roles=ROLE_NAMES)


@bp.route("/admin/accounts/new", methods=["GET", "POST"])
@admin_only
@keeps_answers
def new():
    form = NewAccountForm()
    form.agency.choices = _agency_choices()
    if form.validate_on_submit():
        try:
            user = accounts.create_account(form.email.data, form.name.data, form.role.data, form.agency.data or "")
        except UserError as error:
            form.email.errors.append(str(error)[:1].upper() + str(error)[1:])
        else:
            log.info("account created user_id=%s by user_id=%s", user.id, current_user.id)
            flash(f"{user.name} has been emailed a link to set their password. It works for 24 hours.")
            return redirect(url_for("accounts.index"))
    return render_template("accounts/new.html", form=form), 400 if form.errors else 200


@bp.route("/admin/accounts/<int:user_id>", methods=["GET", "POST"])
@admin_only
@keeps_answers
def account(user_id: int):
    user = _account(user_id)
    data = (
        {"role": user.role, "agency": user.agency.name if user.agency_id else ""} if request.method == "GET" else None
    )
    form = ChangeAccountForm(data=data)
    form.agency.choices = _agency_choices()
    if form.validate_on_submit():
        if user.id == current_user.id and form.role.data != "admin":
            form.role.errors.append("You cannot take away your own administrator role")
        else:
            accounts.change_account(user, form.role.data, form.agency.data or "")
            log.info("account changed user_id=%s role=%s by user_id=%s", user.id, form.role.data, current_user.id)
            flash(f"{user.name}'s account was saved.")
            return redirect(url_for("accounts.account", user_id=user.id))
    return render_template("accounts/account.html", user=user, form=form, roles=ROLE_NAMES), 400 if form.errors else 200


@bp.post("/admin/accounts/<int:user_id>/active")
@admin_only
def toggle_active(user_id: int):
    user = _account(user_id)
    if ConfirmForm().validate_on_submit():
        if user.id == current_user.id:
            flash("You cannot disable your own account.")
        else:
            accounts.set_active(user, not user.active)
            log.info(
                "account %s user_id=%s by user_id=%s",
                "disabled" if user.active else "enabled",
                user.id,
                current_user.id,
            )
            flash(f"{user.name}'s account is {'disabled: they were signed out' if user.active else 'enabled again'}.")
    return redirect(url_for("accounts.account", user_id=user.id))


@bp.post("/admin/accounts/<int:user_id>/reset")
@admin_only
def reset(user_id: int):
    user = _account(user_id)
    if ConfirmForm().validate_on_submit() and user.active:
        accounts.send_password_link(user, "reset")
        log.info("password link sent user_id=%s by user_id=%s", user.id, current_user.id)
        flash(
            f"{user.name} has been emailed a link to set a new password. Their current password still works until then."
        )
    return redirect(url_for("accounts.account", user_id=user.id))


@bp.post("/admin/accounts/<int:user_id>/second-factor")
@admin_only
def remove_second_factor(user_id: int):
    """For someone who lost their phone and their recovery codes: they set it up again at their next sign-in."""
    user = _account(user_id)
    if ConfirmForm().validate_on_submit() and user.totp_secret:
        second_factor.remove(user)
        log.info("second factor removed user_id=%s by user_id=%s", user.id, current_user.id)
        flash(f"{user.name}'s second factor was removed.")
    return redirect(url_for("accounts.account", user_id=user.id))


@bp.route("/account/password/<token>", methods=["GET", "POST"])
@public
@throttle.guarded("link-address")
def set_password(token: str):
    link = accounts.find_link(token)
    if link is None:
        throttle.failed("link-address", throttle.client_address())
        return render_template("accounts/link_refused.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        if problem := password_problem(form.password.data, link.user.email):
            form.password.errors.append(problem)
        else:
            try:
                accounts.set_password_by_link(link, form.password.data)
            except UserError:
                return render_template("accounts/link_refused.html"), 404
            flash("Your password is set. Sign in with it now.")
            return redirect(url_for("auth.sign_in"))
    response = render_template("accounts/set_password.html", form=form, user=link.user)
    return response, 400 if form.errors else 200, {"X-Robots-Tag": "noindex, nofollow"}


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current.data):
            form.current.errors.append("Your current password is not correct")
        elif problem := password_problem(form.password.data, current_user.email):
            form.password.errors.append(problem)
        else:
            accounts.change_password(current_user, form.password.data, keep_session=session.get("sid"))
            log.info("password changed user_id=%s", current_user.id)
            flash("Your password has been changed. You were signed out everywhere else.")
            return redirect(url_for("cases.dashboard"))
    return render_template("accounts/change_password.html", form=form), 400 if form.errors else 200
