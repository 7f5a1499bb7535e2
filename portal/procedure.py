"""Procedures as data: parse a partnership's TOML file into Procedure, Stage, Duration.

A new partnership is configured, not coded, so every mistake in a file must be
reported naming the file, the stage and the value at fault.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from portal.workdays import NATIONS, WorkingCalendar

PRESETS_DIR = Path(__file__).parent / "procedures"

# Roles a directory contact can hold; parties and notifications name them.
ROLES = {
    "line_manager": "Line manager",
    "safeguarding_lead": "Safeguarding lead / designated lead",
    "team_manager": "Team manager",
    "service_manager": "Service manager",
    "head_of_service": "Head of service",
    "director": "Director / assistant director",
    "board_member": "Board member",
    "business_manager": "Business manager",
    "cp_chair_or_iro": "Child protection conference chair / IRO",
    "dcs": "Director of Children's Services",
    "lado": "Local Authority Designated Officer",
    "independent_chair": "Independent chair / advisor",
}
SIDES = ("raiser", "counterpart", "partnership")
# Other names other partnerships' files may use, read as the portal's (the file still loads; a warning says so).
ROLE_ALIASES = {
    "manager": "line_manager",
    "supervisor": "line_manager",
    "designated_lead": "safeguarding_lead",
    "designated_safeguarding_lead": "safeguarding_lead",
    "dsl": "safeguarding_lead",
    "named_lead": "safeguarding_lead",
    "hos": "head_of_service",
    "assistant_director": "director",
    "iro": "cp_chair_or_iro",
    "cp_chair": "cp_chair_or_iro",
    "conference_chair": "cp_chair_or_iro",
    "child_protection_chair": "cp_chair_or_iro",
    "independent_reviewing_officer": "cp_chair_or_iro",
    "director_of_childrens_services": "dcs",
    "designated_officer": "lado",
    "chair": "independent_chair",
    "partnership_business_manager": "business_manager",
}
SIDE_ALIASES = {"referrer": "raiser", "other_agency": "counterpart", "respondent": "counterpart"}
CONDITIONS = {"always", "child_on_plan_or_looked_after", "imminent_risk", "specific_circumstance"}
SPECIFIC_CIRCUMSTANCES = {
    "child_death": "Child death where safeguarding concerns are identified",
    "life_changing_injury": "Life-changing injury",
    "abduction": "Abduction of a child on a child protection plan or in care",
    "judicial_review": "Immediate threat of judicial review",
    "media_attention": "Imminent threat of media attention",
}
DOCUMENTS = {
    "escalation_notice": "Escalation Notice",
    "request_for_resolution": "Request for Resolution",
    "resolution_proforma": "Proforma for reporting a conflict resolved at this stage",
    "final_decision_notice": "Final decision notice",
}

_DURATION = re.compile(r"^(?P<n>\d{1,4})\s+(?P<unit>hours?|working\s+days?|working\s+weeks?|days?|months?)$", re.ASCII)
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DEFAULT_OVERDUE_EVERY = "1 working day"


class ProcedureError(ValueError):
    """A procedure file that cannot be used; the message names file, stage and value."""


@dataclass(frozen=True)
class Duration:
    """A timescale from a procedure: `5 working days`, `24 hours`, `same working day`..."""

    text: str
    count: int
    unit: str  # hours | working_days | days | months | same_working_day

    @classmethod
    def parse(cls, text: Any) -> Duration:
        if not isinstance(text, str):
            raise ValueError(f'a duration must be text such as "5 working days", not {text!r}')
        words = " ".join(text.lower().split())
        if words == "same working day":
            return cls(text, 0, "same_working_day")
        match = _DURATION.match(words)
        if not match:
            raise ValueError(
                f"unknown duration {text!r}: use N hours, N working days, N working weeks, "
                "N days, N months (N from 0 to 9999) or same working day"
            )
        count, unit = int(match["n"]), match["unit"].rstrip("s").replace(" ", "_")
        if unit == "working_week":
            return cls(text, count * 5, "working_days")
        return cls(text, count, {"hour": "hours", "working_day": "working_days"}.get(unit, unit + "s"))

    def after(self, start: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
        """The instant this duration ends, counted from `start` on `calendar` (UTC)."""
        if self.unit == "same_working_day":
            return calendar.same_working_day(start)
        if self.unit == "working_days":
            return calendar.add_working_days(start, self.count)
        if self.unit == "hours":
            return calendar.add_hours(start, self.count)
        if self.unit == "days":
            return calendar.add_calendar(start, days=self.count)
        return calendar.add_calendar(start, months=self.count)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Notification:
    """Someone told (not asked to act) when a stage starts, if a condition holds."""

    role: str
    when: str = "always"


@dataclass(frozen=True)
class Copy:
    """A document that must reach someone within a time of the stage starting (Salford's notice)."""

    role: str
    within: Duration
    document: str | None = None


@dataclass(frozen=True)
class Stage:
    index: int
    key: str
    name: str
    resolve_within: Duration
    parties: tuple[str, ...] = ()
    escalate_within: Duration | None = None
    records: tuple[str, ...] = ()
    notify: tuple[Notification, ...] = ()
    copies: tuple[Copy, ...] = ()
    resolve_documents: tuple[str, ...] = ()
    reminders: tuple[Duration, ...] | None = None
    description: str = ""
    escalated_by: tuple[str, ...] = ()  # who may escalate it; empty: its parties (and the raiser at stage 1)
    overdue_every: Duration | None = None  # how often its overdue notice repeats; None: the procedure's


@dataclass(frozen=True)
class Procedure:
    id: str
    name: str
    partnership: str
    calendar: WorkingCalendar
    stages: tuple[Stage, ...]
    reminders: tuple[Duration, ...] = ()
    imminent_risk: Duration | None = None
    imminent_risk_notify: tuple[str, ...] = ()
    specific_circumstances_notify: tuple[str, ...] = ()
    specific_circumstances_stage: int = -1  # where such a case goes at once (the last stage unless named)
    raise_documents: tuple[str, ...] = ()
    final_documents: tuple[str, ...] = ()
    secure_domains: tuple[str, ...] = ()
    source: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)
    contest_within: Duration = field(default_factory=lambda: Duration.parse("2 working days"))
    overdue_every: Duration = field(default_factory=lambda: Duration.parse(DEFAULT_OVERDUE_EVERY))
    working_hours_start: dt.time = dt.time(9, 0)  # reminders and overdue notices wait for it (and a working day)
    retention_years: int | None = None  # closed cases are kept this long; None: the RETENTION_YEARS setting
    text: str = field(default="", compare=False, repr=False)  # the file as read: what a case's version stores
    digest: str = field(default="", compare=False)  # SHA-256 of `text`: the version a case is raised under

    def stage(self, index: int) -> Stage:
        return self.stages[index]

    @property
    def last_index(self) -> int:
        return len(self.stages) - 1

    def stage_reminders(self, stage: Stage) -> tuple[Duration, ...]:
        return self.reminders if stage.reminders is None else stage.reminders

    def stage_overdue_every(self, stage: Stage) -> Duration:
        return self.overdue_every if stage.overdue_every is None else stage.overdue_every


_TOP_KEYS = {
    "id", "name", "partnership", "calendar", "close_of_business", "imminent_risk", "reminders",
    "closed_days", "stages", "imminent_risk_notify", "specific_circumstances", "raise_documents",
    "final_documents", "secure_domains", "source", "contest_within", "overdue_every", "working_hours_start",
    "retention_years",
}  # fmt: skip
_STAGE_KEYS = {
    "key", "name", "parties", "resolve_within", "escalate_within", "records", "notify", "copies",
    "resolve_documents", "reminders", "description", "escalated_by", "overdue_every",
}  # fmt: skip


def _word(text: str) -> str:
    return "_".join(text.strip().lower().replace("'", "").replace("-", " ").replace("/", " ").split())


def canonical_role(name: str) -> str | None:
    """The portal's role for a name a procedure file or a directory CSV uses (`Designated Lead`, `dsl`)."""
    role = ROLE_ALIASES.get(_word(name), _word(name))
    return role if role in ROLES else None


def _canonical_party(value: str) -> str:
    """`Raiser.Designated Lead` -> `raiser.safeguarding_lead`; a name the portal does not know is left as it is."""
    side, dot, role = value.partition(".")
    side, role = _word(side), _word(role)
    side = SIDE_ALIASES.get(side, side)
    if not dot:  # a role on its own (`dcs`), or a side (`raiser`)
        return canonical_role(side) or (side if side in SIDES else value)
    role = canonical_role(role)
    return f"{side}.{role}" if side in SIDES and role else value


class _Reader:
    """Collects the file name and the place being read, so every error says where."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.warnings: list[str] = []

    def fail(self, where: str, message: str) -> ProcedureError:
        return ProcedureError(f"{self.path}: {where}: {message}")

    def text(self, table: dict, key: str, where: str, required: bool = True, default: str = "") -> str:
        value = table.get(key)
        if value is None:
            if required:
                raise self.fail(where, f"missing {key!r}")
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"{key} = {value!r}: must be non-empty text")
        return value.strip()

    def text_list(self, table: dict, key: str, where: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(where, f"{key} = {value!r}: must be a list of text")
        return tuple(v.strip() for v in value)

    def duration(self, table: dict, key: str, where: str, required: bool = True) -> Duration | None:
        if table.get(key) is None:
            if required:
                raise self.fail(where, f"missing {key!r}")
            return None
        try:
            return Duration.parse(table[key])
        except ValueError as error:
            raise self.fail(where, f"{key}: {error}") from None

    def every(self, table: dict, key: str, where: str) -> Duration | None:
        """A repeat interval: a duration that moves time on (not `same working day`, not 0)."""
        every = self.duration(table, key, where, required=False)
        if every is not None and (every.count == 0 or every.unit == "same_working_day"):
            raise self.fail(where, f'{key} = {every.text!r}: a repeat needs a time of 1 or more, e.g. "1 working day"')
        return every

    def clock(self, table: dict, key: str, where: str, default: str) -> dt.time:
        text = self.text(table, key, where, required=False, default=default)
        clock = _CLOCK.match(text)
        if not clock:
            raise self.fail(where, f'{key} = {text!r}: use 24-hour HH:MM, e.g. "{default}"')
        return dt.time(int(clock[1]), int(clock[2]))

    def durations(self, table: dict, key: str, where: str) -> tuple[Duration, ...] | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, list):
            raise self.fail(where, f"{key} = {value!r}: must be a list of durations")
        parsed = []
        for item in value:
            try:
                parsed.append(Duration.parse(item))
            except ValueError as error:
                raise self.fail(where, f"{key}: {error}") from None
        return tuple(parsed)

    def role(self, value: str, where: str, key: str) -> str:
        """A party or recipient: `raiser`, `counterpart.line_manager`, `partnership.business_manager`, `dcs`...

        One the directory does not know is kept with a warning: nobody is found for it by role, so the person
        escalating names them, and the file still loads (its deadlines do not depend on who acts).
        """
        read = _canonical_party(value)
        if read != value:
            self.warnings.append(f"{self.path}: {where}: {key}: {value!r} read as {read!r}")
        side, _, role = read.partition(".")
        if side in SIDES and (role in ROLES or (not role and side != "partnership")):
            return read
        if read in ROLES:
            return read
        self.warnings.append(
            f"{self.path}: {where}: {key}: {value!r} is not a directory role (use raiser, counterpart or SIDE.ROLE "
            f"with ROLE one of {', '.join(ROLES)}); the person escalating will name who acts"
        )
        return value

    def roles(self, table: dict, key: str, where: str) -> tuple[str, ...]:
        return tuple(self.role(value, where, key) for value in self.text_list(table, key, where))

    def documents(self, table: dict, key: str, where: str) -> tuple[str, ...]:
        names = self.text_list(table, key, where)
        for name in names:
            if name not in DOCUMENTS:
                self.warnings.append(
                    f"{self.path}: {where}: {key}: unknown document {name!r} ignored "
                    f"(documents: {', '.join(DOCUMENTS)})"
                )
        return tuple(name for name in names if name in DOCUMENTS)

    def unknown_keys(self, table: dict, known: set[str], where: str) -> None:
        for key in sorted(set(table) - known):
            self.warnings.append(f"{self.path}: {where}: unknown key {key!r} ignored")

    def tables(self, table: dict, key: str, where: str) -> list[dict]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(where, f'{key} must be a list of tables, e.g. [{{ role = "dcs" }}]')
        return value


def _stage(reader: _Reader, raw: Any, index: int, seen: set[str]) -> Stage:
    where = f"stage {index + 1}"
    if not isinstance(raw, dict):
        raise reader.fail(where, "each [[stages]] entry must be a table")
    key = reader.text(raw, "key", where, required=False)
    if not key:
        key = f"stage-{index + 1}"
        reader.warnings.append(f"{reader.path}: {where}: no key: using {key!r}")
    where = f"stage {index + 1} ({key})"
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", key):
        raise reader.fail(where, f"key = {key!r}: use lower-case letters, digits, - and _")
    if key in seen:
        raise reader.fail(where, f"duplicate stage key {key!r}")
    seen.add(key)
    reader.unknown_keys(raw, _STAGE_KEYS, where)
    notify = []
    for item in reader.tables(raw, "notify", where):
        when = item.get("when", "always")
        if when not in CONDITIONS:
            reader.warnings.append(
                f"{reader.path}: {where}: notify: unknown condition {when!r}: notified always "
                f"(conditions: {', '.join(sorted(CONDITIONS))})"
            )
            when = "always"
        notify.append(Notification(reader.role(reader.text(item, "role", where + " notify"), where, "notify"), when))
    copies = []
    for item in reader.tables(raw, "copies", where):
        document = item.get("document")
        if document is not None and document not in DOCUMENTS:
            reader.warnings.append(f"{reader.path}: {where}: copies: unknown document {document!r}: copied as a notice")
            document = None
        copies.append(
            Copy(
                reader.role(reader.text(item, "role", where + " copies"), where, "copies"),
                reader.duration(item, "within", where + " copies"),
                document,
            )
        )
    return Stage(
        index=index,
        key=key,
        name=reader.text(raw, "name", where),
        resolve_within=reader.duration(raw, "resolve_within", where),
        parties=reader.roles(raw, "parties", where),
        escalate_within=reader.duration(raw, "escalate_within", where, required=False),
        records=reader.text_list(raw, "records", where),
        notify=tuple(notify),
        copies=tuple(copies),
        resolve_documents=reader.documents(raw, "resolve_documents", where),
        reminders=reader.durations(raw, "reminders", where),
        description=reader.text(raw, "description", where, required=False),
        escalated_by=reader.roles(raw, "escalated_by", where),
        overdue_every=reader.every(raw, "overdue_every", where),
    )


def parse_procedure(data: dict, path: str, default_id: str = "") -> Procedure:
    """Build a Procedure from parsed TOML, refusing anything the deadline rules cannot use."""
    reader = _Reader(path)
    top = "procedure"
    reader.unknown_keys(data, _TOP_KEYS, top)
    procedure_id = reader.text(data, "id", top, required=not default_id, default=default_id)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", procedure_id):
        raise reader.fail(top, f"id = {procedure_id!r}: use lower-case letters, digits, - and _")
    nation = reader.text(data, "calendar", top, required=False, default="england-and-wales")
    nation = "-".join(nation.lower().replace("&", "and").split())  # "England and Wales" is england-and-wales
    if nation not in NATIONS:
        raise reader.fail(top, f"calendar = {nation!r}: use one of {', '.join(NATIONS)}")
    close = reader.clock(data, "close_of_business", top, "17:00")
    opens = reader.clock(data, "working_hours_start", top, "09:00")
    if opens >= close:
        raise reader.fail(top, f"working_hours_start = {opens:%H:%M}: must be before close_of_business ({close:%H:%M})")
    closed_days = []
    raw_days = data.get("closed_days", [])
    if not isinstance(raw_days, list):
        raise reader.fail(top, f"closed_days = {raw_days!r}: must be a list of ISO dates")
    for value in raw_days:
        try:
            closed_days.append(value if isinstance(value, dt.date) else dt.date.fromisoformat(value))
        except (TypeError, ValueError):
            raise reader.fail(top, f"closed_days: {value!r} is not an ISO date (YYYY-MM-DD)") from None
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise reader.fail(top, "no stages: add at least one [[stages]] table")
    seen: set[str] = set()
    stages = tuple(_stage(reader, raw, index, seen) for index, raw in enumerate(raw_stages))
    circumstances = data.get("specific_circumstances", {})
    if not isinstance(circumstances, dict):
        raise reader.fail(top, "specific_circumstances must be a table with notify = [roles]")
    bypass_to = reader.text(circumstances, "stage", "specific_circumstances", required=False, default=stages[-1].key)
    if bypass_to not in {stage.key for stage in stages}:
        raise reader.fail("specific_circumstances", f"stage = {bypass_to!r}: no stage has that key")
    name = reader.text(data, "name", top)
    return Procedure(
        id=procedure_id,
        name=name,
        partnership=reader.text(data, "partnership", top, required=False, default=name),
        calendar=WorkingCalendar(nation, close, closed_days),
        stages=stages,
        reminders=reader.durations(data, "reminders", top) or (),
        imminent_risk=reader.duration(data, "imminent_risk", top, required=False),
        imminent_risk_notify=reader.roles(data, "imminent_risk_notify", top),
        specific_circumstances_notify=reader.roles(circumstances, "notify", "specific_circumstances"),
        specific_circumstances_stage=next(stage.index for stage in stages if stage.key == bypass_to),
        raise_documents=reader.documents(data, "raise_documents", top),
        final_documents=reader.documents(data, "final_documents", top),
        secure_domains=tuple(d.lower() for d in reader.text_list(data, "secure_domains", top)),
        source=reader.text(data, "source", top, required=False),
        contest_within=reader.duration(data, "contest_within", top, required=False) or Duration.parse("2 working days"),
        overdue_every=reader.every(data, "overdue_every", top) or Duration.parse(DEFAULT_OVERDUE_EVERY),
        working_hours_start=opens,
        retention_years=_retention_years(reader, data.get("retention_years")),
        warnings=tuple(reader.warnings),
    )


def _retention_years(reader: _Reader, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise reader.fail("procedure", f"retention_years = {value!r}: must be a whole number of years from 1 to 100")
    return value


def load_procedure(path: str | Path) -> Procedure:
    """Read and check one procedure file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProcedureError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise ProcedureError(f"{path}: not valid TOML: {error}") from None
    return procedure_from_text(text, str(path), default_id=path.stem)


def procedure_from_text(text: str, path: str, default_id: str = "") -> Procedure:
    """A procedure from a file's text: what a case's stored version is read back from."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProcedureError(f"{path}: not valid TOML: {error}") from None
    parsed = parse_procedure(data, path, default_id=default_id)
    return replace(parsed, text=text, digest=hashlib.sha256(text.encode("utf-8")).hexdigest())


def preset_ids() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def resolve_procedure(file_or_id: str) -> Procedure:
    """A preset by id (`hounslow`), or any procedure file by path."""
    preset = PRESETS_DIR / f"{file_or_id}.toml"
    if "/" not in file_or_id and not file_or_id.endswith(".toml") and preset.exists():
        return load_procedure(preset)
    if not Path(file_or_id).exists():
        raise ProcedureError(f"{file_or_id}: no such file or preset (presets: {', '.join(preset_ids())})")
    return load_procedure(file_or_id)


def load_all_procedures(current: str) -> tuple[dict[str, Procedure], Procedure]:
    """Every preset plus the configured procedure (a preset id or a file), keyed by id."""
    procedures = {pid: load_procedure(PRESETS_DIR / f"{pid}.toml") for pid in preset_ids()}
    chosen = resolve_procedure(current)
    procedures[chosen.id] = chosen
    return procedures, chosen
