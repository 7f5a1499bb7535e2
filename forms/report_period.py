"""Choosing the report's period: a quarter or financial year from a list, or any two dates (GET: nothing changes)."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput, GovDateInput, GovSelect, GovSubmitInput
from wtforms import BooleanField, SelectField, SubmitField
from wtforms.validators import ValidationError

from forms import PortalForm, ThreePartDateField


class PeriodForm(PortalForm):
    class Meta:
        csrf = False  # a GET that only reads

    period = SelectField("Quarter or financial year", widget=GovSelect(), choices=[], validate_choice=False)
    show = SubmitField("Show the report", widget=GovSubmitInput())


class DatesForm(PortalForm):
    class Meta:
        csrf = False

    start = ThreePartDateField(
        "From", widget=GovDateInput(), called="The start date", missing="Enter the start date",
        description="For example, 1 4 2026",
    )  # fmt: skip
    end = ThreePartDateField(
        "To", widget=GovDateInput(), called="The end date", missing="Enter the end date",
        description="For example, 30 6 2026. The day is included",
    )  # fmt: skip
    show_dates = SubmitField("Show these dates", widget=GovSubmitInput())

    def validate_end(self, field: ThreePartDateField) -> None:
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError("The end date must be the same as or after the start date")


class CaseListForm(PortalForm):
    """The case list as CSV: children's names and dates of birth only when asked, and that is recorded."""

    children = BooleanField(
        "Include children's names and dates of birth",
        widget=GovCheckboxInput(),
        description="Each case listed records that you exported them",
    )
    download = SubmitField("Download the case list (CSV)", widget=GovSubmitInput())
