"""The Business Manager's information governance pages: the access log and subject access requests."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for

from forms.governance import AccessLogForm
from portal.access_log import ViewFilter, csv_lines, page_of_views
from portal.auth import role_required

bp = Blueprint("governance", __name__, url_prefix="/governance")
business_manager_only = role_required("business_manager")


@bp.get("/")
@business_manager_only
def index():
    return render_template("governance/index.html")


def _filter(form: AccessLogForm) -> ViewFilter | None:
    """The views asked for (every view when nothing is filled in); None when the filters have errors."""
    if not form.validate():
        return None
    return ViewFilter(form.reference.data or "", form.person.data or "", form.start.data, form.end.data)


@bp.get("/access-log")
@business_manager_only
def access_log():
    """Views of cases, filtered by case, person and period, a page at a time."""
    form = AccessLogForm(request.args)
    selected = _filter(form)
    rows, next_before = page_of_views(selected, request.args.get("before", type=int)) if selected else ([], None)
    query = {k: v for k, v in request.args.items(multi=True) if k not in {"before", "submit"}}
    older = url_for("governance.access_log", **query, before=next_before) if next_before else None
    download = url_for("governance.access_log_csv", **query) if selected else None
    status = 400 if selected is None else 200
    return render_template("governance/access_log.html", form=form, rows=rows, older=older, download=download), status


@bp.get("/access-log.csv")
@business_manager_only
def access_log_csv():
    form = AccessLogForm(request.args)
    selected = _filter(form)
    if selected is None:
        return access_log()
    headers = {"Content-Disposition": 'attachment; filename="access-log.csv"', "Cache-Control": "no-store"}
    return Response(stream_with_context(csv_lines(selected)), mimetype="text/csv", headers=headers)
