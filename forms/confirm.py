from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import SubmitField

from forms import PortalForm


class ConfirmForm(PortalForm):
    """A button that does one thing (discard a draft); the CSRF token is the point."""

    submit = SubmitField("Confirm", widget=GovSubmitInput())
