"""The Business Manager's searches: the access log's filters and a subject access request's child.

Both are GET forms (a search changes nothing), so they carry no CSRF token.
"""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField
from wtforms.validators import Length, Optional

from forms import PortalForm, ThreePartDateField, email_field


def _reference(description: str) -> StringField:
    return StringField(
        "Case reference (optional)",
        widget=GovTextInput(),
        description=description,
        validators=[Optional(), Length(max=20, message="Case reference must be 20 characters or fewer")],
        filters=[lambda v: v.strip().upper() if isinstance(v, str) else v],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )


class AccessLogForm(PortalForm):
    class Meta:
        csrf = False

    reference = _reference("For example, ESC-2026-0042")
    person = email_field("Email address of the person who looked (optional)")
    start = ThreePartDateField(
        "From (optional)", widget=GovDateInput(), called="From", description="For example, 1 12 2026"
    )
    end = ThreePartDateField("To (optional)", widget=GovDateInput(), called="To", description="For example, 31 12 2026")
    submit = SubmitField("Show views", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.start.data and self.end.data and self.end.data < self.start.data:
            self.end.errors = [*self.end.errors, "To must be the same as or after From"]
            valid = False
        return valid


class SubjectSearchForm(PortalForm):
    class Meta:
        csrf = False

    reference = _reference("Or give the child's full name and date of birth")
    child_name = StringField(
        "Child's full name (optional)",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=200, message="Name must be 200 characters or fewer")],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    child_dob = ThreePartDateField(
        "Child's date of birth (optional)",
        widget=GovDateInput(),
        called="Date of birth",
        description="For example, 27 3 2019",
    )
    find = SubmitField("Find the child's records", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and not self.reference.data:
            if not self.child_name.data:
                self.child_name.errors = ["Enter the child's full name, or a case reference"]
                valid = False
            if not self.child_dob.data:
                self.child_dob.errors = ["Enter the child's date of birth, or a case reference"]
                valid = False
        return valid
