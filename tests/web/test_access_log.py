"""The access log: the Business Manager lists and downloads views of cases by case, person and period."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from portal.db import database
from portal.models import Escalation, User
from portal.workflow import Actor, record_view
from tests import factories
from tests.web.conftest import START, sign_in, text_of_page

pytestmark = pytest.mark.both_engines


@pytest.fixture
def viewed(app, people, case, clock):
    """The raiser looks twice on 1 December, the counterpart on 2 December, through the case page."""
    for who, hours in (("raiser", 0), ("raiser", 1), ("counterpart", 24)):  # views 10 minutes apart count once
        clock.move_to(START + dt.timedelta(hours=hours))
        sign_in(client := app.test_client(), people[who])
        assert client.get(f"/cases/{case.reference}").status_code == 200
    with app.app_context(), database.connection_context():
        other = factories.escalation(people["raiser"], people["theirs"], START)
        record_view(other, Actor.of(people["raiser"]), now=START)
    return other


def _csv(response) -> list[dict]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_business_manager_lists_views_per_case_person_and_period(client, people, case, viewed):
    sign_in(client, people["manager"])

    by_case = text_of_page(client.get(f"/governance/access-log?reference={case.reference.lower()}").get_data(True))
    assert by_case.count(case.reference) == 3 and viewed.reference not in by_case
    by_person = client.get(f"/governance/access-log?person={people['counterpart'].email}").get_data(as_text=True)
    assert text_of_page(by_person).count(case.reference) == 1 and people["counterpart"].name in by_person
    second = client.get("/governance/access-log?start=2&start=12&start=2026").get_data(as_text=True)
    assert people["counterpart"].name in second and people["raiser"].name not in second

    rows = _csv(client.get(f"/governance/access-log.csv?reference={case.reference}"))
    assert [(r["reference"], r["email"], r["role"]) for r in rows] == [
        (case.reference, people["counterpart"].email, "practitioner"),
        (case.reference, people["raiser"].email, "practitioner"),
        (case.reference, people["raiser"].email, "practitioner"),
    ]
    assert rows[0]["viewed_at"] == "2026-12-02T10:00:00+00:00"
    period = _csv(client.get("/governance/access-log.csv?end=1&end=12&end=2026"))
    assert len(period) == 3 and {r["reference"] for r in period} == {case.reference, viewed.reference}


def test_a_name_a_spreadsheet_would_run_is_written_as_text(app, client, people, case, viewed):
    with app.app_context(), database.connection_context():
        User.update(name='=HYPERLINK("http://evil.example")').where(User.id == people["raiser"].id).execute()
    sign_in(client, people["manager"])

    rows = _csv(client.get(f"/governance/access-log.csv?person={people['raiser'].email}"))

    assert rows and all(r["name"] == '\'=HYPERLINK("http://evil.example")' for r in rows)


def test_views_come_a_page_at_a_time(app, client, people, case, clock):
    with app.app_context(), database.connection_context():
        for minute in range(60):
            record_view(
                Escalation.get_by_id(case.id), Actor.of(people["raiser"]), now=START + dt.timedelta(minutes=11 * minute)
            )
    sign_in(client, people["manager"])

    first = client.get(f"/governance/access-log?reference={case.reference}").get_data(as_text=True)
    assert first.count('class="govuk-table__row"') == 51  # the header and 50 views
    older = re.search(r'href="([^"]+before=\d+[^"]*)" rel="next"', first).group(1).replace("&amp;", "&")
    rest = client.get(older).get_data(as_text=True)
    assert rest.count('class="govuk-table__row"') == 11 and 'rel="next"' not in rest
    assert len(_csv(client.get(f"/governance/access-log.csv?reference={case.reference}"))) == 60


def test_bad_filters_say_what_to_change_and_keep_what_was_typed(client, people, viewed):
    sign_in(client, people["manager"])

    response = client.get(
        "/governance/access-log?person=not-an-address&start=5&start=12&start=2026&end=1&end=12&end=2026"
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "There is a problem" in page
    assert "To must be the same as or after From" in page and 'value="not-an-address"' in page
    assert client.get("/governance/access-log.csv?start=40&start=1&start=2026").status_code == 400


@pytest.mark.parametrize("role", ["raiser", "admin", "counterpart"])
def test_only_the_business_manager_sees_the_access_log(client, people, role):
    sign_in(client, people[role])
    for url in ("/governance/", "/governance/access-log", "/governance/access-log.csv"):
        assert client.get(url).status_code == 404
