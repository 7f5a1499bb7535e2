"""The Business Manager's information governance pages: the access log and subject access requests."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request, stream_with_context, url_for
from flask_login import current_user

from forms.confirm import ConfirmForm
from forms.governance import AccessLogForm, SubjectSearchForm
from portal import subject_access
from portal.access_log import ViewFilter, csv_lines, page_of_views
from portal.auth import role_required
from portal.models import utcnow

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
    query = {k: v for k, v in request.args.to_dict(flat=False).items() if k not in {"before", "submit"}}
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


def _child_cases(form: SubjectSearchForm) -> list:
    return subject_access.find_child_cases(form.reference.data or "", form.child_name.data or "", form.child_dob.data)


@bp.get("/subject-access")
@business_manager_only
def subject_access_search():
    """Find a child's cases (a search only: nothing is recorded until the export)."""
    form = SubjectSearchForm(request.args)
    searched = bool(request.args)
    cases = _child_cases(form) if searched and form.validate() else []
    status = 400 if form.errors else 200
    return render_template(
        "governance/subject_access.html", form=form, searched=searched, cases=cases, confirm=ConfirmForm()
    ), status


@bp.post("/subject-access/export")
@business_manager_only
def subject_access_export():
    """The zip for the cases the search finds; the search comes back in the query string, the CSRF token in the
    body."""
    form = SubjectSearchForm(request.args)
    if not ConfirmForm().validate_on_submit() or not form.validate():
        abort(400)
    cases = _child_cases(form)
    if not cases:
        abort(404)
    archive = subject_access.export(cases, current_user._get_current_object(), current_app)
    name = f"subject-access-{utcnow():%Y%m%d}-{cases[0].reference}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(archive, mimetype="application/zip", headers=headers)
