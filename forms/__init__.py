"""Flask-WTF forms, one module per form. PortalForm keeps answers when a CSRF token has expired, and refuses
characters no one types, for every text field of every form."""

from __future__ import annotations

import datetime
import re

from flask import g, has_request_context, request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import DateField, EmailField, StringField
from wtforms.validators import InputRequired, Length, Optional, StopValidation, ValidationError
from wtforms.widgets import TextArea

from portal.addresses import InvalidAddress, normalise_address

TIMED_OUT = "Your session timed out. Check your answers and submit again"
NO_REFERER = "Your browser did not say which page this form came from. Allow it to for this site, then submit again"
# Control characters (NUL included: PostgreSQL refuses it in text) except tab and line breaks, and the Unicode
# bidi embeddings, overrides and isolates that reverse text in emails and PDFs.
UNUSUAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
LINE_BREAK = re.compile("[\t\n\r\u2028\u2029]")  # a single-line field takes none of these (nor a tab)


def unusual_characters(field: StringField) -> str | None:
    """Why a text field's answer cannot be kept, or None: control characters and bidi overrides anywhere, line
    breaks in a single-line field."""
    text = field.data if isinstance(field.data, str) else ""
    if UNUSUAL.search(text) or (not isinstance(field.widget, TextArea) and LINE_BREAK.search(text)):
        label = re.sub(r"\s*\(optional\)$", "", field.label.text)
        return f"Remove the unusual characters from {label[:1].lower()}{label[1:]}"
    return None


class PortalForm(FlaskForm):
    """A form that, when the CSRF check failed, validates nothing and shows the answers again; and that, shown
    after signing in again, fills itself with what was typed when the session had expired (portal.auth)."""

    def __init__(self, formdata=_Auto, **kwargs) -> None:
        from portal.auth import restored_answers  # portal imports these forms: a module-level import is a cycle

        self.restored = False
        if (
            formdata is _Auto
            and has_request_context()
            and request.method == "GET"
            and (kept := restored_answers()) is not None
        ):
            formdata, self.restored = kept, True
        super().__init__(formdata=formdata, **kwargs)

    @property
    def timed_out(self) -> bool:
        return bool(g.get("csrf_failed"))

    def validate_on_submit(self, extra_validators=None) -> bool:
        if self.timed_out:
            return False
        return super().validate_on_submit(extra_validators)

    def validate(self, extra_validators=None) -> bool:
        """The field's own checks, then the unusual-characters rule on every text field, its message first."""
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, StringField) and (message := unusual_characters(field)):
                field.errors = [message, *field.errors]
                valid = False
        return valid

    def error_list(self) -> list[dict]:
        """Items for govukErrorSummary, in field order, each linking to its field."""
        reason = NO_REFERER if g.get("csrf_failed") == "The referrer header is missing." else TIMED_OUT
        items = [{"text": reason, "href": f"#{self._first_field_id()}"}] if self.timed_out else []
        for field in self:
            if field.errors and field.name != "csrf_token":
                anchor = f"{field.id}-day" if isinstance(field, ThreePartDateField) else field.id
                items.append({"text": field.errors[0], "href": f"#{anchor}"})
        return items

    def _first_field_id(self) -> str:
        return next(
            (f.id for f in self if f.type not in {"CSRFTokenField", "HiddenField", "SubmitField"}), "main-content"
        )


class ThreePartDateField(DateField):
    """A GOV.UK date input (day, month, year). Missing or extra parts never break the widget."""

    def __init__(self, *args, called: str = "Date", missing: str | None = None, **kwargs) -> None:
        kwargs.setdefault("format", "%d %m %Y")
        super().__init__(*args, **kwargs)
        self.called = called
        self.missing = missing  # the message when no part is given; None makes the date optional

    def pre_validate(self, form) -> None:
        if self.process_errors:
            raise StopValidation()  # "must include a day" says more than "enter the date"
        if self.data is None:
            if self.missing:
                raise StopValidation(self.missing)
            raise StopValidation()

    def process_formdata(self, valuelist):
        parts = [(v or "").strip() for v in valuelist[:3]]
        self.raw_data = parts + [""] * (3 - len(parts))
        self.data = None
        if not any(self.raw_data):
            return
        for part, value in zip(("day", "month", "year"), self.raw_data, strict=True):
            if not value:
                raise ValueError(f"{self.called} must include a {part}")
        if len(self.raw_data[2]) != 4:
            raise ValueError(f"{self.called} year must include 4 numbers")
        try:
            day, month, year = (int(p) for p in self.raw_data)
            self.data = datetime.date(year, month, day)
        except ValueError:
            self.data = None
            raise ValueError(f"{self.called} must be a real date") from None


def address_format(_form, field) -> None:
    """The portal's one address rule (portal.addresses), in GOV.UK wording."""
    if field.data:
        try:
            normalise_address(field.data)
        except InvalidAddress:
            raise ValidationError("Enter an email address in the correct format, like name@example.org") from None


def email_field(label: str, missing: str | None = None, hint: str = "") -> EmailField:
    """An email address in GOV.UK wording; `missing` is the message when it is required and empty."""
    return EmailField(
        label,
        widget=GovTextInput(),
        description=hint,
        validators=[
            InputRequired(missing) if missing else Optional(),
            address_format,
            Length(max=254, message="Email address must be 254 characters or fewer"),
        ],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
