"""Flask-WTF forms, one module per form. PortalForm keeps answers when a CSRF token has expired."""

from __future__ import annotations

import datetime

from flask import g
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import DateField, EmailField
from wtforms.validators import InputRequired, Length, Optional, StopValidation, ValidationError

from portal.addresses import InvalidAddress, normalise_address

TIMED_OUT = "Your session timed out. Check your answers and submit again"


class PortalForm(FlaskForm):
    """A form that, when the CSRF check failed, validates nothing and shows the answers again."""

    @property
    def timed_out(self) -> bool:
        return bool(g.get("csrf_failed"))

    def validate_on_submit(self, extra_validators=None) -> bool:
        if self.timed_out:
            return False
        return super().validate_on_submit(extra_validators)

    def error_list(self) -> list[dict]:
        """Items for govukErrorSummary, in field order, each linking to its field."""
        items = [{"text": TIMED_OUT, "href": f"#{self._first_field_id()}"}] if self.timed_out else []
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
