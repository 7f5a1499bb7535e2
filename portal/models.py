"""The portal's tables. Times are stored as naive UTC and come back as aware UTC."""

from __future__ import annotations

import datetime as dt
import json

from flask_login import UserMixin
from peewee import (
    BlobField,
    BooleanField,
    CharField,
    DateField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)
from peewee import DateTimeField as _DateTimeField

from portal.db import database
from portal.workdays import UTC


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


class UTCDateTimeField(_DateTimeField):
    """Refuses naive datetimes: one London-aware value stored as text makes SQLite sweeps miss rows."""

    def db_value(self, value):
        if isinstance(value, dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{self.name}: naive datetime {value!r}; store aware UTC only")
            value = value.astimezone(UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        if isinstance(value, str):  # SQLite's text: fromisoformat reads every form stored, 30 times faster than
            try:  # peewee's strptime over its format list (docs/performance.md, "Reading rows")
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                value = super().python_value(value)
        else:
            value = super().python_value(value)
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value


class JSONField(TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value, sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BytesField(BlobField):
    """bytes on every database (psycopg returns a memoryview)."""

    def python_value(self, value):
        return None if value is None else bytes(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Agency(BaseModel):
    name = CharField(max_length=200, unique=True)
    kind = CharField(max_length=60, default="")  # social care, police, health, education...
    active = BooleanField(default=True)


class User(UserMixin, BaseModel):
    ROLES = ("practitioner", "business_manager", "admin")

    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=200)
    role = CharField(max_length=30, default="practitioner")
    password_hash = CharField(max_length=255, default="")
    agency = ForeignKeyField(Agency, null=True, backref="users", on_delete="SET NULL")
    job_title = CharField(max_length=200, default="")
    phone = CharField(max_length=60, default="")
    active = BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)
    totp_secret = CharField(max_length=64, default="")  # base32; empty until the user sets up a second factor
    totp_last_step = IntegerField(default=0)  # the last code's time step: a code works once

    @property
    def is_active(self) -> bool:
        return self.active


class Contact(BaseModel):
    """A directory entry: someone a procedure names by role in an agency, who may have no account."""

    agency = ForeignKeyField(Agency, backref="contacts", on_delete="CASCADE")
    role = CharField(max_length=40)
    name = CharField(max_length=200)
    job_title = CharField(max_length=200, default="")
    email = CharField(max_length=254)
    secure = BooleanField(default=False)  # address approved for personal data
    active = BooleanField(default=True)

    class Meta:
        indexes = ((("agency", "role"), False), (("agency", "role", "email"), True))


class Counter(BaseModel):
    """Per-year sequence for references: incremented inside the raising transaction."""

    name = CharField(max_length=40, unique=True)
    value = IntegerField(default=0)


class ProcedureVersion(BaseModel):
    """A procedure file's text as cases were raised under it: editing the file changes new cases only."""

    procedure_id = CharField(max_length=60, index=True)
    digest = CharField(max_length=64, unique=True)  # SHA-256 of `text`
    name = CharField(max_length=300)
    text = TextField()
    first_used_at = UTCDateTimeField(default=utcnow)


class Escalation(BaseModel):
    STATUSES = ("open", "resolved", "closed", "withdrawn")
    SUBJECTS = ("child", "unborn", "none")  # none: a strategic or thematic disagreement, about no one child

    reference = CharField(max_length=20, unique=True)
    procedure_id = CharField(max_length=60)
    procedure_version = ForeignKeyField(ProcedureVersion, null=True, backref="+", on_delete="RESTRICT")
    status = CharField(max_length=20, default="open", index=True)
    # The child
    subject = CharField(max_length=10, default="child")
    child_name = CharField(max_length=200)
    child_dob = DateField(null=True)
    child_due = DateField(null=True)  # an unborn baby's expected date of delivery
    child_identifier = CharField(max_length=60, default="")
    child_on_plan = BooleanField(default=False)
    child_looked_after = BooleanField(default=False)
    # The child's own child protection chair or IRO, named by the raiser: the only one told about this child
    child_chair_name = CharField(max_length=200, default="")
    child_chair_email = CharField(max_length=254, default="")
    # Who disagrees with whom
    raiser = ForeignKeyField(User, backref="raised", on_delete="RESTRICT")
    raiser_role = CharField(max_length=200, default="")
    raiser_agency = ForeignKeyField(Agency, null=True, backref="+", on_delete="SET NULL")
    raiser_contact_details = CharField(max_length=300, default="")
    counterpart_name = CharField(max_length=200, default="")
    counterpart_email = CharField(max_length=254, default="")
    counterpart_agency = ForeignKeyField(Agency, null=True, backref="+", on_delete="SET NULL")
    counterpart_agency_other = CharField(max_length=200, default="")  # "Not listed": the agency's name as typed
    # The disagreement
    categories = JSONField(default=list)
    category_other = CharField(max_length=200, default="")
    summary = TextField(default="")
    action_taken = TextField(default="")
    outcome_sought = TextField(default="")
    lead_aware = BooleanField(default=False)
    lead_name = CharField(max_length=200, default="")
    imminent_risk = BooleanField(default=False)
    specific_circumstance = CharField(max_length=40, null=True)
    requested_due_at = UTCDateTimeField(null=True)
    # Where it stands: the stage, its deadline and the next alert the sweep acts on
    stage_index = IntegerField(default=0)
    stage_started_at = UTCDateTimeField()
    due_at = UTCDateTimeField(null=True, index=True)
    next_alert_at = UTCDateTimeField(null=True, index=True)
    outcome = TextField(default="")
    contest_until = UTCDateTimeField(null=True)  # resolved: until then the other side may say it is not resolved
    version = IntegerField(default=0)  # bumped by every transition
    submission_key = CharField(max_length=64, null=True, unique=True)  # one case per submitted form
    created_at = UTCDateTimeField(default=utcnow)
    closed_at = UTCDateTimeField(null=True)
    # For the Business Manager's inbox (portal/inbox.py): the time of the case's latest event other than a view,
    # set where events are written, and the child's name normalised for a prefix search an index can answer.
    last_activity_at = UTCDateTimeField(default=utcnow)
    child_name_key = CharField(max_length=200, default="")
    child_surname_key = CharField(max_length=200, default="")

    # Retention: when the case's details were erased, and the person who confirmed it (the row stays, for reports)
    erased_at = UTCDateTimeField(null=True)
    erased_by = CharField(max_length=200, default="")

    @property
    def counterpart_agency_name(self) -> str:
        """From the directory, or as the raiser typed it when the directory did not list it."""
        return self.counterpart_agency.name if self.counterpart_agency_id else self.counterpart_agency_other

    @property
    def about(self) -> str:
        """Who the case is about, for headings and lists: no child's name when it names no child."""
        return "No particular child (strategic)" if self.subject == "none" else self.child_name

    @property
    def child_line(self) -> str:
        """The child in one line, as emails and link pages give it (to secure addresses only)."""
        if self.subject == "none":
            return "No particular child: a strategic or thematic disagreement"
        if self.subject == "unborn":
            due = f", expected {self.child_due.day} {self.child_due:%B %Y}" if self.child_due else ""
            return f"{self.child_name} (unborn){due}"
        born = f", born {self.child_dob.day} {self.child_dob:%B %Y}" if self.child_dob else ""
        return f"{self.child_name}{born}"

    class Meta:
        indexes = (
            (("created_at", "id"), False),
            (("last_activity_at", "id"), False),
            (("due_at", "id"), False),
            (("child_name_key",), False),
            (("child_surname_key",), False),
            (("closed_at",), False),  # the report: cases ended in a period
        )


class StageRecord(BaseModel):
    """One stage of one case: when it ran, its deadline and how it ended."""

    escalation = ForeignKeyField(Escalation, backref="stage_records", on_delete="CASCADE")
    stage_index = IntegerField()
    stage_key = CharField(max_length=60)
    started_at = UTCDateTimeField()
    due_at = UTCDateTimeField()
    ended_at = UTCDateTimeField(null=True)
    ending = CharField(max_length=20, null=True)  # resolved | escalated | decided | withdrawn
    statement = TextField(default="")

    class Meta:
        indexes = ((("escalation", "stage_index"), True), (("due_at",), False))  # the latter: the report's overdue


class JointRaiser(BaseModel):
    """Another agency's practitioner raising the case with the raiser (a joint escalation, as Bury allows): they
    see the case, get the raiser's emails and may do what the raiser may."""

    escalation = ForeignKeyField(Escalation, backref="joint_raisers", on_delete="CASCADE")
    name = CharField(max_length=200)
    email = CharField(max_length=254, index=True)  # stored lower case
    agency = ForeignKeyField(Agency, null=True, backref="+", on_delete="SET NULL")


class StageParty(BaseModel):
    """A named contact who acts at a stage; each is emailed and gets links."""

    stage = ForeignKeyField(StageRecord, backref="parties", on_delete="CASCADE")
    party = CharField(max_length=80)  # the procedure's party, e.g. counterpart.line_manager
    name = CharField(max_length=200)
    email = CharField(max_length=254)
    secure = BooleanField(default=False)
    contact = ForeignKeyField(Contact, null=True, backref="+", on_delete="SET NULL")
    verified = BooleanField(default=True)  # False: typed in by the person escalating, not from the directory

    class Meta:
        indexes = ((("stage", "email"), True),)


class AppendOnlyError(RuntimeError):
    """Events are the case's record; they are never changed or removed."""


class Event(BaseModel):
    escalation = ForeignKeyField(Escalation, backref="events", on_delete="RESTRICT")
    at = UTCDateTimeField(default=utcnow, index=True)
    kind = CharField(max_length=40)
    stage_index = IntegerField(null=True)
    actor = ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    actor_email = CharField(max_length=254, default="")  # a link recipient without an account
    text = TextField(default="")
    data = JSONField(default=dict)

    class Meta:
        indexes = ((("kind", "at"), False),)  # the report: one kind of event (a contested resolution) in a period

    def save(self, *args, **kwargs):
        if self._pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("events are append-only: an event cannot be changed")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        raise AppendOnlyError("events are append-only: an event cannot be deleted")

    @classmethod
    def update(cls, *args, **kwargs):
        raise AppendOnlyError("events are append-only: events cannot be updated")

    @classmethod
    def delete(cls, *args, **kwargs):
        raise AppendOnlyError("events are append-only: events cannot be deleted")


class Outbox(BaseModel):
    """An email to send: written in the transition's transaction, sent by a task, swept if lost."""

    STATUSES = ("pending", "sending", "sent", "failed", "awaiting_document")  # the last: a copy whose PDF is not ready

    idempotency_key = CharField(max_length=255, unique=True)
    escalation = ForeignKeyField(Escalation, null=True, backref="emails", on_delete="RESTRICT")
    purpose = CharField(max_length=40)
    recipient_email = CharField(max_length=254)
    recipient_name = CharField(max_length=200, default="")
    context = JSONField(default=dict)
    status = CharField(max_length=20, default="pending")
    attempts = IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    lease_until = UTCDateTimeField(null=True)
    last_error = TextField(default="")
    message_id = CharField(max_length=255, default="")
    created_at = UTCDateTimeField(default=utcnow)
    sent_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False), (("created_at", "id"), False))  # the latter: Sent mail


class ActionLink(BaseModel):
    """An emailed Resolve or Escalate link. Only the SHA-256 of its token is stored."""

    token_hash = CharField(max_length=64, unique=True)
    salt = CharField(max_length=64)
    escalation = ForeignKeyField(Escalation, backref="links", on_delete="CASCADE")
    stage_index = IntegerField()
    recipient_email = CharField(max_length=254)
    recipient_name = CharField(max_length=200, default="")
    action = CharField(max_length=20)  # resolve | escalate
    expires_at = UTCDateTimeField()
    used_at = UTCDateTimeField(null=True)
    superseded_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)


class Document(BaseModel):
    """A rendered PDF record, kept with its SHA-256."""

    escalation = ForeignKeyField(Escalation, null=True, backref="documents", on_delete="RESTRICT")
    kind = CharField(max_length=40)
    stage_index = IntegerField(null=True)
    key = CharField(max_length=255, unique=True)
    status = CharField(max_length=20, default="pending")  # pending | rendered | failed
    filename = CharField(max_length=200, default="")
    sha256 = CharField(max_length=64, default="")
    content = BytesField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    rendered_at = UTCDateTimeField(null=True)

    class Meta:
        # the inbox's documents list, newest first; the status page's failed records
        indexes = ((("created_at", "id"), False), (("status",), False))


class InboxMark(BaseModel):
    """One Business Manager's mark on one inbox item (a case, a document or a learning item): when they last opened
    it, and when they marked it reviewed, with their note. An item changed since it was opened is new again."""

    KINDS = ("case", "document", "learning")

    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=20)
    item_id = IntegerField()
    read_at = UTCDateTimeField(null=True)
    reviewed_at = UTCDateTimeField(null=True)
    note = TextField(default="")

    class Meta:
        indexes = ((("user", "kind", "item_id"), True),)


class Reminder(BaseModel):
    """One alert of one stage; the unique key makes each fire at most once."""

    key = CharField(max_length=255, unique=True)
    escalation = ForeignKeyField(Escalation, backref="reminders", on_delete="CASCADE")
    stage_index = IntegerField()
    kind = CharField(max_length=30)  # reminder | deadline | copy
    due_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(null=True)
    cancelled_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("escalation", "sent_at", "due_at"), False),)


class DeadlineChange(BaseModel):
    """A stage's deadline changed on purpose: an earlier date agreed, an extension, or a pause until a date. Each is
    also an event on the case; the schedule (portal.deadline_changes) applies them in order."""

    escalation = ForeignKeyField(Escalation, backref="deadline_changes", on_delete="RESTRICT")
    stage_index = IntegerField()
    kind = CharField(max_length=10)  # earlier | extend | pause
    made_at = UTCDateTimeField()
    made_by = ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    made_by_email = CharField(max_length=254, default="")
    made_by_name = CharField(max_length=200, default="")
    reason = TextField()
    due_at = UTCDateTimeField(null=True)  # earlier, extend: the new deadline
    until = UTCDateTimeField(null=True)  # pause: when the clock restarts, as planned
    ended_at = UTCDateTimeField(null=True)  # pause: when it did restart (at `until`, or earlier)

    class Meta:
        indexes = ((("escalation", "stage_index"), False), (("made_at",), False))  # the latter: the report


class UserSession(BaseModel):
    """A signed-in session, checked on every request: deleting the row ends it, whatever the cookie says."""

    token_hash = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = UTCDateTimeField(default=utcnow)
    last_seen_at = UTCDateTimeField(default=utcnow)


class Draft(BaseModel):
    """Answers to an unfinished form (the raise journey), kept server-side so leaving loses nothing."""

    user = ForeignKeyField(User, backref="drafts", on_delete="CASCADE")
    kind = CharField(max_length=40)
    answers = JSONField(default=dict)
    submission_key = CharField(max_length=64, default="")
    version = IntegerField(default=0)  # bumped by every save: a Check your answers page shows one version
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "kind"), False),)  # one per browser tab that starts one


class FormStash(BaseModel):
    """What someone typed when their session had expired, restored after they sign in again."""

    token_hash = CharField(max_length=64, unique=True)
    path = CharField(max_length=500)
    answers = JSONField(default=dict)
    created_at = UTCDateTimeField(default=utcnow)


class Learning(BaseModel):
    """What a resolution or final decision taught the partnership: counted by the quarterly report."""

    escalation = ForeignKeyField(Escalation, backref="learning", on_delete="RESTRICT")
    event = ForeignKeyField(Event, backref="+", on_delete="RESTRICT")  # the resolution or decision it came with
    stage_index = IntegerField()
    at = UTCDateTimeField(index=True)
    points = TextField(default="")  # learning points for the partnership
    policy = CharField(max_length=200, default="")  # which policy or procedure has a gap or weakness
    policy_gap = TextField(default="")  # what the gap or weakness is
    debrief = BooleanField(default=False)  # a debrief of the people involved is recommended


class QuarterlyReport(BaseModel):
    """A quarter's report, made and mailed once: the unique quarter makes a second run (or consumer) do nothing."""

    quarter = CharField(max_length=10, unique=True)  # e.g. 2026-Q3, the quarter reported on
    made_at = UTCDateTimeField()
    document = ForeignKeyField(Document, null=True, backref="+", on_delete="SET NULL")


class ThrottleCount(BaseModel):
    """A rate-limit counter (portal/throttle.py) when Redis is not configured; `key` holds no address in clear."""

    key = CharField(max_length=200, unique=True)
    count = IntegerField(default=0)
    expires_at = UTCDateTimeField(index=True)


class AccountLink(BaseModel):
    """An emailed link to set a password (new account or reset): single use, short-lived, stored as a hash."""

    token_hash = CharField(max_length=64, unique=True)
    salt = CharField(max_length=64)  # the token is HMAC(secret, salt): the sender rebuilds it, the database cannot
    user = ForeignKeyField(User, backref="account_links", on_delete="CASCADE")
    created_at = UTCDateTimeField(default=utcnow)
    expires_at = UTCDateTimeField()
    used_at = UTCDateTimeField(null=True)


class RecoveryCode(BaseModel):
    """A one-time code that stands in for the authenticator app; only its hash is kept."""

    user = ForeignKeyField(User, backref="recovery_codes", on_delete="CASCADE")
    code_hash = CharField(max_length=64)
    used_at = UTCDateTimeField(null=True)


class Heartbeat(BaseModel):
    """When a periodic job last ran (the reminder sweep writes `reminders`), so the admin page can alert."""

    name = CharField(max_length=40, unique=True)
    beat_at = UTCDateTimeField()
    handled = IntegerField(default=0)  # what the last run did, e.g. alerts sent


MODELS = [
    Agency,
    User,
    Contact,
    Counter,
    ProcedureVersion,
    Escalation,
    StageRecord,
    JointRaiser,
    StageParty,
    Event,
    Outbox,
    ActionLink,
    Document,
    InboxMark,
    Reminder,
    DeadlineChange,
    UserSession,
    Draft,
    FormStash,
    Heartbeat,
    Learning,
    QuarterlyReport,
    ThrottleCount,
    AccountLink,
    RecoveryCode,
]
