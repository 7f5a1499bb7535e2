"""The inbox's filters (cases, learning), read from the query string (a GET form: any view can be bookmarked), and
the review note."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovSubmitInput,
)
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import Length, ValidationError

from forms import PortalForm, ThreePartDateField
from forms.raise_escalation import CATEGORIES
from portal.models import Escalation

SHOW = [
    ("new", "New to you"),
    ("overdue", "Overdue"),
    ("due_this_week", "Due this week"),
    ("imminent_risk", "Imminent risk"),
    ("specific_circumstance", "Specific circumstance"),
    ("on_plan", "On a plan or looked after"),
]
SORTS = [
    ("deadline", "Deadline, soonest first"),
    ("raised", "Date raised, newest first"),
    ("activity", "Last activity"),
]
LEARNING_SHOW = [("policy_gap", "A gap in policy or procedure"), ("debrief", "Debrief recommended")]
NOTE_MAX = 2000


def _one_of(field, message: str) -> None:
    values = field.data if isinstance(field.data, list) else [field.data]
    known = {str(value) for value, _ in field.choices}
    if any(value not in known for value in values if value not in ("", None)):
        raise ValidationError(message)


class InboxFilterForm(PortalForm):
    """Every answer is in the URL; an unknown value is an error on its field, never a 500."""

    class Meta:
        csrf = False

    q = StringField(
        "Search by reference or child's name",
        description="For example, ESC-2026-0042, or the start of a first name or surname",
        validators=[Length(max=100, message="Search must be 100 characters or fewer")],
    )
    status = SelectMultipleField(
        "Status",
        choices=[(s, s.capitalize()) for s in Escalation.STATUSES],
        validate_choice=False,
    )
    show = SelectMultipleField("Show only", choices=SHOW, validate_choice=False)
    stage = SelectField("Current stage", choices=[], validate_choice=False)
    agency = SelectField(
        "Agency",
        description="The raiser's or the counterpart's",
        choices=[],
        validate_choice=False,
    )
    category = SelectField(
        "Category of disagreement",
        choices=[("", "Any category"), *CATEGORIES],
        validate_choice=False,
    )
    raised_from = ThreePartDateField(
        "Raised on or after", called="Raised on or after", description="For example, 1 11 2026"
    )
    raised_to = ThreePartDateField(
        "Raised on or before",
        called="Raised on or before",
        description="For example, 30 11 2026",
    )
    sort = RadioField("Sort by", choices=SORTS, default="deadline", validate_choice=False)

    def validate_status(self, field) -> None:
        _one_of(field, "Select a status from the list")

    def validate_show(self, field) -> None:
        _one_of(field, "Select what to show from the list")

    def validate_stage(self, field) -> None:
        _one_of(field, "Select a stage from the list")

    def validate_agency(self, field) -> None:
        _one_of(field, "Select an agency from the list")

    def validate_category(self, field) -> None:
        _one_of(field, "Select a category from the list")

    def validate_sort(self, field) -> None:
        _one_of(field, "Select how to sort from the list")

    def validate_raised_to(self, field) -> None:
        if field.data and self.raised_from.data and field.data < self.raised_from.data:
            raise ValidationError("Raised on or before must be the same as or after raised on or after")


class LearningFilterForm(PortalForm):
    class Meta:
        csrf = False

    show = SelectMultipleField("Show only", choices=LEARNING_SHOW, validate_choice=False)

    def validate_show(self, field) -> None:
        _one_of(field, "Select what to show from the list")


class ReviewForm(PortalForm):
    note = StringField(
        "Note (optional)",
        widget=GovCharacterCount(),
        description="For example, what you checked or who you contacted. Only Business Managers see it.",
        validators=[Length(max=NOTE_MAX, message=f"Note must be {NOTE_MAX:,} characters or fewer")],
        render_kw={"maxlength": NOTE_MAX},
    )
    submit = SubmitField("Mark as reviewed", widget=GovSubmitInput())
