"""The report's figures for a seeded set of cases with known outcomes, the page, its CSVs and its PDF."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import time_machine
from pypdf import PdfReader

from portal import pdf as pdf_module
from portal.case_actions import Actor
from portal.db import database
from portal.learning import Lessons
from portal.models import ActionLink, Escalation, Event
from portal.reports import build_report, parse_period, percentile_90
from portal.workflow import contest, decide, resolve, withdraw
from tests import factories
from tests.conftest import WEASYPRINT_RENDER
from tests.web.conftest import sign_in, text_of_page, token

LONDON = dt.timezone(dt.timedelta(hours=1))  # BST, for the summer and October times below
GMT = dt.UTC
NOW = dt.datetime(2027, 1, 15, 12, 0, tzinfo=GMT)


def at(*args, tz=GMT) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


@pytest.fixture
def seeded(app, people):
    """Q4 2026 (across the clock change on 25 October and Christmas's bank holidays) and Q3 2026 (across the
    August bank holiday), each case through the workflow at its own time."""
    proc = factories.procedure()
    with app.app_context(), database.connection_context():
        raiser, theirs = people["raiser"], people["theirs"]
        health = factories.agency("NHS Trust", "health")
        me = Actor.of(raiser)

        def raised(when, about=theirs, **overrides):
            return factories.escalation(raiser, about, when, **overrides)

        # A: imminent risk (stage 1 due the same day), resolved Tue 27 Oct: Fri, Mon, Tue = 3 working days, late.
        a = raised(at(2026, 10, 22, 10, tz=LONDON), imminent_risk=True, categories=["thresholds", "communication"])
        lessons = Lessons("Agree the chair first.", "Threshold document", "Silent on disagreements.", True)
        resolve(proc, a, me, "Agreed a joint visit.", lessons, at(2026, 10, 27, 11))
        # B: Wed 23 Dec to Thu 31 Dec: Thu 24, (25 and 28 are bank holidays) Tue 29, Wed 30, Thu 31 = 4.
        b = raised(at(2026, 12, 23, 10))
        resolve(proc, b, me, "Agreed an assessment.", "", at(2026, 12, 31, 10))
        # C: resolved at stage 1, contested, then resolved at stage 2 after its deadline (Thu 12 Nov): 10 days.
        c = raised(at(2026, 11, 2, 10), categories=["assessment"], child_on_plan=True)
        resolve(proc, c, me, "Agreed at first.", "", at(2026, 11, 4, 10))
        link = ActionLink.get((ActionLink.escalation == c) & (ActionLink.action == "contest"))
        contest(proc, c, Actor.via_link(link), "Not resolved for the police.", at(2026, 11, 5, 10))
        c = Escalation.get_by_id(c.id)
        resolve(proc, c, factories.acting(c, "resolve"), "Agreed now.", "", at(2026, 11, 16, 10))
        # D: about a third agency, withdrawn.
        d = raised(at(2026, 11, 3, 10), about=health)
        withdraw(proc, d, me, "New information came to light.", at(2026, 11, 5, 10))
        # E: still open, past its stage-1 deadline (Tue 8 Dec).
        raised(at(2026, 12, 1, 10))
        # F: a specific circumstance goes straight to stage 3; decided Fri 13 Nov: 4 working days.
        f = raised(at(2026, 11, 9, 10), specific_circumstance="media_attention")
        decide(proc, f, factories.acting(f, "decide"), "The partnership decided.", at(2026, 11, 13, 10), "Brief early.")
        # The previous quarter: G across the August bank holiday (Fri 28, Tue 1, Wed 2 = 3), H withdrawn.
        g = raised(at(2026, 8, 27, 10, tz=LONDON))
        resolve(proc, g, me, "Agreed.", "", at(2026, 9, 2, 10, tz=LONDON))
        h = raised(at(2026, 7, 6, 10, tz=LONDON))
        withdraw(proc, h, me, "Resolved informally.", at(2026, 7, 7, 10, tz=LONDON))
    return proc


@pytest.mark.both_engines
def test_the_seeded_quarter_gives_the_exact_figures(app, seeded):
    with app.app_context(), database.connection_context():
        report = build_report(seeded, parse_period("2026-Q4"), NOW)
    now, before = report.current, report.previous
    assert (now.raised, now.resolved_by_stage, now.withdrawn, now.still_open) == (6, [2, 1, 1], 1, 1)
    assert sorted(now.all_days) == [3, 4, 4, 10]
    assert now.days_by_stage == [[3, 4], [10], [4]]
    summary = {label: (cur, prev) for label, cur, prev in report.summary()}
    assert summary["Median working days to resolution"] == ("4", "3")
    assert summary["90th percentile working days to resolution"] == ("10", "3")
    assert [s["median"] for s in report.stages()] == [("3.5", "3"), ("10", "none"), ("4", "none")]
    assert [s["p90"][0] for s in report.stages()] == ["4", "10", "4"]
    # Stage deadlines that fell in the quarter: A (same day) and E (open) missed at stage 1; C's stage 2 missed.
    assert now.overdue_by_stage == [(2, 4), (1, 1), (0, 1)]
    assert now.categories == {"thresholds": 5, "communication": 1, "assessment": 1}
    assert now.matrix == {("Children's Social Care", "Police"): 5, ("Children's Social Care", "NHS Trust"): 1}
    assert (now.imminent_risk, now.specific_circumstance, now.plan_or_looked_after, now.reopened) == (1, 1, 1, 1)
    assert (now.learning_count, now.policy_gaps, now.debriefs) == (2, 1, 1)
    assert [lesson["points"] for lesson in now.learning] == ["Agree the chair first.", "Brief early."]
    assert (before.period.label, before.raised, before.resolved_by_stage, before.withdrawn) == (
        "July to September 2026",
        2,
        [1, 0, 0],
        1,
    )
    assert (before.all_days, before.still_open) == ([3], 0)


def test_periods_and_the_90th_percentile():
    assert parse_period("FY2026").label == "Financial year 2026 to 2027 (April to March)"
    assert parse_period("FY2026").previous().token == "FY2025"
    assert parse_period("2026-Q1").previous().token == "2025-Q4"
    span = parse_period("2026-03-01..2026-03-10")
    assert (span.previous().start, span.previous().end) == (dt.date(2026, 2, 19), dt.date(2026, 2, 28))
    assert span.ends_at == dt.datetime(2026, 3, 11, 0, 0, tzinfo=GMT)
    assert parse_period("2026-Q3").starts_at == dt.datetime(2026, 6, 30, 23, 0, tzinfo=GMT)  # midnight BST
    assert [percentile_90(list(range(1, n + 1))) for n in (1, 9, 10, 11)] == [1, 9, 9, 10]


def page_figures(html: str) -> dict[str, tuple[str, str]]:
    rows = re.findall(
        r'<th scope="row" class="govuk-table__header">([^<]+)</th>\s*'
        r'<td class="govuk-table__cell govuk-table__cell--numeric">([^<]+)</td>\s*'
        r'<td class="govuk-table__cell govuk-table__cell--numeric">([^<]+)</td>',
        html,
    )
    return {label.replace("&#39;", "'"): (cur, prev) for label, cur, prev in rows}


def test_page_csv_and_pdf_carry_the_same_figures(client, people, seeded):
    with time_machine.travel(NOW, tick=False):
        sign_in(client, people["manager"])
        response = client.get("/reports/?period=2026-Q4")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        shown = page_figures(html)
        assert shown["Escalations raised"] == ("6", "2")
        assert shown["Median working days to resolution"] == ("4", "3")
        assert html.count('role="img" aria-labelledby="chart-') == 4
        figures_csv = client.get("/reports/figures.csv?period=2026-Q4").get_data(as_text=True)
        figures = list(csv.reader(io.StringIO(figures_csv)))
        from_csv = {row[1]: (row[2], row[3]) for row in figures[1:] if row[0] == "Summary"}
        summary = {label: values for label, values in shown.items() if label in from_csv}
        assert len(summary) == len(from_csv) == 17 and summary == from_csv  # every summary row, on both
        assert ["Raised by agency about agency", "Children's Social Care about Police", "5", ""] in figures
        pdf = client.get("/reports/report.pdf?period=2026-Q4")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
        assert PdfReader(io.BytesIO(pdf.data)).metadata.title == "Escalations report: October to December 2026"


def test_the_pdf_reads_back_with_the_page_figures(client, people, seeded, monkeypatch):
    monkeypatch.setattr(pdf_module, "render", WEASYPRINT_RENDER)  # the cases' own records stood in while seeding
    with time_machine.travel(NOW, tick=False):
        sign_in(client, people["manager"])
        shown = page_figures(client.get("/reports/?period=2026-Q4").get_data(as_text=True))
        pdf = client.get("/reports/report.pdf?period=2026-Q4").data
    text = " ".join("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    for label, (current, previous) in shown.items():
        assert f"{label} {current} {previous}" in text, label
    assert "Agree the chair first." in text and "Gap or weakness in Threshold document" in text
    assert "Children's Social Care 1 5" in text  # the matrix row: NHS Trust, Police


def test_the_case_list_names_children_only_when_asked_and_records_it(client, people, seeded):
    url = "/reports/cases.csv?period=2026-Q4"
    with time_machine.travel(NOW, tick=False):
        sign_in(client, people["manager"])
        csrf = token(client, "/reports/?period=2026-Q4")
        plain = list(csv.reader(io.StringIO(client.post(url, data={"csrf_token": csrf}).get_data(as_text=True))))
        assert len(plain) == 7 and "Child's name" not in plain[0]
        assert "Zzyzx Canaryson" not in str(plain)
        with database.connection_context():
            assert not Event.select().where(Event.kind == "exported").exists()
        named = client.post(url, data={"csrf_token": csrf, "children": "y"}).get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(named)))
        assert rows[0][-2:] == ["Child's name", "Date of birth"] and rows[1][-2:] == ["Zzyzx Canaryson", "2019-03-01"]
        with database.connection_context():
            assert Event.select().where(Event.kind == "exported").count() == 6
        page = text_of_page(client.get(f"/cases/{rows[1][0]}").get_data(as_text=True))
        assert "Child's details exported in the report's case list" in page


def test_only_the_business_manager_sees_reports(client, people):
    sign_in(client, people["raiser"])
    for url in ("/reports/", "/reports/figures.csv?period=2026-Q4", "/reports/report.pdf?period=2026-Q4"):
        assert client.get(url).status_code == 404


def test_bad_periods_are_explained(client, people):
    sign_in(client, people["manager"])
    bad = client.get("/reports/?start=31&start=2&start=2026&end=1&end=1&end=2026")
    assert bad.status_code == 400
    assert "The start date must be a real date" in bad.get_data(as_text=True)
    backwards = client.get("/reports/?start=2&start=2&start=2026&end=1&end=1&end=2026")
    assert "The end date must be the same as or after the start date" in backwards.get_data(as_text=True)
    assert client.get("/reports/?period=2026-Q9").status_code == 400
    assert client.get("/reports/figures.csv?period=nonsense").status_code == 404


def test_the_report_and_case_list_run_the_same_queries_however_many_cases(app, people, seeded):
    from portal.case_list import case_rows
    from tests.query_counter import count_queries

    period = parse_period("2026-Q4")
    with app.app_context(), database.connection_context():
        with count_queries() as before:
            build_report(seeded, period, NOW)
            case_rows(seeded, period, children=True)
        for day in (10, 11, 12):
            case = factories.escalation(people["raiser"], people["theirs"], at(2026, 11, day, 10))
            resolve(
                seeded, case, Actor.of(people["raiser"]), "Agreed.", Lessons("More.", "", "", True), at(2026, 11, 20)
            )
        with count_queries() as after:
            report = build_report(seeded, period, NOW)
            _, rows, _ = case_rows(seeded, period, children=True)
    assert (report.current.raised, len(rows)) == (9, 9)
    assert after.count == before.count, after.statements
