"""The quarterly report: made and mailed once at 09:00 on the quarter's first working day, never again after a
restart (time-machine moves the clock; real SMTP on loopback)."""

from __future__ import annotations

import datetime as dt
import io

import time_machine
from pypdf import PdfReader

from portal import mail
from portal.db import database
from portal.models import Contact, Outbox, QuarterlyReport
from tests import factories
from tests.conftest import test_app

UTC = dt.UTC


def tick(app, when: dt.datetime) -> None:
    """One minute of the schedule consumer: the quarterly task as huey runs it, at `when`."""
    from tasks.reports import ask_for_quarterly_report

    with time_machine.travel(when, tick=False), app.app_context(), database.connection_context():
        ask_for_quarterly_report.call_local()


def sent(smtp_server) -> list:
    return [m for m in smtp_server.messages if m["Subject"].startswith("Quarterly report on escalations")]


def send_due(app, when: dt.datetime) -> None:
    with time_machine.travel(when, tick=False), app.app_context(), database.connection_context():
        for outbox_id in mail.due_for_sending():
            mail.send_outbox_row(outbox_id, app)


def test_the_quarter_that_starts_on_a_bank_holiday_reports_on_the_next_working_day_once(
    app, people, smtp_server, database_url, tmp_path
):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST=smtp_server.host, SMTP_PORT=smtp_server.port, SMTP_TIMEOUT=5.0)
    mail.set_waker(None)
    with app.app_context(), database.connection_context():
        factories.escalation(people["raiser"], people["theirs"], dt.datetime(2026, 11, 10, 10, tzinfo=UTC))
        Contact.update(secure=True).where(Contact.role == "business_manager").execute()
    # 1 January 2027 is New Year's Day (a Friday): the report waits for Monday 4 January, 09:00 (GMT).
    for moment in (dt.datetime(2027, 1, 1, 9, 30, tzinfo=UTC), dt.datetime(2027, 1, 4, 8, 59, tzinfo=UTC)):
        tick(app, moment)
        with app.app_context(), database.connection_context():
            assert not QuarterlyReport.select().exists(), moment
    tick(app, dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    tick(app, dt.datetime(2027, 1, 4, 9, 1, tzinfo=UTC))
    send_due(app, dt.datetime(2027, 1, 4, 9, 2, tzinfo=UTC))
    (message,) = sent(smtp_server)
    assert "October to December 2026" in message.get_body(("plain",)).get_content()
    (attachment,) = list(message.iter_attachments())
    pdf = PdfReader(io.BytesIO(attachment.get_content()))
    assert pdf.metadata.title == "Escalations report: October to December 2026"
    # A restarted consumer is a new process with a new app: the quarter's row stops it.
    restarted = test_app(database_url, tmp_path / "restarted", MAIL_BACKEND="smtp", SMTP_HOST=smtp_server.host,
                         SMTP_PORT=smtp_server.port)  # fmt: skip
    mail.set_waker(None)
    tick(restarted, dt.datetime(2027, 1, 4, 11, 0, tzinfo=UTC))
    tick(restarted, dt.datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    send_due(restarted, dt.datetime(2027, 2, 1, 9, 1, tzinfo=UTC))
    assert len(sent(smtp_server)) == 1
    with restarted.app_context(), database.connection_context():
        assert [r.quarter for r in QuarterlyReport.select()] == ["2026-Q4"]
        assert Outbox.select().where(Outbox.purpose == "quarterly_report").count() == 1


def test_in_summer_time_it_is_09_00_london_and_an_address_not_secure_gets_a_link(app, people, smtp_server):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST=smtp_server.host, SMTP_PORT=smtp_server.port, SMTP_TIMEOUT=5.0)
    mail.set_waker(None)
    tick(app, dt.datetime(2027, 7, 1, 7, 59, tzinfo=UTC))
    send_due(app, dt.datetime(2027, 7, 1, 7, 59, 30, tzinfo=UTC))
    assert sent(smtp_server) == []
    tick(app, dt.datetime(2027, 7, 1, 8, 0, tzinfo=UTC))  # 09:00 BST
    send_due(app, dt.datetime(2027, 7, 1, 8, 1, tzinfo=UTC))
    (message,) = sent(smtp_server)
    assert list(message.iter_attachments()) == []
    body = message.get_body(("plain",)).get_content()
    assert "April to June 2027" in body and "/reports/?period=2027-Q2" in body
