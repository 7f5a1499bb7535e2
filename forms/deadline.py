"""Forms for changing a stage's deadline: an earlier date agreed, an extension, a pause (portal.deadline_changes)."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovSubmitInput
from wtforms import SubmitField

from forms import PortalForm, ThreePartDateField
from forms.case_actions import record_field


def _date(label: str, called: str, hint: str) -> ThreePartDateField:
    return ThreePartDateField(
        label, widget=GovDateInput(), called=called, missing=f"Enter {called.lower()}", description=hint
    )


def _reason(hint: str) -> object:
    return record_field("Reason", "Enter the reason", hint)


class EarlierForm(PortalForm):
    due = _date(
        "The earlier deadline",
        "The earlier deadline",
        "The stage is then due at close of business that day. It must be before the current deadline. "
        "For example, 4 12 2026",
    )
    reason = _reason("Why the child needs it sooner, and who agreed it")
    submit = SubmitField("Agree the earlier deadline", widget=GovSubmitInput())


class ExtendForm(PortalForm):
    due = _date(
        "The new deadline",
        "The new deadline",
        "The stage is then due at close of business that day. It must be after the current deadline. "
        "For example, 18 12 2026",
    )
    reason = _reason("For example, a professionals meeting is booked for that week")
    submit = SubmitField("Extend the deadline", widget=GovSubmitInput())


class PauseForm(PortalForm):
    until = _date(
        "Restart the clock on",
        "The date the clock restarts",
        "The clock restarts at the start of working hours that day (or the next working day); the deadline and "
        "the reminders still to come "
        "move on by the working days paused. For example, 14 12 2026",
    )
    reason = _reason("For example, a key person is on leave until then")
    submit = SubmitField("Pause the clock", widget=GovSubmitInput())


class RestartForm(PortalForm):
    submit = SubmitField("Restart the clock now", widget=GovSubmitInput())
