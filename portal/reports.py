"""The partnership's figures for a period, and the period before it (docs/reports.md, 'What each figure counts').

Plain Python (no Flask). Periods are London dates; times to resolution are working days by the procedure's own
calendar (portal.workdays). Each figure is one grouped query or one narrow select of the period's rows, so the
cost follows the period's cases, never one query per case.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from peewee import JOIN, Case, fn

from portal.deadline_changes import as_change
from portal.deadlines import paused_working_days
from portal.models import Agency, DeadlineChange, Escalation, Event, Learning, StageRecord
from portal.procedure import Procedure
from portal.workdays import LONDON, UTC, WorkingCalendar

LIST_LIMIT = 200  # learning listed on the page and in the PDF; the CSV has every row
QUARTER_MONTHS = {1: "January to March", 2: "April to June", 3: "July to September", 4: "October to December"}


class PeriodError(ValueError):
    """A period that cannot be reported on; the message says what to fix."""


@dataclass(frozen=True)
class Period:
    start: dt.date  # first day
    end: dt.date  # last day, inclusive
    kind: str  # quarter | year | range

    @property
    def token(self) -> str:
        """How the period is named in URLs: 2026-Q3, FY2026 or 2026-01-01..2026-03-31."""
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return f"FY{self.start.year}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"{QUARTER_MONTHS[(self.start.month - 1) // 3 + 1]} {self.start.year}"
        if self.kind == "year":
            return f"Financial year {self.start.year} to {self.end.year} (April to March)"
        return f"{_day(self.start)} to {_day(self.end)}"

    @property
    def starts_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=LONDON).astimezone(UTC)

    @property
    def ends_at(self) -> dt.datetime:
        """The instant after the period: midnight London at the start of the day after its last."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=LONDON).astimezone(UTC)

    def previous(self) -> Period:
        """The period of the same kind just before: the quarter, the financial year, or as many days."""
        if self.kind == "quarter":
            return quarter_of(self.start - dt.timedelta(days=1))
        if self.kind == "year":
            return financial_year(self.start.year - 1)
        days = (self.end - self.start).days + 1
        return Period(self.start - dt.timedelta(days=days), self.start - dt.timedelta(days=1), "range")


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def quarter_of(day: dt.date) -> Period:
    first = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    after = dt.date(first.year + (first.month == 10), (first.month + 2) % 12 + 1, 1)
    return Period(first, after - dt.timedelta(days=1), "quarter")


def financial_year(year: int) -> Period:
    return Period(dt.date(year, 4, 1), dt.date(year + 1, 3, 31), "year")


def parse_period(token: str) -> Period:
    """A period from its token; anything else is a PeriodError saying what is expected."""
    token = (token or "").strip()
    if match := re.fullmatch(r"(\d{4})-Q([1-4])", token):
        return quarter_of(dt.date(int(match[1]), int(match[2]) * 3 - 2, 1))
    if match := re.fullmatch(r"FY(\d{4})", token):
        return financial_year(int(match[1]))
    if match := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", token):
        try:
            start, end = dt.date.fromisoformat(match[1]), dt.date.fromisoformat(match[2])
        except ValueError:
            raise PeriodError("Enter real dates") from None
        return date_range(start, end)
    raise PeriodError("Choose a quarter, a financial year or dates")


def date_range(start: dt.date, end: dt.date) -> Period:
    if end < start:
        raise PeriodError("The end date must be the same as or after the start date")
    if (end - start).days > 3 * 366:
        raise PeriodError("The period must be 3 years or shorter")
    if start.year < 2000:
        raise PeriodError("The start date must be in 2000 or later")
    return Period(start, end, "range")


def last_complete_quarter(today: dt.date) -> Period:
    return quarter_of(quarter_of(today).start - dt.timedelta(days=1))


def recent_periods(today: dt.date, quarters: int = 8, years: int = 3) -> list[Period]:
    """The choices offered: this quarter and the ones before it, this financial year and the ones before."""
    found, period = [], quarter_of(today)
    for _ in range(quarters):
        found.append(period)
        period = period.previous()
    year = today.year if today.month >= 4 else today.year - 1
    return found + [financial_year(year - n) for n in range(years)]


def median(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


def percentile_90(values: list[int]) -> int | None:
    """Nearest rank: the smallest value with at least 90% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


@dataclass
class Figures:
    period: Period
    raised: int = 0
    resolved_by_stage: list[int] = field(default_factory=list)  # resolved at each stage (decided at the last)
    withdrawn: int = 0
    still_open: int = 0  # raised before the period ended and not ended by then
    overdue_by_stage: list[tuple[int, int]] = field(default_factory=list)  # (overdue, deadlines) per stage
    days_by_stage: list[list[int]] = field(default_factory=list)  # working days to resolution, by stage ended at
    categories: dict[str, int] = field(default_factory=dict)
    matrix: dict[tuple[str, str], int] = field(default_factory=dict)  # (raising agency, other agency) -> cases
    imminent_risk: int = 0
    specific_circumstance: int = 0
    plan_or_looked_after: int = 0
    reopened: int = 0
    earlier_deadlines: int = 0  # deadlines brought forward for the child's sake
    extensions: int = 0
    pauses: int = 0
    paused_days: int = 0  # working days the clock was stopped by pauses made in the period, apart from time taken
    learning: list[dict] = field(default_factory=list)
    learning_count: int = 0
    policy_gaps: int = 0
    debriefs: int = 0

    @property
    def resolved(self) -> int:
        return sum(self.resolved_by_stage)

    @property
    def all_days(self) -> list[int]:
        return [d for days in self.days_by_stage for d in days]

    def overdue_rate(self, index: int) -> float | None:
        overdue, due = self.overdue_by_stage[index]
        return overdue / due if due else None

    @property
    def agencies(self) -> list[str]:
        return sorted({a for pair in self.matrix for a in pair})


def _in(column, period: Period):
    return (column >= period.starts_at) & (column < period.ends_at)


def figures(procedure: Procedure, period: Period, now: dt.datetime, procedure_ids: tuple[str, ...] = ()) -> Figures:
    """Every figure issue 12 lists, for cases raised under the procedure's id (or the ids given)."""
    ids = procedure_ids or (procedure.id,)
    calendar: WorkingCalendar = procedure.calendar
    stages = len(procedure.stages)
    result = Figures(period, resolved_by_stage=[0] * stages, days_by_stage=[[] for _ in range(stages)])
    cases = Escalation.procedure_id.in_(ids)
    # Counted by the database, grouped by what the report tells apart: a few hundred groups, not every case raised
    circumstance = Case(
        None, [((Escalation.specific_circumstance.is_null(False)) & (Escalation.specific_circumstance != ""), 1)], 0
    )
    plan = Case(None, [((Escalation.child_on_plan == True) | (Escalation.child_looked_after == True), 1)], 0)  # noqa: E712
    groups = (
        Escalation.categories,
        Escalation.imminent_risk,
        circumstance,
        plan,
        Escalation.raiser_agency,
        Escalation.counterpart_agency,
    )
    raised = (
        Escalation.select(*groups, fn.COUNT(Escalation.id))
        .where(cases & _in(Escalation.created_at, period))
        .group_by(*groups)
        .tuples()
    )
    names = dict(Agency.select(Agency.id, Agency.name).tuples())
    categories: Counter[str] = Counter()
    matrix: Counter[tuple[str, str]] = Counter()
    for chosen, imminent, in_circumstance, on_plan, raiser_agency, counterpart_agency, count in raised:
        result.raised += count
        categories.update({key: count for key in chosen or []})
        matrix[(names.get(raiser_agency, "Not recorded"), names.get(counterpart_agency, "Not recorded"))] += count
        result.imminent_risk += count if imminent else 0
        result.specific_circumstance += count * in_circumstance
        result.plan_or_looked_after += count * on_plan
    result.categories = dict(categories.most_common())
    result.matrix = dict(matrix)
    ended_cases = cases & _in(Escalation.closed_at, period)
    ended = Escalation.select(
        Escalation.id, Escalation.status, Escalation.stage_index, Escalation.created_at, Escalation.closed_at
    ).where(ended_cases)
    paused: Counter[int] = Counter()  # working days each ended case's clock stood still: not time it took
    for pause in DeadlineChange.select().join(Escalation).where(ended_cases & (DeadlineChange.kind == "pause")):
        paused[pause.escalation_id] += paused_working_days(procedure, as_change(pause))
    for case_id, status, stage_index, created_at, closed_at in ended.tuples():
        index = min(stage_index, stages - 1)
        if status == "withdrawn":
            result.withdrawn += 1
        elif status in ("resolved", "closed"):
            result.resolved_by_stage[index] += 1
            taken = calendar.working_days_between(_aware(created_at), _aware(closed_at))
            result.days_by_stage[index].append(max(taken - paused[case_id], 0))
    result.still_open = (
        Escalation.select()
        .where(
            cases
            & (Escalation.created_at < period.ends_at)
            & (Escalation.closed_at.is_null() | (Escalation.closed_at >= period.ends_at))
        )
        .count()
    )
    moment = min(now, period.ends_at)
    late = (StageRecord.ended_at.is_null() & (StageRecord.due_at < moment)) | (
        StageRecord.ended_at.is_null(False) & (StageRecord.ended_at > StageRecord.due_at)
    )
    overdue = fn.SUM(Case(None, [(late, 1)], 0))
    per_stage = dict(
        (index, (int(late or 0), total))
        for index, late, total in StageRecord.select(StageRecord.stage_index, overdue, fn.COUNT(StageRecord.id))
        .join(Escalation)
        .where(cases & _in(StageRecord.due_at, period) & (StageRecord.due_at < moment))
        .group_by(StageRecord.stage_index)
        .tuples()
    )
    result.overdue_by_stage = [per_stage.get(index, (0, 0)) for index in range(stages)]
    result.reopened = (
        Event.select().join(Escalation).where(cases & (Event.kind == "contested") & _in(Event.at, period)).count()
    )
    changes = DeadlineChange.select().join(Escalation).where(cases & _in(DeadlineChange.made_at, period))
    for change in changes:
        if change.kind == "pause":
            result.pauses += 1
            result.paused_days += paused_working_days(procedure, as_change(change))
        else:
            result.earlier_deadlines += change.kind == "earlier"
            result.extensions += change.kind == "extend"
    lessons = (
        Learning.select(Learning, Escalation.reference)
        .join(Escalation, JOIN.INNER)
        .where(cases & _in(Learning.at, period))
        .order_by(Learning.at, Learning.id)
    )
    result.learning_count = lessons.count()
    result.policy_gaps = lessons.where(Learning.policy_gap != "").count()
    result.debriefs = lessons.where(Learning.debrief).count()
    result.learning = [
        {
            "reference": lesson.escalation.reference,
            "at": lesson.at,
            "stage": procedure.stage(min(lesson.stage_index, stages - 1)).name,
            "points": lesson.points,
            "policy": lesson.policy,
            "policy_gap": lesson.policy_gap,
            "debrief": lesson.debrief,
        }
        for lesson in lessons.limit(LIST_LIMIT)
    ]
    return result


def _aware(moment: dt.datetime) -> dt.datetime:
    """`.tuples()` skips the field's conversion on some engines: naive values read back are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:g}"


def _rate(overdue_due: tuple[int, int]) -> str:
    overdue, due = overdue_due
    return f"{round(100 * overdue / due)}% ({overdue} of {due})" if due else "no deadlines"


@dataclass
class Report:
    """A period's figures beside the previous period's, laid out once for the page, the CSV and the PDF."""

    procedure: Procedure
    now: dt.datetime
    current: Figures
    previous: Figures
    category_names: dict[str, str] = field(default_factory=dict)

    @property
    def period(self) -> Period:
        return self.current.period

    def summary(self) -> list[tuple[str, str, str]]:
        """(measure, this period, previous period), every one written as it is shown."""
        rows = []
        for label, get in (
            ("Escalations raised", lambda f: f.raised),
            ("Resolved or decided", lambda f: f.resolved),
            ("Withdrawn", lambda f: f.withdrawn),
            ("Still open at the end of the period", lambda f: f.still_open),
            ("Median working days to resolution", lambda f: median(f.all_days)),
            ("90th percentile working days to resolution", lambda f: percentile_90(f.all_days)),
            ("Child at imminent risk when raised", lambda f: f.imminent_risk),
            ("Specific circumstance", lambda f: f.specific_circumstance),
            ("Child on a child protection plan or looked after", lambda f: f.plan_or_looked_after),
            ("Resolutions contested and reopened", lambda f: f.reopened),
            ("Earlier deadlines agreed for the child's sake", lambda f: f.earlier_deadlines),
            ("Deadlines extended", lambda f: f.extensions),
            ("Clocks paused", lambda f: f.pauses),
            ("Working days paused (left out of the time to resolution)", lambda f: f.paused_days),
            ("Learning recorded", lambda f: f.learning_count),
            ("Gaps or weaknesses in policy or procedure", lambda f: f.policy_gaps),
            ("Debriefs recommended", lambda f: f.debriefs),
        ):
            rows.append((label, _number(get(self.current)), _number(get(self.previous))))
        return rows

    def stages(self) -> list[dict]:
        """Per stage: ended there, overdue rate, median and 90th percentile working days, both periods."""
        rows = []
        for index, stage in enumerate(self.procedure.stages):
            cur, prev = self.current, self.previous
            rows.append(
                {
                    "name": stage.name,
                    "ended": (cur.resolved_by_stage[index], prev.resolved_by_stage[index]),
                    "overdue": (_rate(cur.overdue_by_stage[index]), _rate(prev.overdue_by_stage[index])),
                    "overdue_rate": (cur.overdue_rate(index), prev.overdue_rate(index)),
                    "median": (_number(median(cur.days_by_stage[index])), _number(median(prev.days_by_stage[index]))),
                    "median_value": (median(cur.days_by_stage[index]), median(prev.days_by_stage[index])),
                    "p90": (
                        _number(percentile_90(cur.days_by_stage[index])),
                        _number(percentile_90(prev.days_by_stage[index])),
                    ),
                }
            )
        return rows

    def categories(self) -> list[tuple[str, int, int]]:
        keys = list(self.current.categories) + [k for k in self.previous.categories if k not in self.current.categories]
        return [
            (self.category_names.get(k, k), self.current.categories.get(k, 0), self.previous.categories.get(k, 0))
            for k in keys
        ]

    def matrix(self) -> tuple[list[str], list[str], list[list[int]]]:
        """Raising agencies (rows), the agencies they disagreed with (columns), this period's counts."""
        raising = sorted({a for a, _ in self.current.matrix})
        other = sorted({b for _, b in self.current.matrix})
        return raising, other, [[self.current.matrix.get((a, b), 0) for b in other] for a in raising]

    def figure_rows(self) -> list[tuple[str, str, str, str]]:
        """Every figure as (section, measure, this period, previous period): the figures CSV."""
        rows = [("Summary", label, cur, prev) for label, cur, prev in self.summary()]
        for stage in self.stages():
            name = stage["name"]
            rows += [
                (name, "Resolved or decided at this stage", str(stage["ended"][0]), str(stage["ended"][1])),
                (name, "Deadlines missed", *stage["overdue"]),
                (name, "Median working days to resolution", *stage["median"]),
                (name, "90th percentile working days to resolution", *stage["p90"]),
            ]
        rows += [("Categories of disagreement", name, str(cur), str(prev)) for name, cur, prev in self.categories()]
        raising, other, counts = self.matrix()
        for agency, row in zip(raising, counts, strict=True):
            rows += [
                ("Raised by agency about agency", f"{agency} about {about}", str(n), "")
                for about, n in zip(other, row, strict=True)
                if n
            ]
        return rows


def build_report(
    procedure: Procedure, period: Period, now: dt.datetime, category_names: dict[str, str] | None = None
) -> Report:
    return Report(
        procedure,
        now,
        figures(procedure, period, now),
        figures(procedure, period.previous(), now),
        category_names or {},
    )
