"""Flask-WTF forms, one module per form. PortalForm keeps answers when a CSRF token has expired."""

from __future__ import annotations

from flask import g
from flask_wtf import FlaskForm

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
                items.append({"text": field.errors[0], "href": f"#{field.id}"})
        return items

    def _first_field_id(self) -> str:
        return next(
            (f.id for f in self if f.type not in {"CSRFTokenField", "HiddenField", "SubmitField"}), "main-content"
        )
