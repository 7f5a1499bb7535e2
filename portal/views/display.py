"""How case data reads on a page: category names, document names, timeline event titles, and the time limits
of a procedure in words that fit its own units."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from urllib.parse import quote

from flask import Flask, url_for
from markupsafe import Markup, escape

from forms.raise_escalation import CATEGORIES
from portal.models import Event, utcnow
from portal.procedure import DOCUMENTS, Duration, Procedure, Stage
from portal.workdays import LONDON, london, to_utc

# Under this much working time left, the raiser is told to phone rather than wait for emails.
URGENT_WORKING_TIME = dt.timedelta(hours=2)
_WEEKS = re.compile(r"working\s+weeks?", re.IGNORECASE)
# An email address or a web address: the only words allowed to wrap, and then only after their punctuation.
_ADDRESS = re.compile(r"[^\s()<>,;]*(?:@|://)[^\s()<>,;]+")
_AFTER_PUNCTUATION = re.compile(r"(?<=[@./_?&=#-])")

EVENT_TITLES = {
    "raised": "Escalation raised",
    "viewed": "Case viewed",
    "exported": "Child's details exported in the report's case list",
    "subject_access_export": "Exported for a subject access request",
    "record": "Record of a discussion",
    "resolved": "Resolved: agreed outcome",
    "escalated": "Escalated",
    "withdrawn": "Withdrawn",
    "decided": "Final decision",
    "specific_circumstance": "Specific circumstance: procedure bypassed",
    "reminder_sent": "Reminder sent",
    "deadline_missed": "Deadline missed",
    "link_viewed": "Emailed link opened",
    "agreed": "The other agency agreed it is resolved",
    "contested": "The other agency said it is not resolved: reopened",
    "bypassed": "Procedure bypassed",
    "still_overdue": "Still overdue: notice repeated",
    "not_escalated": "Not escalated in time",
    "copy_overdue": "Copy not sent in time",
    "deadline_earlier": "Earlier deadline agreed",
    "deadline_extend": "Deadline extended",
    "deadline_pause": "Clock paused",
    "clock_restarted": "Clock restarted",
    "address_refused": "Emailed link: a wrong email address was typed",
}


def category_names(keys: list[str], other: str = "") -> str:
    names = dict(CATEGORIES)
    return "; ".join(other if key == "other" and other else names.get(key, key) for key in keys)


def record_text(text: str) -> Markup:
    """A written record inside a component's value: its own line breaks kept as <br>, because the GOV.UK
    macros indent every line of an html value and pre-wrap would show that indentation; its addresses may break."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return Markup('<span class="portal-record">{}</span>').format(Markup("<br>").join(map(break_addresses, lines)))


def break_addresses(text: str) -> Markup:
    """Text whose email and web addresses may wrap after an @, dot or slash: cells and values break whole
    words, never "Close d", so a long address needs places of its own to break."""
    text = str(text or "")
    if "@" not in text and "://" not in text:  # most lines have no address: no need to search them
        return escape(text)
    out, last = [], 0
    for match in _ADDRESS.finditer(text):
        out.append(escape(text[last : match.start()]))
        address = Markup("<wbr>").join(_AFTER_PUNCTUATION.split(match.group()))
        out.append(Markup('<span class="portal-address">{}</span>').format(address))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def document_name(kind: str) -> str:
    return DOCUMENTS.get(kind, kind.replace("_", " ").capitalize())


def actor_label(event: Event) -> str:
    """Who acted: the user's name, or the link recipient's name and address."""
    if event.actor_id:
        return event.actor.name
    name = (event.data or {}).get("actor_name")
    if name and event.actor_email:
        return f"{name} ({event.actor_email})"
    return name or event.actor_email


def event_title(event: Event) -> str:
    title = EVENT_TITLES.get(event.kind, event.kind.replace("_", " ").capitalize())
    if event.kind == "viewed" and event.data.get("document"):
        return f"Document opened: {document_name(event.data['document'])}"
    if event.kind in ("escalated", "contested", "bypassed") and event.data.get("to_stage"):
        return f"{title} to Stage {event.stage_index + 1}"
    return title


def party_names(parties) -> str:
    """Who acts at a stage; someone typed in by the person escalating is marked as not from the directory."""
    return ", ".join(
        p.name if p.verified else f"{p.name} ({p.email}, typed in: not from the directory)" for p in parties
    )


def stage_name(procedure: Procedure | None, index: int) -> str:
    """The stage's name, or its number when the case's procedure cannot be loaded."""
    if procedure is None or not 0 <= index < len(procedure.stages):
        return f"Stage {index + 1}"
    return procedure.stage(index).name


def _count(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def within(duration: Duration) -> str:
    """A time limit as the end of a sentence: "within 5 working days", "on the same working day"."""
    if duration.unit == "same_working_day" or (duration.unit == "working_days" and duration.count == 0):
        return "on the same working day"
    if duration.unit == "working_days" and _WEEKS.search(duration.text) and duration.count % 5 == 0:
        return "within " + _count(duration.count // 5, "working week")
    unit = {"hours": "hour", "working_days": "working day", "days": "day", "months": "month"}[duration.unit]
    return "within " + _count(duration.count, unit)


def _units(procedure: Procedure) -> set[str]:
    durations = [s.resolve_within for s in procedure.stages] + [s.escalate_within for s in procedure.stages]
    units = {d.unit for d in [*durations, procedure.imminent_risk] if d is not None}
    return {"working_days" if u == "same_working_day" else u for u in units}


def timing_rules(procedure: Procedure) -> list[str]:
    """How the procedure's own time limits are counted, one sentence per kind of unit it uses."""
    close = f"{procedure.calendar.close_time:%H:%M}"
    nation = procedure.calendar.nation.replace("-", " ").title().replace(" And ", " and ")
    units, rules = _units(procedure), []
    if "working_days" in units:
        rules.append(
            f"Working days end at close of business ({close}); weekends and bank holidays in {nation} do not count."
        )
    if "hours" in units:
        rules.append(
            "Hours are counted around the clock; a limit in hours that ends on a weekend or bank holiday moves to "
            f"close of business ({close}) on the next working day."
        )
    if units & {"days", "months"}:
        which = " and ".join(w for u, w in (("days", "days"), ("months", "months")) if u in units)
        rules.append(
            f"Calendar {which} include weekends; they end at close of business ({close}), on the next working day "
            "if the last one is not."
        )
    return rules


def stage_limits(procedure: Procedure, stage: Stage) -> str:
    """A stage's own time limit, and (its own sentence) the time allowed to escalate the case to it."""
    text = f"To be resolved {within(stage.resolve_within)}."
    if stage.escalate_within is not None and stage.index > 0:
        previous = procedure.stage(stage.index - 1).name
        allowed = within(stage.escalate_within)
        text += f" If {previous} ends unresolved, the case must be escalated to this stage {allowed} of that."
    return text


def working_time_left(procedure: Procedure, due: dt.datetime, now: dt.datetime | None = None) -> dt.timedelta:
    """Working time (working days, from the start of working hours to close of business) between now and `due`,
    counted up to URGENT_WORKING_TIME: enough to tell whether a deadline is nearly on us."""
    now, due = to_utc(now or utcnow()), to_utc(due)
    calendar, left, day = procedure.calendar, dt.timedelta(0), london(now).date()
    while day <= london(due).date() and left < URGENT_WORKING_TIME:
        if calendar.is_working_day(day):
            opens = dt.datetime.combine(day, procedure.working_hours_start, tzinfo=LONDON).astimezone(dt.UTC)
            span = min(due, calendar.close_of_business(day)) - max(now, opens)
            left += max(span, dt.timedelta(0))
        day += dt.timedelta(days=1)
    return left


def deadline_is_near(procedure: Procedure, due: dt.datetime, now: dt.datetime | None = None) -> bool:
    """Under two working hours to go: the raiser must phone now, not wait for emails to be read."""
    return working_time_left(procedure, due, now) < URGENT_WORKING_TIME


ROW_MARK = 9_876_543_210_123_457  # stands in a URL built once for the value each row puts in its place
PATH_SAFE = "!$&'()*+,/:;=@"  # what werkzeug's converters leave unquoted in a path (a URL path-segment string)


def url_per_row(endpoint: str, vary: str, **fixed) -> Callable[[object], str]:
    """Each row's URL to `endpoint`, differing only in `vary`, from one `url_for`: building a URL is the dearest
    thing in a list row, and 50 rows have two links each (docs/performance.md, "Reading rows")."""
    parts = url_for(endpoint, **fixed, **{vary: ROW_MARK}).split(str(ROW_MARK))
    if len(parts) != 2:  # the mark in a fixed value too (a query string typed with it): built row by row
        return lambda value: url_for(endpoint, **fixed, **{vary: value})
    head, tail = parts
    return lambda value: f"{head}{quote(str(value), safe=PATH_SAFE)}{tail}"


def init_display(app: Flask) -> None:
    app.jinja_env.filters["record"] = record_text
    app.jinja_env.filters["within"] = within
    app.jinja_env.filters["addresses"] = break_addresses
    app.jinja_env.globals.update(
        category_names=category_names,
        event_title=event_title,
        document_name=document_name,
        actor_label=actor_label,
        stage_name=stage_name,
        party_names=party_names,
        timing_rules=timing_rules,
        stage_limits=stage_limits,
        deadline_is_near=deadline_is_near,
        url_per_row=url_per_row,
    )
