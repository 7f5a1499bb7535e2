"""The Business Manager's inbox: filters, search, sort, keyset pages, marks per Business Manager, bookmarks, and
nobody else ever sees it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from bs4 import BeautifulSoup

from portal.models import Agency, Document, Escalation, Event, Learning
from portal.pagination import PAGE_SIZE
from tests import factories
from tests.query_counter import count_queries
from tests.web.conftest import START, raise_case, sign_in, text_of_page, token

pytestmark = pytest.mark.both_engines  # filters, LIKE on keys, row-value comparisons and NULLs differ by engine

NOW = START  # a Tuesday, 10:00 in London: the clock is frozen there


def references(response) -> list[str]:
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return [a.get_text() for a in page.select("#results tbody th a")]


def link(response, rel: str) -> str | None:
    found = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(f'a[rel="{rel}"]')
    return found["href"] if found else None


def add_learning(app, reference: str, at=NOW, **values) -> int:
    """A learning item on the case, as a resolution would leave it (portal.learning.record_lessons)."""
    with app.app_context():
        case = Escalation.get(Escalation.reference == reference)
        event = Event.select().where(Event.escalation == case).order_by(Event.id).first()
        return Learning.create(escalation=case, event=event, stage_index=0, at=at, **values).id


def test_every_inbox_route_is_the_business_managers_alone(app, client, people):
    reference = raise_case(app, people)
    learning_id = add_learning(app, reference, points="Agree the threshold early.")
    with app.app_context():
        case_id = Escalation.get(Escalation.reference == reference).id
        document_id = Document.get(Document.status == "rendered").id
    urls = [
        "/inbox/",
        "/inbox/?status=open",
        "/inbox/documents",
        "/inbox/learning",
        "/inbox/learning?show=debrief",
        f"/inbox/review/case/{case_id}",
        f"/inbox/review/document/{document_id}",
        f"/inbox/review/learning/{learning_id}",
    ]
    for who in ("raiser", "stranger", "counterpart", "admin"):
        client = app.test_client()
        sign_in(client, people[who])
        for url in urls:
            assert client.get(url).status_code == 404, (who, url)
        for review in (f"/inbox/review/case/{case_id}", f"/inbox/review/learning/{learning_id}"):
            posted = client.post(review, data={"csrf_token": token(client, "/cases/"), "note": "x"})
            assert posted.status_code == 404, (who, review)
        assert "Inbox" not in text_of_page(client.get("/cases/").get_data(as_text=True))
    client = app.test_client()
    assert client.get("/inbox/").status_code == 302  # anonymous: to sign in
    sign_in(client, people["manager"])
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_filters_search_and_sort(app, manager, people):
    with app.app_context():
        other = Agency.create(name="Health Visiting", kind="health")
    plain = raise_case(app, people, NOW - dt.timedelta(days=20), child_name="Amira O'Brien")
    risky = raise_case(app, people, NOW - dt.timedelta(days=3), child_name="Ben Smith", imminent_risk=True)
    planned = raise_case(
        app, people, NOW - dt.timedelta(days=1), child_name="Cara Smithson", child_on_plan=True, categories=["roles"]
    )
    with app.app_context():
        Escalation.update(counterpart_agency=other).where(Escalation.reference == planned).execute()
        Escalation.update(status="closed").where(Escalation.reference == plain).execute()

    def found(query: str) -> set[str]:
        response = manager.get("/inbox/?" + query)
        assert response.status_code == 200, text_of_page(response.get_data(as_text=True))[:400]
        return set(references(response))

    assert found("") == {plain, risky, planned}
    assert found("status=open") == {risky, planned}
    assert found("status=closed&status=open") == {plain, risky, planned}
    assert found("show=imminent_risk") == {risky}
    assert found("show=on_plan") == {planned}
    assert found("category=roles") == {planned}
    assert found(f"agency={other.id}") == {planned}
    assert found(f"agency={people['ours'].id}") == {plain, risky, planned}  # the raiser's agency
    assert found("q=smith") == {risky, planned}  # surname prefix
    assert found("q=Smiths") == {planned}
    assert found("q=obri") == {plain}  # punctuation dropped
    assert found("q=amira+o") == {plain}  # the start of the full name
    assert found("q=mira") == set()  # a prefix, not anywhere in the name
    assert found(f"q={risky.lower()}") == {risky}
    assert found("q=ESC-") == {plain, risky, planned}
    assert found("raised_from=25&raised_from=11&raised_from=2026") == {risky, planned}
    assert found("raised_to=28&raised_to=11&raised_to=2026") == {plain, risky}
    assert found("show=imminent_risk&show=on_plan") == set()  # every filter narrows

    raised = references(manager.get("/inbox/?sort=raised"))
    assert raised == [planned, risky, plain]
    assert references(manager.get("/inbox/?sort=activity")) == [planned, risky, plain]
    with app.app_context():
        _record(Escalation.get(Escalation.reference == risky))
    assert references(manager.get("/inbox/?sort=activity")) == [risky, planned, plain]
    assert references(manager.get("/inbox/?sort=deadline&status=open")) == [risky, planned]


def _record(case, now=NOW):
    from portal.workflow import add_record

    add_record(factories.procedure(), case, factories.acting(case), "Spoke to the duty manager again.", now=now)


def test_overdue_and_due_this_week(app, manager, people):
    soon = raise_case(app, people, NOW)  # due in 5 working days: next Tuesday
    late = raise_case(app, people, NOW - dt.timedelta(days=14))
    with app.app_context():
        Escalation.update(due_at=NOW + dt.timedelta(days=2)).where(Escalation.reference == soon).execute()
    assert set(references(manager.get("/inbox/?show=overdue"))) == {late}
    assert set(references(manager.get("/inbox/?show=due_this_week"))) == {soon}
    assert "Overdue" in text_of_page(manager.get("/inbox/?show=overdue").get_data(as_text=True))


@pytest.mark.parametrize(
    "query",
    [
        "status=lost",
        "show=everything",
        "stage=9",
        "stage=abc",
        "agency=99999",
        "category=%3Cscript%3E",
        "sort=random",
        "raised_from=31&raised_from=2&raised_from=2026",
        "raised_from=1&raised_from=12&raised_from=26",
        "raised_from=2&raised_from=12&raised_from=2026&raised_to=1&raised_to=12&raised_to=2026",
        "q=" + "x" * 101,
    ],
)
def test_invalid_parameters_give_a_message_never_a_500(app, manager, query):
    response = manager.get("/inbox/?" + query)
    assert response.status_code == 400
    page = text_of_page(response.get_data(as_text=True))
    assert "There is a problem" in page and "Correct the filters" in page


def test_a_broken_page_link_shows_the_first_page(app, manager, people):
    reference = raise_case(app, people)
    for cursor in ("nonsense", "W10", "WyJhZnRlciIsWzEsMl1d", "!!!", "eyJ0IjoxfQ", "WyJhZnRlciIsW3sidCI6IngifSwxXV0"):
        for url in (
            "/inbox/?cursor=",
            "/inbox/documents?cursor=",
            "/inbox/learning?cursor=",
            "/admin/mail?cursor=",
            "/cases/?cursor=",
        ):
            response = manager.get(url + cursor)
            assert response.status_code == 200, (url, cursor)
            assert "That page link was not complete" in text_of_page(response.get_data(as_text=True)), (url, cursor)
        assert references(manager.get("/inbox/?cursor=" + cursor)) == [reference]


def test_keyset_pages_miss_nothing_and_repeat_nothing_while_cases_arrive(app, manager, people):
    total = PAGE_SIZE + 15
    raised = [raise_case(app, people, NOW - dt.timedelta(hours=total - n)) for n in range(total)]
    seen: list[str] = []
    response = manager.get("/inbox/?sort=raised")
    first = references(response)
    assert len(first) == PAGE_SIZE and link(response, "prev") is None
    seen += first
    # Two cases arrive (newest first: ahead of page one) before the reader goes on.
    arrived = [raise_case(app, people, NOW + dt.timedelta(minutes=n)) for n in (1, 2)]
    next_url = link(response, "next")
    assert "cursor=" in next_url and "sort=raised" in next_url
    response = manager.get(next_url)
    second = references(response)
    seen += second
    assert link(response, "next") is None
    assert sorted(seen) == sorted(raised) and len(seen) == len(set(seen))
    assert not set(arrived) & set(seen)
    back = references(manager.get(link(response, "prev")))
    assert back == first  # the page before the second is the first as it was read, the new cases ahead of it


def test_deadline_order_pages_across_equal_deadlines(app, manager, people):
    """Many cases share a deadline: the id breaks the tie, so no page boundary drops or repeats one."""
    raised = [raise_case(app, people, NOW) for _ in range(PAGE_SIZE + 3)]
    response = manager.get("/inbox/?status=open")
    seen = references(response) + references(manager.get(link(response, "next")))
    assert seen == sorted(raised)


def test_a_bookmarked_url_reproduces_the_view(app, manager, people):
    for n in range(3):
        raise_case(app, people, NOW - dt.timedelta(days=n), child_name=f"Dana Smith{n}", imminent_risk=n != 1)
    url = "/inbox/?q=smith&show=imminent_risk&sort=raised&status=open"
    first = manager.get(url)
    page = BeautifulSoup(first.get_data(as_text=True), "html.parser")
    assert page.select_one("form.portal-filter")["method"] == "get"
    assert page.select_one('input[name="q"]')["value"] == "smith"
    assert page.select_one('input[name="show"][value="imminent_risk"]').has_attr("checked")
    assert page.select_one('input[name="sort"][value="raised"]').has_attr("checked")
    tags = {a.get_text(" ", strip=True): a["href"] for a in page.select(".portal-filter__tag")}
    assert any("Imminent risk" in text for text in tags)
    removed = next(href for text, href in tags.items() if "Imminent risk" in text)
    assert "imminent_risk" not in removed and "q=smith" in removed
    assert len(references(manager.get(removed))) == 3
    again = factories_client_signed_in(app, people)
    assert references(again.get(url)) == references(first) and len(references(first)) == 2


def factories_client_signed_in(app, people):
    fresh = app.test_client()
    sign_in(fresh, people["manager"])
    return fresh


def test_marks_are_each_business_managers_own(app, clock, client, people):
    with app.app_context():
        second = factories.user("business_manager")
    reference = raise_case(app, people)
    with app.app_context():
        case_id = Escalation.get(Escalation.reference == reference).id
    sign_in(client, people["manager"])
    assert "Inbox (2 new)" in text_of_page(client.get("/cases/").get_data(as_text=True))  # the case and its PDF
    assert set(references(client.get("/inbox/?show=new"))) == {reference}
    client.get(f"/cases/{reference}")  # opening it marks it read
    assert references(client.get("/inbox/?show=new")) == []
    assert "Opened" in text_of_page(client.get("/inbox/").get_data(as_text=True))
    review = f"/inbox/review/case/{case_id}?back=/inbox/%3Fstatus%3Dopen"
    done = client.post(review, data={"csrf_token": token(client, review), "note": "Checked the plan with CSC."})
    assert done.status_code == 302 and done.location.endswith("/inbox/?status=open")
    page = text_of_page(client.get("/inbox/").get_data(as_text=True))
    assert "Reviewed" in page and f"{reference} is marked as reviewed" in page
    assert "Checked the plan with CSC." in text_of_page(client.get(review).get_data(as_text=True))

    other = app.test_client()
    sign_in(other, second)
    assert set(references(other.get("/inbox/?show=new"))) == {reference}  # still new to the second
    assert "Checked the plan" not in text_of_page(other.get(review).get_data(as_text=True))

    clock.shift(dt.timedelta(minutes=5))
    with app.app_context():
        _record(Escalation.get_by_id(case_id), now=None)  # activity after the review: new again
    assert set(references(client.get("/inbox/?show=new"))) == {reference}


def test_an_open_redirect_is_never_followed_after_review(app, manager, people):
    reference = raise_case(app, people)
    with app.app_context():
        case_id = Escalation.get(Escalation.reference == reference).id
    for back in ("https://evil.example/", "//evil.example/inbox/", "/inbox//evil.example"):
        url = f"/inbox/review/case/{case_id}?back={back}"
        done = manager.post(url, data={"csrf_token": token(manager, url)})
        assert done.location.endswith("/inbox/"), back


def test_documents_list_opens_each_pdf_and_marks_it(app, manager, people):
    reference = raise_case(app, people)
    response = manager.get("/inbox/documents")
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    row = page.select_one("tbody tr")
    assert reference in row.get_text() and "PDF," in row.get_text() and "New" in row.get_text()
    pdf = manager.get(row.select_one("th a")["href"])
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "Opened" in text_of_page(manager.get("/inbox/documents").get_data(as_text=True))


def test_review_note_too_long_keeps_what_was_typed(app, manager, people):
    reference = raise_case(app, people)
    with app.app_context():
        case_id = Escalation.get(Escalation.reference == reference).id
    url = f"/inbox/review/case/{case_id}"
    response = manager.post(url, data={"csrf_token": token(manager, url), "note": "n" * 2001})
    assert response.status_code == 400
    assert "Note must be 2,000 characters or fewer" in text_of_page(response.get_data(as_text=True))
    assert "n" * 2001 in response.get_data(as_text=True)


def test_the_inbox_runs_the_same_queries_for_5_cases_as_for_60(app, manager, people):
    def queries() -> int:
        with count_queries() as log:
            response = manager.get("/inbox/?sort=activity")
        assert response.status_code == 200
        return log.count

    for _ in range(5):
        raise_case(app, people)
    few = queries()
    for _ in range(55):
        raise_case(app, people)
    assert queries() == few
    with count_queries() as log:
        manager.get("/inbox/documents")
    documents_few = log.count
    assert documents_few < 15, log.statements


def test_dashboard_links_the_inbox_with_its_new_count(app, manager, people):
    raise_case(app, people)
    page = BeautifulSoup(manager.get("/cases/").get_data(as_text=True), "html.parser")
    inbox_links = [a for a in page.select('a[href="/inbox/"]') if re.search(r"\d+ new", a.get_text())]
    assert len(inbox_links) == 2  # the navigation and the dashboard


def learning_rows(response) -> list[str]:
    """Each row of the learning list as its text, whitespace collapsed."""
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return [row.get_text(" ", strip=True) for row in page.select("tbody tr")]


def test_the_learning_list_shows_each_item_and_filters_them(app, manager, people):
    reference = raise_case(app, people)
    long_points = "Agree the threshold at the strategy meeting. " * 20  # 900 characters: the list shows the start
    add_learning(
        app,
        reference,
        NOW - dt.timedelta(days=1),
        points=long_points,
        policy="Threshold document",
        policy_gap="It does not say who decides when two agencies disagree.",
        debrief=True,
    )
    add_learning(app, reference, NOW, points="Name the chair early.")
    response = manager.get("/inbox/learning")
    assert response.status_code == 200
    newest, older = learning_rows(response)
    assert newest.startswith(f"{reference} Stage 1: Practitioners")  # the stage named from the case's procedure
    assert "Name the chair early." in newest and "None found" in newest
    assert "Debrief recommended" not in newest and "New" in newest
    assert "Threshold document : It does not say who decides" in older and "Debrief recommended" in older
    assert "Agree the threshold" in older and long_points.strip() not in older and "..." in older
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.select_one("tbody th a")["href"] == f"/cases/{reference}"
    assert "Learning 2 new" in text_of_page(response.get_data(as_text=True))

    assert len(learning_rows(manager.get("/inbox/learning?show=policy_gap"))) == 1
    assert len(learning_rows(manager.get("/inbox/learning?show=debrief"))) == 1
    assert len(learning_rows(manager.get("/inbox/learning?show=debrief&show=policy_gap"))) == 1
    bad = manager.get("/inbox/learning?show=everything")
    assert bad.status_code == 400
    assert "Select what to show from the list" in text_of_page(bad.get_data(as_text=True))


def test_learning_marks_are_each_business_managers_own(app, clock, client, people):
    with app.app_context():
        second = factories.user("business_manager")
    reference = raise_case(app, people)
    learning_id = add_learning(app, reference, points="Name the chair early.", debrief=True)
    sign_in(client, people["manager"])
    assert "Inbox (3 new)" in text_of_page(client.get("/cases/").get_data(as_text=True))  # case, PDF, learning
    assert "New" in learning_rows(client.get("/inbox/learning"))[0]
    client.get(f"/cases/{reference}")  # the case page shows the learning in full: opening it marks it read
    assert "Opened" in learning_rows(client.get("/inbox/learning"))[0]
    assert "Inbox (1 new)" in text_of_page(client.get("/cases/").get_data(as_text=True))  # the PDF is left

    review = f"/inbox/review/learning/{learning_id}?back=/inbox/learning%3Fshow%3Ddebrief"
    form = text_of_page(client.get(review).get_data(as_text=True))
    assert f"Mark as reviewed: Learning from {reference}" in form and f"Open the case {reference}" in form
    done = client.post(review, data={"csrf_token": token(client, review), "note": "Debrief booked for 3 March."})
    assert done.status_code == 302 and done.location.endswith("/inbox/learning?show=debrief")
    listed = client.get("/inbox/learning?show=debrief")
    assert "Reviewed" in learning_rows(listed)[0]
    assert f"Learning from {reference} is marked as reviewed" in text_of_page(listed.get_data(as_text=True))
    assert "Debrief booked for 3 March." in text_of_page(client.get(review).get_data(as_text=True))

    other = app.test_client()
    sign_in(other, second)
    assert "New" in learning_rows(other.get("/inbox/learning"))[0]  # still new to the second Business Manager
    assert "Debrief booked" not in text_of_page(other.get(review).get_data(as_text=True))
    assert other.get("/inbox/review/learning/999999").status_code == 404


def test_learning_pages_miss_nothing_and_repeat_nothing(app, manager, people):
    reference = raise_case(app, people)
    total = PAGE_SIZE + 5
    for n in range(total):
        add_learning(app, reference, NOW - dt.timedelta(hours=n), points=f"Point {n:03d}")

    def points(response) -> list[str]:
        return re.findall(r"Point \d{3}", " ".join(learning_rows(response)))

    response = manager.get("/inbox/learning?show=")
    first = points(response)
    assert first == [f"Point {n:03d}" for n in range(PAGE_SIZE)] and link(response, "prev") is None
    add_learning(app, reference, NOW + dt.timedelta(minutes=1), points="Point 999")  # arrives ahead of page one
    response = manager.get(link(response, "next"))
    assert points(response) == [f"Point {n:03d}" for n in range(PAGE_SIZE, total)]
    assert link(response, "next") is None
    assert points(manager.get(link(response, "prev"))) == first


def test_the_learning_list_runs_the_same_queries_for_5_items_as_for_60(app, manager, people):
    cases = [raise_case(app, people) for _ in range(3)]

    def queries() -> int:
        with count_queries() as log:
            response = manager.get("/inbox/learning")
        assert response.status_code == 200
        return log.count

    for n in range(5):
        add_learning(app, cases[n % 3], NOW - dt.timedelta(minutes=n), points=f"Point {n}", policy_gap="A gap")
    few = queries()
    for n in range(5, 60):
        add_learning(app, cases[n % 3], NOW - dt.timedelta(minutes=n), points=f"Point {n}")
    assert queries() == few, few


def test_the_new_counts_are_counted_again_only_once_something_has_changed(app, manager, people):
    """They follow the data alone: a page with nothing changed since the last count reuses it."""

    def counted() -> tuple[bool, str]:
        with count_queries() as log:
            page = manager.get("/cases/").get_data(as_text=True)
        counting = any("COUNT" in statement and "inbox_mark" in statement for statement in log.statements)
        return counting, re.search(r"(\d+) new", page).group(1)

    raise_case(app, people)
    counting, new = counted()
    assert counting and int(new) > 0
    assert counted() == (False, new)
    raise_case(app, people)
    counting, newer = counted()
    assert counting and int(newer) > int(new)
