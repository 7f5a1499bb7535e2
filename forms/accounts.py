"""Accounts: an administrator's account form, and setting or changing one's own password."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovRadioInput, GovSelect, GovSubmitInput, GovTextInput
from wtforms import PasswordField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from forms import PortalForm, email_field
from portal.passwords import MAX_LENGTH, MIN_LENGTH

ROLE_NAMES = {
    "practitioner": "Practitioner: raises escalations and acts on cases they are party to",
    "business_manager": "Business Manager: sees every case in the partnership",
    "admin": "Administrator: manages accounts and the directory; raises no escalations",
}


def _role_field() -> RadioField:
    return RadioField(
        "Role",
        widget=GovRadioInput(),
        choices=list(ROLE_NAMES.items()),
        validators=[InputRequired("Select the role")],
    )


def _agency_field() -> SelectField:
    return SelectField("Agency", widget=GovSelect(), validate_choice=True)


class NewAccountForm(PortalForm):
    email = email_field("Email address", "Enter the person's email address")
    name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter the person's name"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
    )
    role = _role_field()
    agency = _agency_field()
    submit = SubmitField("Create account and email a link", widget=GovSubmitInput())


class ChangeAccountForm(PortalForm):
    role = _role_field()
    agency = _agency_field()
    submit = SubmitField("Save changes", widget=GovSubmitInput())


def _new_password(label: str = "New password") -> PasswordField:
    return PasswordField(
        label,
        widget=GovPasswordInput(),
        description=f"At least {MIN_LENGTH} characters. A few unrelated words make a good one. "
        "Common passwords are refused.",
        validators=[InputRequired("Enter a new password"), Length(max=MAX_LENGTH, message="Password is too long")],
        render_kw={"autocomplete": "new-password"},
    )


class SetPasswordForm(PortalForm):
    password = _new_password("Password")
    submit = SubmitField("Set password", widget=GovSubmitInput())


class ChangePasswordForm(PortalForm):
    current = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        validators=[
            InputRequired("Enter your current password"),
            Length(max=MAX_LENGTH, message="Password is too long"),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    password = _new_password()
    submit = SubmitField("Change password", widget=GovSubmitInput())
