from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovSubmitInput, GovTextInput
from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import AnyOf, InputRequired, Length

from forms import PortalForm


class SignInForm(PortalForm):
    email = EmailField(
        "Email address",
        widget=GovTextInput(),
        validators=[InputRequired("Enter your email address"), Length(max=254, message="Email address is too long")],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter your password"), Length(max=1000, message="Password is too long")],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class CodeForm(PortalForm):
    code = StringField(
        "Code",
        widget=GovTextInput(),
        description="The 6-digit code your authenticator app shows now, or one of your recovery codes.",
        validators=[InputRequired("Enter the code"), Length(max=40, message="Enter the code your app shows")],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "none"},
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class SecondFactorForm(PortalForm):
    action = HiddenField(validators=[AnyOf(("codes", "remove"))])
    submit = SubmitField("Confirm", widget=GovSubmitInput())


class SignOutForm(PortalForm):
    submit = SubmitField("Sign out", widget=GovSubmitInput())
