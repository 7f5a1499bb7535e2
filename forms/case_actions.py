"""Forms for acting on a case: record, resolve, escalate, withdraw, decide."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxesInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import RadioField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from forms import PortalForm, email_field
from portal import stage_records
from portal.learning import Lessons
from portal.procedure import SPECIFIC_CIRCUMSTANCES, Stage

RECORD_MAX = 5000
MIN_RECORD = 10  # a written record, not a click: mail scanners and slips fill nothing


def optional_text(label: str, hint: str = "", called: str = "This") -> StringField:
    """A written answer that may be left empty, with a character count."""
    return StringField(
        label,
        widget=GovCharacterCount(),
        description=hint,
        validators=[Length(max=RECORD_MAX, message=f"{called} must be {RECORD_MAX:,} characters or fewer")],
        render_kw={"maxlength": RECORD_MAX},
    )


def record_field(label: str, missing: str, hint: str = "") -> StringField:
    return StringField(
        label,
        widget=GovCharacterCount(),
        description=hint,
        validators=[
            InputRequired(missing),
            Length(min=MIN_RECORD, message=f"{label} must be at least {MIN_RECORD} characters"),
            Length(max=RECORD_MAX, message=f"{label} must be {RECORD_MAX:,} characters or fewer"),
        ],
        render_kw={"maxlength": RECORD_MAX},
    )


class RecordForm(PortalForm):
    text = record_field(
        "Record of the discussion",
        "Enter a record of the discussion",
        "Who you spoke to, when, what was discussed and what was agreed",
    )
    submit = SubmitField("Add record", widget=GovSubmitInput())


def policy_field() -> StringField:
    return StringField(
        "Which policy or procedure has a gap or weakness? (optional)",
        widget=GovTextInput(),
        description="For example, the partnership's escalation policy or an agency's referral procedure",
        validators=[Length(max=200, message="Policy or procedure must be 200 characters or fewer")],
    )


def policy_gap_field() -> StringField:
    return optional_text(
        "What is the gap or weakness? (optional)",
        "What the policy or procedure is missing or gets wrong, as this case showed it",
        called="Gap or weakness",
    )


def debrief_field() -> RadioField:
    return RadioField(
        "Do you recommend a debrief for the people involved? (optional)",
        widget=GovRadioInput(),
        description="To keep good working relationships and share learning",
        choices=[("yes", "Yes"), ("no", "No")],
        validators=[Optional()],
    )


class LessonsQuestions:
    """The optional questions on learning (Hounslow, Birmingham, Salford 5.1): a policy gap and a debrief.
    Left unanswered, nothing is recorded and nobody is told."""

    def validate_policy_gap(self, field: StringField) -> None:
        if (self.policy.data or "").strip() and not (field.data or "").strip():
            raise ValidationError("Enter what the gap or weakness is")

    def validate_policy(self, field: StringField) -> None:
        if (self.policy_gap.data or "").strip() and not (field.data or "").strip():
            raise ValidationError("Enter which policy or procedure has the gap or weakness")


def lessons_from(form: PortalForm) -> Lessons:
    """The learning a resolve or decide form gives (points only when the resolver said there are some)."""
    asked = getattr(form, "learning", None)
    points = form.learning_details.data if asked is None or asked.data == "yes" else ""
    return Lessons(points or "", form.policy.data or "", form.policy_gap.data or "", form.debrief.data == "yes")


class ResolveForm(LessonsQuestions, PortalForm):
    statement = record_field(
        "Agreed outcome",
        "Enter the agreed outcome",
        "The written statement of the outcome agreed by the agencies, including any action to be taken",
    )
    outstanding = optional_text(
        "How will any outstanding issues be pursued? (optional)",
        "Who will do what, and by when. Leave it empty if nothing is outstanding",
    )
    learning = RadioField(
        "Should any learning or gap in policy go to the partnership?",
        widget=GovRadioInput(),
        choices=[("yes", "Yes"), ("no", "No")],
        validators=[InputRequired("Select yes if any learning or gap in policy should go to the partnership")],
    )
    learning_details = optional_text("What should the partnership consider?", called="Learning")
    policy = policy_field()
    policy_gap = policy_gap_field()
    debrief = debrief_field()
    submit = SubmitField("Record resolution", widget=GovSubmitInput())

    def validate_learning_details(self, field: StringField) -> None:
        if self.learning.data == "yes" and not (field.data or "").strip():
            raise ValidationError("Enter what the partnership should consider")


class EscalateForm(PortalForm):
    reason = record_field(
        "Reason for escalating",
        "Enter the reason for escalating",
        "What was tried at this stage and why it did not resolve the disagreement",
    )
    contacts = SelectMultipleField(
        "Who should act at the next stage?",
        widget=GovCheckboxesInput(),
        description="From the directory",
        choices=[],
    )
    other_name = StringField(
        "Name of someone else (optional)",
        widget=GovTextInput(),
        validators=[Length(max=200, message="Name must be 200 characters or fewer")],
    )
    other_email = email_field("Their email address (optional)")
    submit = SubmitField("Escalate", widget=GovSubmitInput())

    def validate_contacts(self, field: SelectMultipleField) -> None:
        typed = getattr(self, "other_email", None)  # removed when the directory has everyone the stage needs
        if field.data or (typed is not None and typed.data):
            return
        if typed is not None:
            raise ValidationError("Select who should act at the next stage, or enter their name and email")
        if not field.choices:
            raise ValidationError("Nobody is in the directory for the next stage: ask the administrator to add them")
        raise ValidationError("Select who should act at the next stage")

    def validate_other_name(self, field: StringField) -> None:
        if self.other_email.data and not (field.data or "").strip():
            raise ValidationError("Enter their name")
        if (field.data or "").strip() and not self.other_email.data:
            raise ValidationError("Enter their email address as well as their name")


class WithdrawForm(PortalForm):
    reason = record_field("Reason for withdrawing", "Enter the reason for withdrawing")
    submit = SubmitField("Withdraw escalation", widget=GovSubmitInput())


class DecideForm(LessonsQuestions, PortalForm):
    decision = record_field(
        "Final decision",
        "Enter the final decision",
        "The decision, the reasons for it and the actions each agency must take",
    )
    learning_details = optional_text(
        "Learning for the partnership (optional)",
        "What the partnership should consider: practice, training, how agencies work together",
        called="Learning",
    )
    policy = policy_field()
    policy_gap = policy_gap_field()
    debrief = debrief_field()
    submit = SubmitField("Record final decision", widget=GovSubmitInput())


class AgreeForm(PortalForm):
    note = optional_text("Anything to add (optional)")
    submit = SubmitField("Confirm it is resolved", widget=GovSubmitInput())


class ContestForm(PortalForm):
    reason = record_field(
        "Why is it not resolved?",
        "Enter why it is not resolved",
        "What is still unresolved for your agency, and what needs to happen for the child",
    )
    submit = SubmitField("Reopen at the next stage", widget=GovSubmitInput())


class FlagForm(PortalForm):
    circumstance = RadioField(
        "Which specific circumstance has come to light?",
        widget=GovRadioInput(),
        choices=list(SPECIFIC_CIRCUMSTANCES.items()),
        validators=[InputRequired("Select the specific circumstance")],
    )
    reason = record_field(
        "What has happened",
        "Enter what has happened",
        "When you learned of it and what you know: the people told act on it today",
    )
    submit = SubmitField("Flag and tell them now", widget=GovSubmitInput())


class AddressForm(PortalForm):
    """Before a copy's PDF is given to an address not approved for a child's details: the address it was sent to."""

    email = email_field(
        "The email address this link was sent to",
        "Enter the email address this link was sent to",
        "We ask because the document names the child",
    )
    submit = SubmitField("Download the PDF", widget=GovSubmitInput())


def with_stage_records(form_class: type[PortalForm], stage: Stage, action: str) -> type[PortalForm]:
    """The action's form with a field for each record the stage asks beside it (portal.stage_records), before the
    action's own fields. Adding a record of a discussion asks them all as optional: the text is the discussion."""
    keys = stage_records.asked_at(stage.records)
    if action == "record":
        keys = [key for key in keys if key != "discussion"]
    elif action not in ("resolve", "escalate", "decide"):
        return form_class
    fields = {}
    for order, key in enumerate(keys):
        spec = stage_records.ASKED[key]
        label = spec.label.removesuffix(" (optional)")
        if spec.required and action != "record":
            field = record_field(label, f"Enter the {label[:1].lower()}{label[1:]}", spec.hint)
        else:
            field = optional_text(f"{label} (optional)", spec.hint, called=label)
        field.creation_counter = -len(keys) + order  # asked first, in the procedure's order
        fields[stage_records.FORM_PREFIX + key] = field
    return type(form_class.__name__, (form_class,), fields) if fields else form_class


def stage_answers(form: PortalForm) -> dict[str, str]:
    """The stage records typed on the form, by the procedure's names."""
    prefix = stage_records.FORM_PREFIX
    return {
        field.name.removeprefix(prefix): field.data.strip()
        for field in form
        if field.name.startswith(prefix) and (field.data or "").strip()
    }
