"""Who looked at a child's record: every view of a case is an event; these select them for the Business Manager."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass

from peewee import JOIN

from portal.models import Escalation, Event, User
from portal.workdays import LONDON, UTC, london

PAGE_SIZE = 50
CSV_BATCH = 500
CSV_HEADER = ("viewed_at", "reference", "name", "email", "role")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas


@dataclass(frozen=True)
class ViewFilter:
    reference: str = ""
    person: str = ""
    start: dt.date | None = None  # London dates, both included
    end: dt.date | None = None


def _london_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LONDON).astimezone(UTC)


def views(selected: ViewFilter):
    """Every view matching the filter, newest first, with the case's reference and the person's account."""
    query = (
        Event.select(
            Event.id,
            Event.at,
            Event.escalation,
            Event.actor,
            Event.actor_email,
            Escalation.id,
            Escalation.reference,
            User,
        )
        .join(Escalation)
        .switch(Event)
        .join(User, JOIN.LEFT_OUTER, on=(Event.actor == User.id))
        .where(Event.kind == "viewed")
    )
    if selected.reference:
        query = query.where(Escalation.reference == selected.reference)
    if selected.person:
        email = selected.person.lower()
        query = query.where((User.email == email) | (Event.actor_email == email))
    if selected.start:
        query = query.where(Event.at >= _london_midnight(selected.start))
    if selected.end:
        query = query.where(Event.at < _london_midnight(selected.end + dt.timedelta(days=1)))
    return query.order_by(Event.id.desc())


def page_of_views(selected: ViewFilter, before: int | None) -> tuple[list[Event], int | None]:
    """One page (keyset on the event id, so page 100 costs what page 1 does) and the id the next page starts below."""
    query = views(selected)
    if before:
        query = query.where(Event.id < before)
    rows = list(query.limit(PAGE_SIZE + 1))
    return rows[:PAGE_SIZE], (rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None)


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_lines(selected: ViewFilter) -> Iterator[str]:
    """The CSV, a line at a time, read in batches: an export of a year's views never sits whole in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield flush()
    before = None
    while True:
        query = views(selected)
        if before:
            query = query.where(Event.id < before)
        batch = list(query.limit(CSV_BATCH))
        for event in batch:
            account = event.actor if event.actor_id else None
            writer.writerow(
                [
                    london(event.at).isoformat(timespec="seconds"),
                    event.escalation.reference,
                    _cell(account.name if account else ""),
                    _cell(account.email if account else event.actor_email),
                    account.role if account else "link recipient",
                ]
            )
        if batch:
            yield flush()
        if len(batch) < CSV_BATCH:
            return
        before = batch[-1].id
