from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovSubmitInput, GovTextInput
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import InputRequired, Length

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


class SignOutForm(PortalForm):
    submit = SubmitField("Sign out", widget=GovSubmitInput())
