"""The raise-an-escalation journey: one form per question page (GOV.UK one thing per page)."""

from __future__ import annotations

import datetime as dt

from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxesInput,
    GovDateInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from forms import PortalForm, ThreePartDateField, email_field
from portal.procedure import SPECIFIC_CIRCUMSTANCES
from portal.workdays import LONDON

# Hounslow's list of what disagreements are most likely to arise around.
CATEGORIES = [
    ("thresholds", "Levels of need, thresholds and referrals"),
    ("action_or_inaction", "Action or inaction by another professional"),
    ("assessment", "Assessment and differences in professional analysis"),
    ("decision_making", "Decision making, for example a child protection conference outcome"),
    ("service_provision", "Service provision"),
    ("roles", "Roles and responsibilities"),
    ("plans", "Progressing plans"),
    ("communication", "Communication and information sharing"),
    ("other", "Something else"),
]
YES_NO = [("yes", "Yes"), ("no", "No")]
NOT_LISTED = ("not-listed", "Not listed")  # the counterpart's agency, when the directory lacks it
LONG_TEXT = 5000
MAX_CHILD_AGE_YEARS = 25  # care leavers are supported to 25


def _today() -> dt.date:
    return dt.datetime.now(LONDON).date()


def years_before(day: dt.date, years: int) -> dt.date:
    """The same day `years` earlier; 29 February becomes 28 February in a year without one."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _long_text(label: str, missing: str, hint: str = "", required: bool = True) -> StringField:
    validators = [InputRequired(missing)] if required else [Optional()]
    return StringField(
        label,
        widget=GovCharacterCount(),
        description=hint,
        validators=[*validators, Length(max=LONG_TEXT, message=f"{label} must be {LONG_TEXT:,} characters or fewer")],
        render_kw={"maxlength": LONG_TEXT},
    )


def _continue() -> SubmitField:
    return SubmitField("Continue", widget=GovSubmitInput())


SUBJECTS = [
    ("child", "A child"),
    ("unborn", "An unborn baby"),
    ("none", "No particular child: a strategic or thematic disagreement"),
]
MAX_PREGNANCY_WEEKS = 42
OVERDUE_DAYS = 28  # a baby may arrive weeks after the date expected


class SubjectForm(PortalForm):
    title = "Who the disagreement is about"
    subject = RadioField(
        "Who is the disagreement about?",
        widget=GovRadioInput(),
        choices=SUBJECTS,
        description="A strategic or thematic disagreement is about how agencies work for children in general, for "
        "example a policy, a service or a pattern seen across cases: it names no child",
        validators=[InputRequired("Select who the disagreement is about")],
    )
    submit = _continue()


def _name(label: str, missing: str, hint: str = "") -> StringField:
    return StringField(
        label,
        widget=GovTextInput(),
        description=hint,
        validators=[InputRequired(missing), Length(max=200, message="Name must be 200 characters or fewer")],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


def _identifier() -> StringField:
    return StringField(
        "Local identifier (optional)",
        widget=GovTextInput(),
        description="For example, the case number in your agency's system",
        validators=[Optional(), Length(max=60, message="Local identifier must be 60 characters or fewer")],
    )


def _yes_no(label: str, missing: str) -> RadioField:
    return RadioField(label, widget=GovRadioInput(), choices=YES_NO, validators=[InputRequired(missing)])


def _chair_name() -> StringField:
    return StringField(
        "Name of the child's child protection chair or IRO",
        widget=GovTextInput(),
        description="Only if the child is on a plan or looked after: the chair or Independent Reviewing Officer "
        "the procedure says must be told",
        validators=[Length(max=200, message="Name must be 200 characters or fewer")],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class _ChairNeeded:
    """The chair or IRO is asked for only when the child is on a plan or looked after: then both are needed."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        looked_after = getattr(self, "child_looked_after", None)
        if "yes" not in (self.child_on_plan.data, looked_after.data if looked_after else None):
            return valid
        needed = {
            self.chair_name: "Enter the name of the child's child protection chair or IRO",
            self.chair_email: "Enter the email address of the child's child protection chair or IRO",
        }
        for field, message in needed.items():
            if not (field.data or "").strip() and not field.errors:
                field.errors = [message]
                valid = False
        return valid


class ChildForm(_ChairNeeded, PortalForm):
    title = "About the child"
    child_name = _name("Child's full name", "Enter the child's full name")
    child_dob = ThreePartDateField(
        "Child's date of birth",
        widget=GovDateInput(),
        called="Date of birth",
        missing="Enter the child's date of birth",
        description="For example, 27 3 2019",
    )
    child_identifier = _identifier()
    child_on_plan = _yes_no(
        "Is the child subject to a child protection plan?",
        "Select yes if the child is subject to a child protection plan",
    )
    child_looked_after = _yes_no("Is the child looked after?", "Select yes if the child is looked after")
    chair_name = _chair_name()
    chair_email = email_field("Email address of the chair or IRO")
    submit = _continue()

    def validate_child_dob(self, field: ThreePartDateField) -> None:
        if field.data is None:
            return
        if field.data > _today():
            raise ValidationError("Date of birth must be in the past")
        if field.data < years_before(_today(), MAX_CHILD_AGE_YEARS):
            raise ValidationError(f"Date of birth must be within the last {MAX_CHILD_AGE_YEARS} years")


class UnbornForm(_ChairNeeded, PortalForm):
    title = "About the unborn baby"
    child_name = _name(
        "Name to record the baby by",
        "Enter a name to record the baby by",
        "For example, Unborn baby of Alex Smith",
    )
    child_due = ThreePartDateField(
        "Expected date of delivery",
        widget=GovDateInput(),
        called="Expected date of delivery",
        missing="Enter the expected date of delivery",
        description="For example, 14 6 2027",
    )
    child_identifier = _identifier()
    child_on_plan = _yes_no(
        "Is the unborn baby subject to a child protection plan?",
        "Select yes if the unborn baby is subject to a child protection plan",
    )
    chair_name = _chair_name()
    chair_email = email_field("Email address of the chair or IRO")
    submit = _continue()

    def validate_child_due(self, field: ThreePartDateField) -> None:
        if field.data is None:
            return
        if field.data < _today() - dt.timedelta(days=OVERDUE_DAYS):
            raise ValidationError(
                f"Expected date of delivery must be within the last {OVERDUE_DAYS} days or in the future. If the "
                "baby has been born, go back and choose 'A child'"
            )
        if field.data > _today() + dt.timedelta(weeks=MAX_PREGNANCY_WEEKS):
            raise ValidationError(f"Expected date of delivery must be within the next {MAX_PREGNANCY_WEEKS} weeks")


class RaiserForm(PortalForm):
    title = "About you"
    raiser_role = StringField(
        "Your role",
        widget=GovTextInput(),
        description="For example, Social Worker or Designated Safeguarding Lead",
        validators=[InputRequired("Enter your role"), Length(max=200, message="Role must be 200 characters or fewer")],
    )
    raiser_agency = SelectField(
        "Your agency or team",
        widget=GovSelect(),
        coerce=str,
        validators=[InputRequired("Select your agency or team")],
    )
    raiser_contact_details = StringField(
        "Your contact details",
        widget=GovTextInput(),
        description="A phone number and email address the people at each stage can reach you on",
        validators=[
            InputRequired("Enter your contact details"),
            Length(max=300, message="Contact details must be 300 characters or fewer"),
        ],
    )
    submit = _continue()


class JointForm(PortalForm):
    title = "Raising it jointly"
    joint = RadioField(
        "Is a practitioner from another agency raising this with you?",
        widget=GovRadioInput(),
        choices=YES_NO,
        description="A joint escalation by more than one agency. They will see the case, get the emails you get and "
        "may do what you may",
        validators=[InputRequired("Select yes if a practitioner from another agency is raising this with you")],
    )
    joint_name = StringField(
        "Their name",
        widget=GovTextInput(),
        description="Only if they are",
        validators=[Length(max=200, message="Name must be 200 characters or fewer")],
    )
    joint_email = email_field("Their email address (jointly raising)")
    joint_agency = SelectField("Their agency (jointly raising)", widget=GovSelect(), coerce=str, default="")
    submit = _continue()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.joint.data != "yes":
            return valid
        needed = {
            self.joint_name: "Enter the name of the practitioner raising this with you",
            self.joint_email: "Enter the email address of the practitioner raising this with you",
            self.joint_agency: "Select the agency of the practitioner raising this with you",
        }
        for field, message in needed.items():
            if not (field.data or "").strip() and not field.errors:
                field.errors = [message]
                valid = False
        return valid


class CounterpartForm(PortalForm):
    title = "Who you disagree with"
    counterpart_name = StringField(
        "Name of the practitioner",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter the name of the practitioner you disagree with"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
    )
    counterpart_email = email_field(
        "Their email address", "Enter their email address", "They will be emailed a link to record the outcome"
    )
    counterpart_agency = SelectField(
        "Their agency",
        widget=GovSelect(),
        coerce=str,
        description=f"If their agency is not in the list, choose '{NOT_LISTED[1]}' and type its name below",
        validators=[InputRequired("Select their agency")],
    )
    counterpart_agency_other = StringField(
        "Their agency's name, if not listed",
        widget=GovTextInput(),
        description="The partnership's Business Manager is told, so the directory can be completed",
        validators=[Length(max=200, message="Agency name must be 200 characters or fewer")],
    )
    submit = _continue()

    def validate_counterpart_agency_other(self, field: StringField) -> None:
        if self.counterpart_agency.data == NOT_LISTED[0] and not (field.data or "").strip():
            raise ValidationError("Enter the name of their agency")


class CategoriesForm(PortalForm):
    title = "What the disagreement is about"
    categories = SelectMultipleField(
        "What is the disagreement about?",
        widget=GovCheckboxesInput(),
        choices=CATEGORIES,
        description="Select all that apply",
        validators=[InputRequired("Select what the disagreement is about")],
    )
    category_other = StringField(
        "If something else, what?",
        widget=GovTextInput(),
        validators=[Length(max=200, message="Description must be 200 characters or fewer")],
    )
    submit = _continue()

    def validate_category_other(self, field: StringField) -> None:
        if "other" in (self.categories.data or []) and not (field.data or "").strip():
            raise ValidationError("Enter what else the disagreement is about")


class ConcernForm(PortalForm):
    title = "The concern"
    summary = _long_text(
        "Brief description of the concern",
        "Enter a brief description of the concern",
        "What the other agency did or did not do, and why it leaves the child unsafe",
    )
    action_taken = _long_text(
        "Action already taken to resolve it",
        "Enter the action already taken to resolve the disagreement",
        "For example, phone calls or meetings with the practitioner, with dates",
    )
    submit = _continue()


class OutcomeForm(PortalForm):
    title = "Outcome sought"
    outcome_sought = _long_text(
        "What outcome are you seeking for the child?",
        "Enter the outcome you are seeking",
        "What you are asking to happen as a result of this challenge",
    )
    submit = _continue()


class SafeguardingLeadForm(PortalForm):
    title = "Your safeguarding lead"
    lead_aware = RadioField(
        "Is your designated safeguarding lead aware of this escalation?",
        widget=GovRadioInput(),
        choices=YES_NO,
        validators=[InputRequired("Select yes if your safeguarding lead is aware")],
    )
    lead_name = StringField(
        "Name of your safeguarding lead",
        widget=GovTextInput(),
        description="Required if they are aware",
        validators=[Length(max=200, message="Name must be 200 characters or fewer")],
    )
    submit = _continue()

    def validate_lead_name(self, field: StringField) -> None:
        if self.lead_aware.data == "yes" and not (field.data or "").strip():
            raise ValidationError("Enter the name of your safeguarding lead")


class RiskForm(PortalForm):
    title = "Risk to the child"
    imminent_risk = RadioField(
        "Is the child at imminent risk of significant harm?",
        widget=GovRadioInput(),
        choices=YES_NO,
        description="If yes, the concern must be escalated the same working day and your safeguarding lead is "
        "told at once",
        validators=[InputRequired("Select yes if the child is at imminent risk of significant harm")],
    )
    specific_circumstance = RadioField(
        "Do any of these specific circumstances apply?",
        widget=GovRadioInput(),
        choices=[("none", "None of these"), *SPECIFIC_CIRCUMSTANCES.items()],
        description="If one applies the escalation procedure is bypassed: the Director of Children's Services and "
        "the partnership are told immediately",
        validators=[InputRequired("Select whether any specific circumstance applies")],
    )
    submit = _continue()


class DeadlineForm(PortalForm):
    title = "Deadline"
    requested_due = ThreePartDateField(
        "An earlier deadline for the first stage (optional)",
        widget=GovDateInput(),
        called="The earlier deadline",
        description="Only if the child needs a resolution sooner than the procedure allows. For example, 4 12 2026",
    )
    submit = _continue()

    def validate_requested_due(self, field: ThreePartDateField) -> None:
        if field.data and field.data < _today():
            raise ValidationError("The earlier deadline must be today or in the future")


class CheckAnswersForm(PortalForm):
    submission_key = HiddenField()
    version = HiddenField()  # of the draft as shown: a page older than the answers is not submitted
    submit = SubmitField("Raise escalation", widget=GovSubmitInput())


PAGES = [
    ("subject", SubjectForm),
    ("child", ChildForm),
    ("unborn", UnbornForm),
    ("you", RaiserForm),
    ("joint", JointForm),
    ("counterpart", CounterpartForm),
    ("categories", CategoriesForm),
    ("concern", ConcernForm),
    ("outcome", OutcomeForm),
    ("safeguarding-lead", SafeguardingLeadForm),
    ("risk", RiskForm),
    ("deadline", DeadlineForm),
]
