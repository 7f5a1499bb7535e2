from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovSubmitInput, GovTextInput
from wtforms import RadioField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from forms import PortalForm, email_field
from portal.directory import AGENCY_KINDS
from portal.procedure import ROLES


class ContactForm(PortalForm):
    agency = SelectField("Agency", widget=GovSelect(), validators=[InputRequired("Select the agency")])
    role = SelectField(
        "Role in the procedure",
        widget=GovSelect(),
        choices=[("", "Select a role"), *ROLES.items()],
        validators=[InputRequired("Select the role")],
    )
    name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter the contact's name"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
    )
    job_title = StringField(
        "Job title",
        widget=GovTextInput(),
        validators=[Length(max=200, message="Job title must be 200 characters or fewer")],
    )
    email = email_field("Email address", "Enter the contact's email address")
    secure = RadioField(
        "Is this address approved for a child's personal details?",
        widget=GovRadioInput(),
        choices=[("yes", "Yes, it is a secure address"), ("no", "No")],
        validators=[InputRequired("Select whether the address is secure")],
    )
    submit = SubmitField("Save contact", widget=GovSubmitInput())


class AgencyForm(PortalForm):
    name = StringField(
        "Agency name",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter the agency's name"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
    )
    kind = SelectField(
        "Kind of agency",
        widget=GovSelect(),
        choices=[("", "Select a kind"), *[(kind, kind.capitalize()) for kind in AGENCY_KINDS]],
        validators=[InputRequired("Select the kind of agency")],
    )
    submit = SubmitField("Add agency", widget=GovSubmitInput())
