"""Pages anyone on the intranet may see: the procedure the partnership follows."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from portal.auth import public
from portal.deadlines import timeline
from portal.models import utcnow
from portal.registry import registry

bp = Blueprint("public", __name__)


@bp.get("/")
@public
def procedure():
    """How the partnership's procedure works, with the deadlines a case raised now would have."""
    proc, now = registry.current(), utcnow()
    imminent_due = proc.imminent_risk.after(now, proc.calendar) if proc.imminent_risk else None
    return render_template(
        "public/procedure.html", procedure=proc, schedule=timeline(proc, now), imminent_due=imminent_due
    )


@bp.get("/accessibility")
@public
def accessibility():
    return render_template("public/accessibility.html")


@bp.get("/robots.txt")
@public
def robots():
    """Capability links are never indexed (W3C TAG, capability URLs)."""
    return current_app.response_class("User-agent: *\nDisallow: /\n", mimetype="text/plain")
