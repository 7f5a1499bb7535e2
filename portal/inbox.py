"""The Business Manager's inbox: every case, document and learning item of the partnership, filtered, searched and
sorted as the query string says, with each Business Manager's own new / opened / reviewed marks.

Plain Python (no Flask): the view turns the query string into `CaseFilters`; this builds the queries. Every list
is one query for its page (marks and agencies joined, never fetched per row), read a page at a time
(portal.pagination)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN, SQL, Select, Value, fn

from portal.db import database
from portal.models import Agency, Document, Escalation, InboxMark, Learning, User, utcnow
from portal.name_search import name_key, starts_with
from portal.pagination import Order, Page, paginate
from portal.prepared import Prepared, Slot
from portal.viewers import VIEW_EVERY
from portal.workdays import LONDON, london

NEW_COUNT_CAP = 99  # the navigation says "99+" beyond: counting further would read every case on every page
SORTS = {
    "deadline": Order((("due_at", Escalation.due_at), ("id", Escalation.id))),
    "raised": Order((("created_at", Escalation.created_at), ("id", Escalation.id)), descending=True),
    "activity": Order((("last_activity_at", Escalation.last_activity_at), ("id", Escalation.id)), descending=True),
}
DOCUMENT_ORDER = Order((("created_at", Document.created_at), ("id", Document.id)), descending=True)
LEARNING_ORDER = Order((("at", Learning.at), ("id", Learning.id)), descending=True)
LEARNING_SHOW = ("policy_gap", "debrief")
# What a list row shows (and its keyset and procedure): reading all 49 columns of a case was a third of the page.
LIST_COLUMNS = (
    Escalation.id,
    Escalation.reference,
    Escalation.procedure_id,
    Escalation.procedure_version,
    Escalation.status,
    Escalation.subject,
    Escalation.child_name,
    Escalation.imminent_risk,
    Escalation.specific_circumstance,
    Escalation.stage_index,
    Escalation.due_at,
    Escalation.created_at,
    Escalation.last_activity_at,
    Escalation.counterpart_agency_other,
)
EXCERPT = 300  # characters of learning points and policy gap a list row reads: up to 10,000 each are stored


@dataclass(frozen=True)
class CaseFilters:
    statuses: tuple[str, ...] = ()
    stage: int | None = None
    agency: int | None = None
    category: str | None = None
    show: tuple[str, ...] = ()  # new, overdue, due_this_week, imminent_risk, specific_circumstance, on_plan
    raised_from: dt.date | None = None
    raised_to: dt.date | None = None
    search: str = ""
    sort: str = "deadline"


def _is_new(model, kind: str, user_id, changed_at):
    """No mark of this user's opened since the item last changed. A correlated NOT EXISTS, read through the marks'
    unique index one row at a time: a join lets SQLite build a Bloom filter over every mark for each page."""
    seen = InboxMark.select(InboxMark.id).where(
        (InboxMark.user == user_id)
        & (InboxMark.kind == kind)
        & (InboxMark.item_id == model.id)
        & (InboxMark.read_at >= changed_at)
    )
    return ~fn.EXISTS(seen)


def _with_marks(page: Page, kind: str, user: User) -> Page:
    """This user's marks on the page's rows, in one query, as `read_at` and `reviewed_at` on each row."""
    ids = [row.id for row in page.rows]
    marks = {
        item_id: (read_at, reviewed_at)
        for item_id, read_at, reviewed_at in InboxMark.select(
            InboxMark.item_id, InboxMark.read_at, InboxMark.reviewed_at
        )
        .where((InboxMark.user == user.id) & (InboxMark.kind == kind) & InboxMark.item_id.in_(ids or [0]))
        .tuples()
    }
    for row in page.rows:
        row.read_at, row.reviewed_at = marks.get(row.id, (None, None))
    return page


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LONDON).astimezone(dt.UTC)


def end_of_week(now: dt.datetime) -> dt.datetime:
    """Midnight at the end of this Sunday, London time."""
    today = london(now).date()
    return _day_start(today + dt.timedelta(days=7 - today.weekday()))


def _search(term: str):
    """A reference (whole or its start), or the start of the child's first name, full name or surname."""
    term = term.strip()
    if term.upper().startswith("ESC-"):
        return starts_with(Escalation.reference, term.upper())  # a range of the unique index, not a LIKE scan
    key = name_key(term)
    if not key:
        return Escalation.id.is_null()  # nothing searchable typed: nothing matches
    return starts_with(Escalation.child_name_key, key) | starts_with(Escalation.child_surname_key, key)


def case_query(filters: CaseFilters, user: User, now: dt.datetime):
    raiser_agency, counterpart_agency = Agency.alias("raiser_agency"), Agency.alias("counterpart_agency")
    query = Escalation.select(
        *LIST_COLUMNS,
        raiser_agency.name.alias("raiser_agency_name"),
        counterpart_agency.name.alias("counterpart_listed_name"),
    )
    query = query.join_from(Escalation, raiser_agency, JOIN.LEFT_OUTER, on=Escalation.raiser_agency == raiser_agency.id)
    query = query.join_from(
        Escalation, counterpart_agency, JOIN.LEFT_OUTER, on=Escalation.counterpart_agency == counterpart_agency.id
    )
    conditions = []
    if filters.statuses:
        conditions.append(Escalation.status.in_(filters.statuses))
    if filters.stage is not None:
        conditions.append(Escalation.stage_index == filters.stage)
    if filters.agency is not None:
        conditions.append(
            (Escalation.raiser_agency == filters.agency) | (Escalation.counterpart_agency == filters.agency)
        )
    if filters.category:
        # The JSON text of the list holds the key in quotes; Value(converter=False): the pattern is not JSON itself
        conditions.append(Escalation.categories ** Value(f'%"{filters.category}"%', converter=False))
    show = set(filters.show)
    if "new" in show:
        conditions.append(_is_new(Escalation, "case", user.id, Escalation.last_activity_at))
    if "overdue" in show:
        conditions.append((Escalation.status == "open") & (Escalation.due_at < now))
    if "due_this_week" in show:
        conditions.append(
            (Escalation.status == "open") & (Escalation.due_at >= now) & (Escalation.due_at < end_of_week(now))
        )
    if "imminent_risk" in show:
        conditions.append(Escalation.imminent_risk == True)  # noqa: E712 (SQL, not Python)
    if "specific_circumstance" in show:
        conditions.append(Escalation.specific_circumstance.is_null(False))
    if "on_plan" in show:
        conditions.append((Escalation.child_on_plan == True) | (Escalation.child_looked_after == True))  # noqa: E712
    if filters.raised_from:
        conditions.append(Escalation.created_at >= _day_start(filters.raised_from))
    if filters.raised_to:
        conditions.append(Escalation.created_at < _day_start(filters.raised_to + dt.timedelta(days=1)))
    if filters.search.strip():
        conditions.append(_search(filters.search))
    for condition in conditions:
        query = query.where(condition)
    return query.objects()


def cases_page(filters: CaseFilters, user: User, cursor: str | None, now: dt.datetime | None = None) -> Page:
    return _with_marks(paginate(case_query(filters, user, now or utcnow()), SORTS[filters.sort], cursor), "case", user)


def documents_page(user: User, cursor: str | None) -> Page:
    """Rendered PDF records, newest first, without their bytes (only their sizes)."""
    query = Document.select(
        Document.id,
        Document.kind,
        Document.stage_index,
        Document.created_at,
        Document.filename,
        fn.LENGTH(Document.content).coerce(False).alias("size"),
        Escalation.reference.alias("reference"),
    ).join(Escalation, on=Document.escalation == Escalation.id)
    return _with_marks(
        paginate(query.where(Document.status == "rendered").objects(), DOCUMENT_ORDER, cursor), "document", user
    )


def learning_page(user: User, cursor: str | None, show: tuple[str, ...] = ()) -> Page:
    """Learning from resolutions and final decisions, newest first, each text cut to EXCERPT characters in SQL;
    `show` keeps only those with a policy gap and/or a debrief recommended."""
    query = Learning.select(
        Learning.id,
        Learning.at,
        Learning.stage_index,
        Learning.policy,
        Learning.debrief,
        fn.SUBSTR(Learning.points, 1, EXCERPT + 1).alias("points_start"),
        fn.SUBSTR(Learning.policy_gap, 1, EXCERPT + 1).alias("gap_start"),
        Escalation.id,
        Escalation.reference,
        Escalation.procedure_id,
        Escalation.procedure_version,
    ).join(Escalation, on=Learning.escalation == Escalation.id)
    if "policy_gap" in show:
        query = query.where(Learning.policy_gap != "")
    if "debrief" in show:
        query = query.where(Learning.debrief == True)  # noqa: E712 (SQL, not Python)
    return _with_marks(paginate(query, LEARNING_ORDER, cursor), "learning", user)


def state(row, changed_at: dt.datetime) -> str:
    """new (never opened, or changed since), reviewed (since its last change) or opened."""
    if row.read_at is None or row.read_at < changed_at:
        return "new"
    if row.reviewed_at is not None and row.reviewed_at >= changed_at:
        return "reviewed"
    return "opened"


def _new_counts_query():
    """The three counts in one query, each over at most NEW_COUNT_CAP + 1 rows; its SQL is written once."""
    user = Slot("user_id")
    new = {
        "cases": Escalation.select(SQL("1")).where(_is_new(Escalation, "case", user, Escalation.last_activity_at)),
        "documents": Document.select(SQL("1")).where(
            (Document.status == "rendered") & _is_new(Document, "document", user, Document.created_at)
        ),
        "learning": Learning.select(SQL("1")).where(_is_new(Learning, "learning", user, Learning.at)),
    }
    counts = [query.limit(NEW_COUNT_CAP + 1).select_from(fn.COUNT(SQL("1"))).alias(name) for name, query in new.items()]
    return Select(columns=counts).dicts()


_NEW_COUNTS = Prepared(_new_counts_query)


def new_counts(user: User) -> dict[str, int]:
    """How many cases, documents and learning items are new to this Business Manager, each counted up to
    NEW_COUNT_CAP + 1 (on every one of their pages, for the navigation)."""
    return _NEW_COUNTS.first(user_id=user.id)


def _upsert(user: User, kind: str, item_ids: list[int], **values) -> None:
    InboxMark.insert_many(
        [{"user": user.id, "kind": kind, "item_id": item_id, **values} for item_id in item_ids]
    ).on_conflict(conflict_target=[InboxMark.user, InboxMark.kind, InboxMark.item_id], update=values).execute()


def mark_read(user: User, kind: str, item_id: int, now: dt.datetime | None = None) -> None:
    """Opening an item: it is no longer new to this Business Manager (until it changes)."""
    with database.atomic():
        _upsert(user, kind, [item_id], read_at=now or utcnow())


def mark_case_read(user: User, case: Escalation, lessons: list[Learning], now: dt.datetime | None = None) -> None:
    """Opening a case page: the case, and the learning the page shows in full, are read. Only marks that change are
    written: one that is new again, or last opened over VIEW_EVERY ago ("You last opened it" stays that close),
    so reloading a busy case page does not commit on every GET."""
    now = now or utcnow()
    changed = {("case", case.id): case.last_activity_at, **{("learning", lesson.id): lesson.at for lesson in lessons}}
    opened = dict(
        ((kind, item_id), read_at)
        for kind, item_id, read_at in InboxMark.select(InboxMark.kind, InboxMark.item_id, InboxMark.read_at)
        .where(
            (InboxMark.user == user.id)
            & (
                ((InboxMark.kind == "case") & (InboxMark.item_id == case.id))
                | ((InboxMark.kind == "learning") & InboxMark.item_id.in_([lesson.id for lesson in lessons] or [0]))
            )
        )
        .tuples()
    )
    stale = [
        key
        for key, changed_at in changed.items()
        if opened.get(key) is None or opened[key] < changed_at or opened[key] <= now - VIEW_EVERY
    ]
    if stale:
        with database.atomic():
            for kind in ("case", "learning"):
                if ids := [item_id for item_kind, item_id in stale if item_kind == kind]:
                    _upsert(user, kind, ids, read_at=now)


def mark_reviewed(user: User, kind: str, item_id: int, note: str, now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    with database.atomic():
        _upsert(user, kind, [item_id], read_at=now, reviewed_at=now, note=note.strip())


def mark_of(user: User, kind: str, item_id: int) -> InboxMark | None:
    return InboxMark.get_or_none(
        (InboxMark.user == user.id) & (InboxMark.kind == kind) & (InboxMark.item_id == item_id)
    )
