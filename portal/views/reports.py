"""The Business Manager's report on the partnership's escalations: a page, CSVs and an executive PDF
(docs/reports.md). Everyone else gets 404, as for any page that is not theirs."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from forms.raise_escalation import CATEGORIES
from forms.report_period import CaseListForm, DatesForm, PeriodForm
from portal import pdf
from portal.auth import role_required
from portal.case_list import case_rows, record_export
from portal.charts import report_charts
from portal.db import database
from portal.models import utcnow
from portal.quarterly import report_html
from portal.registry import registry
from portal.reports import (
    Period,
    PeriodError,
    Report,
    build_report,
    date_range,
    last_complete_quarter,
    parse_period,
    recent_periods,
)
from portal.workdays import london

bp = Blueprint("reports", __name__, url_prefix="/reports")
business_manager = role_required("business_manager")


def _chosen(today) -> tuple[Period | None, PeriodForm, DatesForm]:
    """The period the query string asks for (the last complete quarter when it asks for none)."""
    period_form, dates_form = PeriodForm(formdata=request.args), DatesForm(formdata=request.args)
    period_form.period.choices = [(p.token, p.label) for p in recent_periods(today)]
    period = None
    if "start" in request.args or "end" in request.args:
        if dates_form.validate():
            try:
                period = date_range(dates_form.start.data, dates_form.end.data)
            except PeriodError as error:
                dates_form.end.errors = [str(error)]
    elif request.args.get("period"):
        try:
            period = parse_period(request.args["period"])
        except PeriodError as error:
            period_form.period.errors = [str(error)]
    else:
        period = last_complete_quarter(today)
    if period is not None:
        period_form.period.data = period.token
        if period.kind == "range" and not dates_form.start.data:
            dates_form.start.data, dates_form.end.data = period.start, period.end
    return period, period_form, dates_form


def _report(period: Period) -> Report:
    return build_report(registry.current(), period, utcnow(), dict(CATEGORIES))


def _period_or_404() -> Period:
    try:
        return parse_period(request.args.get("period", ""))
    except PeriodError:
        abort(404)


@bp.get("/")
@business_manager
def report():
    today = london(utcnow()).date()
    period, period_form, dates_form = _chosen(today)
    errors = period_form.errors or dates_form.errors
    report = _report(period) if period is not None and not errors else None
    return render_template(
        "reports/report.html",
        report=report,
        charts=report_charts(report) if report else [],
        period_form=period_form,
        dates_form=dates_form,
        form=dates_form if dates_form.errors else period_form,  # the one whose errors the summary lists
        case_list_form=CaseListForm(),
        errors=errors,
    ), 400 if errors else 200


def _csv(rows: list[list], filename: str) -> Response:
    """A CSV download; a cell a spreadsheet would run as a formula is prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(
            ["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for v in row]
        )
    response = Response(out.getvalue(), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/figures.csv")
@business_manager
def figures_csv():
    report = _report(_period_or_404())
    header = ["Section", "Measure", report.period.label, f"Previous: {report.current.period.previous().label}"]
    return _csv([header, *map(list, report.figure_rows())], f"escalations-figures-{report.period.token}.csv")


@bp.post("/cases.csv")
@business_manager
def cases_csv():
    period = _period_or_404()
    form = CaseListForm()
    if not form.validate_on_submit():  # only a lost CSRF token gets here: the page offers the form again
        return report()
    children = bool(form.children.data)
    procedure = registry.current()
    header, rows, ids = case_rows(procedure, period, children)
    if children:
        with database.atomic():
            record_export(ids, current_user._get_current_object(), utcnow(), period.label)
    return _csv([header, *rows], f"escalations-cases-{period.token}.csv")


@bp.get("/report.pdf")
@business_manager
def report_pdf():
    """Rendered now, in the sandboxed child process the documents use, because the Business Manager is waiting."""
    report = _report(_period_or_404())
    try:
        content = pdf.render(report_html(report, current_app._get_current_object()))
    except pdf.RenderError:
        current_app.logger.exception("report PDF for %s could not be rendered", report.period.token)
        return render_template("reports/unavailable.html"), 503
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="escalations-report-{report.period.token}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
