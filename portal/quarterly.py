"""The quarterly report: on the first working day of each quarter, from 09:00 London, the previous quarter's report
is rendered and mailed to the Business Manager, once (docs/reports.md, 'The quarterly email').

A minute sweep asks `report_due(now)` and hands the work to a worker task, which asks again and makes it (so the
sweeps never wait behind a render); the quarter's `quarterly_report` row, written in the same
transaction as the PDF and the outbox rows, makes every later run (another consumer, a restarted one) do nothing.
A consumer that was down at 09:00 sends it when it comes back, within the quarter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from flask import Flask
from peewee import IntegrityError

from forms.raise_escalation import CATEGORIES
from portal import pdf
from portal.charts import report_charts
from portal.db import database
from portal.mail import queue_email, wake_sender
from portal.models import Document, QuarterlyReport
from portal.procedure import Procedure
from portal.registry import registry
from portal.reports import Period, Report, build_report, quarter_of
from portal.routing import business_managers
from portal.strict_templates import strict_template
from portal.workdays import LONDON, UTC, london

SENT_AT = dt.time(9, 0)  # London
log = logging.getLogger(__name__)


def report_html(report: Report, app: Flask) -> str:
    """The executive report as print HTML: the page's figures, charts and learning."""
    return strict_template(app, "pdf/report.html").render(
        report=report, charts=report_charts(report), title=f"Escalations report: {report.period.label}"
    )


def sending_time(procedure: Procedure, quarter: Period) -> dt.datetime:
    """09:00 on the quarter's first working day (a bank holiday on the 1st moves it to the next working day)."""
    day = procedure.calendar.working_day_on_or_after(quarter.start)
    return dt.datetime.combine(day, SENT_AT, tzinfo=LONDON).astimezone(UTC)


def report_due(now: dt.datetime) -> Period | None:
    """The quarter whose report should be made now, if it is time and it has not been made."""
    quarter = quarter_of(london(now).date())
    if now < sending_time(registry.current(), quarter):
        return None
    last = quarter.previous()
    return None if QuarterlyReport.select().where(QuarterlyReport.quarter == last.token).exists() else last


def send_quarterly_report(app: Flask, now: dt.datetime) -> str | None:
    """Make and mail the previous quarter's report if it is time and nobody has; returns its quarter if made."""
    last = report_due(now)
    if last is None:
        return None
    procedure = registry.current()
    report = build_report(procedure, last, now, dict(CATEGORIES))
    content = pdf.render(report_html(report, app))  # a failure raises: the next minute tries again
    filename = f"escalations-report-{last.token}.pdf"
    try:
        with database.atomic():
            document = Document.create(
                kind="quarterly_report",
                key=f"quarterly-report/{last.token}",
                status="rendered",
                filename=filename,
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
                created_at=now,
                rendered_at=now,
            )
            QuarterlyReport.create(quarter=last.token, made_at=now, document=document)
            context = {
                "document_id": document.id,
                "document": "quarterly_report",
                "period": last.label,
                "report_url_path": f"/reports/?period={last.token}",
            }
            outbox = [
                queue_email(None, "quarterly_report", person, f"quarterly-report/{last.token}/{person.email.lower()}",
                            context)
                for person in business_managers(procedure, None)
            ]  # fmt: skip
    except IntegrityError:  # another consumer made it first
        return None
    wake_sender(outbox)
    log.info("quarterly report for %s made and queued to %d recipient(s)", last.token, len(outbox))
    return last.token
