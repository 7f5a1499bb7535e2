"""Service status for the Business Manager and administrators: the reminder sweep's heartbeat, mail not delivered
after an hour, PDFs that failed, and a red banner on their pages when the sweep has not run for five minutes."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from portal.db import database
from portal.models import Document, Outbox, utcnow
from portal.reminders import sweep
from tests.web.conftest import START, sign_in, text_of_page

BANNER = "The reminder sweep has not run for over 5 minutes."


def banner(page: str) -> str:
    found = BeautifulSoup(page, "html.parser").select_one(".portal-notification-banner--alert")
    return " ".join(found.get_text().split()) if found else ""


def run_sweep(app) -> None:
    with app.app_context(), database.connection_context():
        sweep(utcnow())


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_the_banner_shows_once_the_sweep_has_missed_five_minutes(app, client, people, clock, role):
    run_sweep(app)  # at START
    sign_in(client, people[role])
    home = "/cases/" if role == "manager" else "/admin/"
    clock.shift(dt.timedelta(minutes=5))
    assert banner(client.get(home).get_data(as_text=True)) == ""  # exactly five minutes: not yet
    clock.shift(dt.timedelta(seconds=1))
    shown = banner(client.get(home).get_data(as_text=True))
    assert "Service problem" in shown and BANNER in shown and "See the service status" in shown
    assert 'role="alert"' in client.get(home).get_data(as_text=True)

    run_sweep(app)  # the sweep runs again: the banner goes
    assert banner(client.get(home).get_data(as_text=True)) == ""


def test_a_sweep_that_never_ran_is_late(client, people, clock):
    sign_in(client, people["manager"])
    page = client.get("/admin/status").get_data(as_text=True)
    assert BANNER in banner(page)
    assert "Reminder sweep last ran Stopped Never, on this database." in text_of_page(page)


def test_practitioners_see_no_banner_and_no_status_page(client, people, clock):
    sign_in(client, people["raiser"])
    page = client.get("/cases/").get_data(as_text=True)
    assert banner(page) == "" and "Service status" not in page
    assert client.get("/admin/status").status_code == 404


def test_the_status_page_is_for_signed_in_watchers_only(client, people):
    assert client.get("/admin/status").status_code == 302  # to sign in
    sign_in(client, people["stranger"])
    assert client.get("/admin/status").status_code == 404


@pytest.mark.both_engines
def test_the_status_page_shows_the_sweep_the_mail_and_the_failed_documents(app, client, people, case, clock):
    run_sweep(app)
    with database.connection_context():
        for minutes, status in ((90, "failed"), (75, "pending"), (30, "pending"), (120, "sent")):
            Outbox.create(
                idempotency_key=f"status-{minutes}",
                purpose="reminder",
                recipient_email="pat@agency.example",
                status=status,
                created_at=START - dt.timedelta(minutes=minutes),
            )
        for n in range(3):
            Document.create(escalation=case.id, kind="stage_record", stage_index=0, key=f"failed-{n}", status="failed")
    clock.shift(dt.timedelta(minutes=2))
    sign_in(client, people["manager"])
    nav = client.get("/cases/").get_data(as_text=True)
    assert 'href="/admin/status"' in nav
    page = client.get("/admin/status")
    assert page.status_code == 200
    text = text_of_page(page.get_data(as_text=True))
    assert "Reminder sweep last ran Working Tuesday 1 December 2026, 10:00am (2 minutes ago)." in text
    # 90 and 75 minutes old and not sent; 30 minutes is not yet an hour; the sent one is delivered
    assert "Mail not delivered after an hour 2 emails The oldest was written Tuesday 1 December 2026, 8:30am." in text
    assert "PDF records that failed 3 records" in text
    assert text.count(case.reference) == 3 and banner(page.get_data(as_text=True)) == ""


def test_all_is_well(app, client, people, clock):
    run_sweep(app)
    sign_in(client, people["admin"])
    text = text_of_page(client.get("/admin/status").get_data(as_text=True))
    assert "Mail not delivered after an hour Working None" in text and "PDF records that failed Working None" in text
