"""Every list pages the same way (portal/pagination.py): the practitioner's dashboard and the Sent mail page show
50 rows and link the next and previous pages, whatever the number of rows."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from portal.db import database
from portal.models import Escalation, Outbox
from portal.pagination import PAGE_SIZE
from tests.query_counter import count_queries
from tests.web.conftest import START, sign_in

pytestmark = pytest.mark.both_engines  # row-value comparisons and CASE ordering differ by engine


def rows_and_links(response) -> tuple[list[str], dict[str, str]]:
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    rows = [" ".join(th.get_text().split()) for th in page.select("tbody tr")]
    return rows, {a["rel"][0]: a["href"] for a in page.select("a[rel]") if a["rel"][0] in ("next", "prev")}


def many_cases(people, count: int, open_count: int) -> None:
    """Cases straight into the table (their workflow is not what is tested): the first `open_count` open."""
    with database.atomic():
        Escalation.insert_many(
            [
                {
                    "reference": f"ESC-2026-{n:04d}",
                    "procedure_id": "three-stage",
                    "child_name": f"Child {n}",
                    "raiser": people["raiser"].id,
                    "counterpart_agency": people["theirs"].id,  # named on each row: not loaded row by row
                    "status": "open" if n <= open_count else "closed",
                    "stage_started_at": START,
                    "due_at": START + dt.timedelta(hours=n % 7),
                    "created_at": START,
                    "last_activity_at": START,
                }
                for n in range(1, count + 1)
            ]
        ).execute()


def test_the_dashboard_pages_open_cases_first_by_deadline(app, client, people):
    with app.app_context():
        many_cases(people, PAGE_SIZE + 12, open_count=40)
    sign_in(client, people["raiser"])
    with count_queries() as first_log:
        first, links = rows_and_links(client.get("/cases/"))
    assert len(first) == PAGE_SIZE and set(links) == {"next"}
    second, links = rows_and_links(client.get(links["next"]))
    assert len(second) == 12 and set(links) == {"prev"}
    references = [row.split()[0] for row in first + second]
    assert len(set(references)) == PAGE_SIZE + 12
    with app.app_context():
        expected = [
            c.reference
            for c in Escalation.select().order_by(Escalation.status != "open", Escalation.due_at, Escalation.id)
        ]
    assert references == expected  # open first (40 of them), then by deadline, the id breaking ties
    back, _ = rows_and_links(client.get(links["prev"]))
    assert back == first
    assert first_log.count < 15, first_log.statements  # one page, one query for it: not one per case


def test_sent_mail_pages_newest_first(app, client, people):
    total = PAGE_SIZE * 2 + 3
    with app.app_context(), database.atomic():
        Outbox.insert_many(
            [
                {
                    "idempotency_key": f"k{n}",
                    "purpose": "reminder",
                    "recipient_email": f"person{n}@agency.example",
                    "status": "sent",
                    "created_at": START + dt.timedelta(minutes=n // 3),  # three at a time: ties broken by id
                }
                for n in range(total)
            ]
        ).execute()
    sign_in(client, people["admin"])
    seen: list[str] = []
    url = "/admin/mail"
    pages = 0
    while url:
        rows, links = rows_and_links(client.get(url))
        assert len(rows) <= PAGE_SIZE
        seen += rows
        url, pages = links.get("next"), pages + 1
    assert pages == 3
    recipients = [row.split("person")[1].split("@")[0] for row in seen]
    assert [int(n) for n in recipients] == list(range(total - 1, -1, -1))  # newest first, each once
