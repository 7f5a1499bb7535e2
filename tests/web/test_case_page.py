"""The case page stays light: a view is recorded at most once per person in ten minutes, the page lists one line
per person who opened it, and its query count does not grow with the case's events, views, stages or documents."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from portal.db import database
from portal.models import Document, Escalation, Event, InboxMark
from portal.workflow import Actor, add_record, escalate
from tests import factories
from tests.query_counter import count_queries
from tests.web.conftest import START, normalize_spaces, sign_in


def views_of(case) -> list[Event]:
    with database.connection_context():
        return list(Event.select().where((Event.escalation == case.id) & (Event.kind == "viewed")).order_by(Event.id))


def viewer_rows(page: str) -> list[list[str]]:
    """The cells of each row of 'Who has opened this case'."""
    table = BeautifulSoup(page, "html.parser").find("table", id="case-viewers")
    return [
        [normalize_spaces(cell.get_text()) for cell in row.find_all(["th", "td"])] for row in table.tbody.find_all("tr")
    ]


def test_a_view_is_recorded_once_per_person_in_ten_minutes(client, people, case, clock):
    sign_in(client, people["raiser"])
    for _ in range(5):
        assert client.get(f"/cases/{case.reference}").status_code == 200
    assert len(views_of(case)) == 1

    clock.shift(dt.timedelta(minutes=9, seconds=59))
    client.get(f"/cases/{case.reference}")
    assert len(views_of(case)) == 1  # still within ten minutes of the recorded view

    clock.shift(dt.timedelta(seconds=2))
    client.get(f"/cases/{case.reference}")
    views = views_of(case)
    assert len(views) == 2 and views[1].at - views[0].at == dt.timedelta(minutes=10, seconds=1)


def test_another_person_opening_the_case_is_recorded_at_once(client, people, case, clock):
    sign_in(client, people["raiser"])
    client.get(f"/cases/{case.reference}")
    client.post("/sign-out", data={"csrf_token": _token(client, f"/cases/{case.reference}")})
    sign_in(client, people["manager"])
    client.get(f"/cases/{case.reference}")
    assert [v.actor_id for v in views_of(case)] == [people["raiser"].id, people["manager"].id]


def _token(client, url):
    from tests.web.conftest import token

    return token(client, url)


def test_a_repeated_get_does_not_write(client, people, case, clock):
    sign_in(client, people["raiser"])
    client.get(f"/cases/{case.reference}")
    with count_queries() as log:
        client.get(f"/cases/{case.reference}")
    assert not _writes(log), _writes(log)


def _writes(log) -> list[str]:
    return [s for s in log.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def _read_at(user, case) -> dt.datetime | None:
    with database.connection_context():
        mark = InboxMark.get_or_none((InboxMark.user == user.id) & (InboxMark.item_id == case.id))
        return mark.read_at if mark else None


def test_the_business_managers_repeated_get_writes_its_mark_only_when_it_changes(app, client, people, clock):
    """Opening marks the case read; opening it again writes nothing until the case changes or 10 minutes pass,
    so "You last opened it" is never more than 10 minutes out."""
    with app.app_context():
        case = factories.escalation(people["raiser"], people["theirs"], START - dt.timedelta(days=1))
    manager = people["manager"]
    sign_in(client, manager)
    client.get(f"/cases/{case.reference}")
    assert _read_at(manager, case) == START

    clock.shift(dt.timedelta(minutes=9, seconds=59))
    with count_queries() as log:
        client.get(f"/cases/{case.reference}")
    assert not [s for s in _writes(log) if "inbox_mark" in s or '"event"' in s], _writes(log)
    assert _read_at(manager, case) == START

    clock.shift(dt.timedelta(seconds=2))
    client.get(f"/cases/{case.reference}")
    assert _read_at(manager, case) == START + dt.timedelta(minutes=10, seconds=1)

    clock.shift(dt.timedelta(minutes=1))
    with database.connection_context():
        fresh = Escalation.get_by_id(case.id)
        add_record(factories.procedure(), fresh, Actor.of(people["raiser"]), "A record that makes the case new again")
    client.get(f"/cases/{case.reference}")
    assert _read_at(manager, case) == START + dt.timedelta(minutes=11, seconds=1)


@pytest.mark.both_engines
def test_who_has_opened_the_case_is_one_line_per_person(client, people, case, clock):
    with database.connection_context():
        for minutes in (
            0,
            15,
            40,
        ):  # the raiser: three page views, 10:00 to 10:40 (London is on UTC in December)
            Event.create(
                escalation=case.id,
                kind="viewed",
                at=START + dt.timedelta(minutes=minutes),
                actor=people["raiser"].id,
                actor_email=people["raiser"].email,
            )
        Event.create(  # and a document they opened
            escalation=case.id,
            kind="viewed",
            at=START + dt.timedelta(minutes=16),
            actor=people["raiser"].id,
            actor_email=people["raiser"].email,
            data={"document": "escalation_notice"},
        )
        Event.create(  # a link recipient without an account
            escalation=case.id,
            kind="viewed",
            at=START + dt.timedelta(minutes=20),
            actor_email="sam.lead@agency.example",
            data={"actor_name": "Sam Lead", "via": "emailed link"},
        )
    clock.shift(dt.timedelta(hours=1))
    sign_in(client, people["manager"])
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    rows = viewer_rows(page)
    assert rows[0][0] == people["manager"].name and rows[0][3] == "1"  # the latest first: this very view
    day = "Tuesday 1 December 2026"
    assert rows[1:] == [
        [people["raiser"].name, f"{day}, 10:00am", f"{day}, 10:40am", "4", "1"],
        ["Sam Lead (sam.lead@agency.example), from an emailed link", f"{day}, 10:20am", f"{day}, 10:20am", "1", "0"],
    ]
    assert "Who has opened this case (3 people)" in normalize_spaces(BeautifulSoup(page, "html.parser").get_text())


def _grow(case, people, proc) -> None:
    """60 events by several people across two stages, 50 views, 5 documents (one failed, one pending)."""
    with database.connection_context():
        actors = [people["raiser"], people["counterpart"], people["manager"]]
        for n in range(29):
            add_record(proc, case, Actor.of(people["raiser"]), f"Record number {n} of the discussion.")
        escalate(proc, case, Actor.of(people["raiser"]), "Stage one did not resolve it.")
        for n in range(60 - Event.select().where((Event.escalation == case.id) & (Event.kind != "viewed")).count()):
            Event.create(escalation=case.id, kind="record", actor=actors[n % 3].id, text=f"Note {n} on the case.")
        for n in range(50):
            Event.create(
                escalation=case.id,
                kind="viewed",
                at=START - dt.timedelta(minutes=11 * (n + 1)),
                actor=actors[n % 3].id,
                actor_email=actors[n % 3].email,
            )
        for n, status in enumerate(("rendered", "rendered", "rendered", "failed", "pending")):
            Document.create(
                escalation=case.id,
                kind="stage_record",
                stage_index=0,
                key=f"bench-{case.id}-{n}",
                status=status,
                filename=f"record-{n}.pdf",
                content=b"%PDF-1.4 stand-in" if status == "rendered" else None,
            )


def test_the_case_page_runs_the_same_number_of_queries_however_big_the_case(client, app, people, clock):
    with app.app_context():
        small = factories.escalation(people["raiser"], people["theirs"], START - dt.timedelta(days=1))
        big = factories.escalation(people["raiser"], people["theirs"], START - dt.timedelta(days=1))
        _grow(big, people, factories.procedure())
    with database.connection_context():
        assert Event.select().where((Event.escalation == big.id) & (Event.kind != "viewed")).count() == 60
    sign_in(client, people["manager"])
    client.get("/cases/")  # where signing in lands: its page makes the session's CSRF secret
    counts = {}
    for name, case in (("small", small), ("big", big)):
        with count_queries() as log:
            response = client.get(f"/cases/{case.reference}")
        assert response.status_code == 200
        counts[name] = log
    page = client.get(f"/cases/{big.reference}").get_data(as_text=True)
    assert "Note 20 on the case." in page and "Record number 28 of the discussion." in page
    assert len(viewer_rows(page)) == 3
    assert counts["small"].count == counts["big"].count, "\n".join(counts["big"].statements)
