"""The Business Manager's inbox: every case, document and learning item, filtered from the query string, with their
own marks. Every route is the Business Manager's alone; anyone else gets 404, as if it were not there."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from forms.inbox import SHOW, SORTS, InboxFilterForm, LearningFilterForm, ReviewForm
from forms.raise_escalation import CATEGORIES
from portal import inbox
from portal.auth import role_required
from portal.data_version import data_version
from portal.models import Agency, Document, Escalation, InboxMark, Learning, utcnow
from portal.page_reuse import served_again
from portal.pagination import InvalidCursor, Page
from portal.prepared import Prepared
from portal.registry import registry
from portal.views.display import document_name, stage_name
from portal.views.errors import keeps_answers

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
business_manager_only = role_required("business_manager")
NOT_FILTERS = ("cursor", "submit")  # in the query string, but not a filter to show as a tag
DATE_PARTS = ("raised_from", "raised_to")
_AGENCIES = Prepared(lambda: Agency.select(Agency.id, Agency.name).order_by(Agency.name).tuples())  # every page


def _filter_form() -> InboxFilterForm:
    form = InboxFilterForm(formdata=request.args if request.args else None)
    form.stage.choices = [("", "Any stage")] + [(str(stage.index), stage.name) for stage in registry.current().stages]
    form.agency.choices = [("", "Any agency")] + [(str(id_), name) for id_, name in _AGENCIES.run()]
    return form


def _filters(form: InboxFilterForm) -> inbox.CaseFilters:
    return inbox.CaseFilters(
        statuses=tuple(form.status.data or ()),
        stage=int(form.stage.data) if form.stage.data else None,
        agency=int(form.agency.data) if form.agency.data else None,
        category=form.category.data or None,
        show=tuple(form.show.data or ()),
        raised_from=form.raised_from.data,
        raised_to=form.raised_to.data,
        search=form.q.data or "",
        sort=form.sort.data or "deadline",
    )


def _without(*pairs: tuple[str, str | None]) -> str:
    """This view's URL without the given filter values (a value of None: every value of that name), back on its
    first page."""
    args = MultiDict(request.args)
    for name in NOT_FILTERS:
        args.poplist(name)
    for name, value in pairs:
        kept = [] if value is None else [v for v in args.getlist(name) if v != value]
        args.setlist(name, kept)
    return url_for("inbox.cases", **args.to_dict(flat=False))


def _selected(form: InboxFilterForm) -> list[dict]:
    """The filters in force, as (label, what it removes to) for the removable tags."""
    chosen: list[dict] = []
    labels = {
        "status": dict(form.status.choices),
        "show": dict(SHOW),
        "stage": dict(form.stage.choices),
        "agency": dict(form.agency.choices),
        "category": dict(CATEGORIES),
    }
    titles = {"status": "Status", "show": "Show only", "stage": "Stage", "agency": "Agency", "category": "Category"}
    for name, names in labels.items():
        for value in request.args.getlist(name):
            if value and value in names:
                chosen.append({"heading": titles[name], "text": names[value], "href": _without((name, value))})
    for name in DATE_PARTS:
        date = getattr(form, name).data
        if date:
            label = getattr(form, name).label.text
            chosen.append({"heading": "Raised", "text": f"{label} {date:%-d %B %Y}", "href": _without((name, None))})
    if form.q.data and form.q.data.strip():
        chosen.append({"heading": "Search", "text": form.q.data.strip(), "href": _without(("q", None))})
    return chosen


def _page_url(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    args = MultiDict(request.args)
    args.poplist("submit")
    args.setlist("cursor", [cursor])
    return url_for(request.endpoint, **args.to_dict(flat=False))


def _read_page(read) -> tuple[Page, bool]:
    """The page the cursor names; the first page, and a message, when the cursor is not one this portal wrote."""
    try:
        return read(request.args.get("cursor") or None), False
    except InvalidCursor:
        return read(None), True


@bp.get("/")
@business_manager_only
def cases():
    return served_again(_cases)


def _cases():
    form = _filter_form()
    valid = not request.args or form.validate()
    now = utcnow()
    filters = _filters(form) if valid else inbox.CaseFilters()
    page, bad_cursor = _read_page(lambda cursor: inbox.cases_page(filters, current_user, cursor, now))
    procedures = registry.of_cases(page.rows)
    rows = [
        {
            "case": case,
            "stage": stage_name(procedures[case.id], case.stage_index),
            "state": inbox.state(case, case.last_activity_at),
            "overdue": case.status == "open" and case.due_at is not None and case.due_at < now,
        }
        for case in page.rows
    ]
    return render_template(
        "inbox/cases.html",
        form=form,
        valid=valid,
        rows=rows,
        selected=_selected(form) if valid else [],
        clear_url=url_for("inbox.cases", sort=form.sort.data) if valid else url_for("inbox.cases"),
        next_url=_page_url(page.next_cursor),
        prev_url=_page_url(page.prev_cursor),
        bad_cursor=bad_cursor,
        sort_name=dict(SORTS).get(filters.sort, ""),
        counts=new_counts(),
    ), 200 if valid else 400


@bp.get("/documents")
@business_manager_only
def documents():
    return served_again(_documents)


def _documents():
    page, bad_cursor = _read_page(lambda cursor: inbox.documents_page(current_user, cursor))
    rows = [{"document": d, "name": document_name(d.kind), "state": inbox.state(d, d.created_at)} for d in page.rows]
    return render_template(
        "inbox/documents.html",
        rows=rows,
        next_url=_page_url(page.next_cursor),
        prev_url=_page_url(page.prev_cursor),
        bad_cursor=bad_cursor,
        counts=new_counts(),
    )


@bp.get("/learning")
@business_manager_only
def learning():
    return served_again(_learning)


def _learning():
    form = LearningFilterForm(formdata=request.args if request.args else None)
    valid = not request.args or form.validate()
    show = tuple(form.show.data or ()) if valid else ()
    page, bad_cursor = _read_page(lambda cursor: inbox.learning_page(current_user, cursor, show))
    procedures = registry.of_cases([lesson.escalation for lesson in page.rows])
    rows = [
        {
            "lesson": lesson,
            "stage": stage_name(procedures[lesson.escalation.id], lesson.stage_index),
            "state": inbox.state(lesson, lesson.at),
        }
        for lesson in page.rows
    ]
    return render_template(
        "inbox/learning.html",
        form=form,
        valid=valid,
        filtered=bool(show),
        rows=rows,
        excerpt=inbox.EXCERPT,
        next_url=_page_url(page.next_cursor),
        prev_url=_page_url(page.prev_cursor),
        bad_cursor=bad_cursor,
        counts=new_counts(),
    ), 200 if valid else 400


def _item(kind: str, item_id: int):
    """The case, rendered document or learning item under review, with what the page says about it."""
    if kind == "case":
        case = Escalation.get_or_none(Escalation.id == item_id)
        if case is None:
            abort(404)
        return case, f"{case.reference}", url_for("cases.case", reference=case.reference)
    if kind == "document":
        document = (
            Document.select(Document.id, Document.kind, Document.escalation, Escalation.reference)
            .join(Escalation)
            .where((Document.id == item_id) & (Document.status == "rendered"))
            .first()
        )
        if document is None:
            abort(404)
        reference = document.escalation.reference
        href = url_for("cases.document", reference=reference, document_id=document.id)
        return document, f"{document_name(document.kind)}, {reference}", href
    if kind == "learning":
        lesson = (
            Learning.select(Learning.id, Learning.escalation, Escalation.reference)
            .join(Escalation)
            .where(Learning.id == item_id)
            .first()
        )
        if lesson is None:
            abort(404)
        reference = lesson.escalation.reference
        return lesson, f"Learning from {reference}", url_for("cases.case", reference=reference)
    abort(404)


@bp.route("/review/<any(case, document, learning):kind>/<int:item_id>", methods=["GET", "POST"])
@business_manager_only
@keeps_answers
def review(kind: str, item_id: int):
    item, title, href = _item(kind, item_id)
    form = ReviewForm()
    if form.validate_on_submit():
        inbox.mark_reviewed(current_user, kind, item.id, form.note.data or "")
        flash(f"{title} is marked as reviewed.")
        return redirect(request.args.get("back") if _is_inbox_url(request.args.get("back")) else url_for("inbox.cases"))
    mark: InboxMark | None = inbox.mark_of(current_user, kind, item.id)
    return render_template(
        "inbox/review.html", form=form, kind=kind, item=item, title=title, href=href, mark=mark
    ), 400 if form.errors else 200


def _is_inbox_url(url: str | None) -> bool:
    """Only back to one of the inbox's own lists: never an address someone put in the link."""
    return bool(url) and url.startswith("/inbox/") and "//" not in url and "\\" not in url


def new_counts() -> dict[str, int]:
    """This request's new counts, counted once for the navigation and the page, and counted again only once the
    data version has moved: they follow the data alone, and with every case opened the count reads them all
    (docs/inbox.md, "New counts")."""
    if "inbox_new_counts" not in g:
        known: dict[int, tuple[str, dict]] = current_app.extensions.setdefault("inbox_new_counts", {})
        version = data_version()  # before the counts, as a served-again page's key is read before its rows
        counted = known.get(current_user.id)
        if counted is None or counted[0] != version:
            counted = known[current_user.id] = (version, inbox.new_counts(current_user))
        g.inbox_new_counts = counted[1]
    return g.inbox_new_counts


def new_count_text(count: int) -> str:
    return f"{inbox.NEW_COUNT_CAP}+ new" if count > inbox.NEW_COUNT_CAP else f"{count} new"


def init_inbox(app) -> None:
    """`inbox_new()` for the navigation and the dashboard: counted only where a Business Manager's page asks."""
    app.jinja_env.globals["new_count_text"] = new_count_text

    @app.context_processor
    def _inbox_new() -> dict:
        def inbox_new() -> int:
            counts = new_counts()
            return counts["cases"] + counts["documents"] + counts["learning"]

        return {"inbox_new": inbox_new}
