"""The reminder sweep: send every reminder, overdue notice (and its repeats), escalation watch and copy check that
has come due, in working hours (docs/deadlines.md, 'Reminders and the overdue notice').

Plain Python (no Flask). A periodic task calls `sweep(now)` every minute; it selects
cases by the indexed `next_alert_at <= now`, so its cost follows the number due, not
the number open, and a consumer that was down catches up in one run. Each case is
handled in its own transaction that claims the case, marks its due alerts sent
(conditionally), writes their outbox rows under unique keys, writes an overdue
notice's next repeat and moves `next_alert_at` on: two sweeps at once, or a sweep
killed half-way, send nothing twice (docs/security.md, 'Reminders sent once').
"""

from __future__ import annotations

import datetime as dt
import logging

from portal import links
from portal.case_actions import escalated_by
from portal.db import database, is_postgres
from portal.deadline_changes import restart_from_sweep
from portal.deadlines import in_working_hours, next_notice, next_stage_start
from portal.mail import queue_email, wake_sender
from portal.models import ActionLink, Escalation, Event, Heartbeat, Outbox, Reminder, StageParty, StageRecord
from portal.prepared import Prepared, Slot
from portal.procedure import ROLES, Procedure
from portal.registry import ProcedureUnavailable, registry
from portal.routing import Recipient, next_stage_people, resolve_parties
from portal.workdays import format_london, to_utc

log = logging.getLogger(__name__)

BATCH = 500
LATE_AFTER = dt.timedelta(hours=1)  # an alert sent later than this after it was due says so
HEARTBEAT = "reminders"
IN_WORKING_HOURS = ("reminder", "deadline", "overdue", "not_escalated")  # every kind but the copy check


def case_url_path(escalation: Escalation) -> str:
    return f"/cases/{escalation.reference}"


def sweep(now: dt.datetime, batch: int = BATCH) -> int:
    """Send every alert due at `now`, each case by the procedure version it was raised under; returns how many
    alerts (reminder rows) fired."""
    now = to_utc(now)
    fired = 0
    after: tuple[dt.datetime, int] | None = None
    while True:
        page = list(due_cases_query(now, after, batch))
        for case_id, _ in page:
            try:
                count, outbox = _handle_case(case_id, now)
            except ProcedureUnavailable:  # logged once by the registry; the case stays due until it can load
                continue
            except Exception:  # one broken case must not stop everyone else's reminders
                log.exception("reminder sweep: case id %s failed; it stays due and is retried next sweep", case_id)
                continue
            fired += count
            wake_sender(outbox)
        if len(page) < batch:
            break
        after = (page[-1][1], page[-1][0])
    _beat(now, fired)
    return fired


def due_cases_query(now: dt.datetime, after: tuple[dt.datetime, int] | None = None, batch: int = BATCH):
    """A page of due cases as (id, next_alert_at), after `after` (keyset: skipped cases stay behind).

    A range on the indexed next_alert_at: the cost follows the number due, not the number open.
    """
    query = Escalation.select(Escalation.id, Escalation.next_alert_at).where(
        (Escalation.next_alert_at <= now) & (Escalation.status == "open")
    )
    if after is not None:
        at, last_id = after
        query = query.where(
            (Escalation.next_alert_at >= at)  # a range on the index, however the OR below is planned
            & ((Escalation.next_alert_at > at) | (Escalation.id > last_id))
        )
    return query.order_by(Escalation.next_alert_at, Escalation.id).limit(batch).tuples()


def _claim(case_id: int, now: dt.datetime) -> Escalation | None:
    """The case, if it is still open and due and nobody else holds it; None means leave it alone.

    PostgreSQL: a row lock taken with SKIP LOCKED, so a concurrent sweep (or a user's
    transition) never waits for us and we never wait for it. SQLite: the transaction
    began IMMEDIATE (writers are serialised), and the conditional UPDATE finds nothing
    once another sweep has moved `next_alert_at` on.
    """
    due = (Escalation.id == case_id) & (Escalation.status == "open") & (Escalation.next_alert_at <= now)
    if is_postgres():
        # NO KEY UPDATE: Event and Outbox inserts elsewhere (KEY SHARE on the case) are not blocked.
        return Escalation.select().where(due).for_update("FOR NO KEY UPDATE", skip_locked=True).first()
    if not Escalation.update(next_alert_at=Escalation.next_alert_at).where(due).execute():
        return None
    return Escalation.get_by_id(case_id)


def _handle_case(case_id: int, now: dt.datetime) -> tuple[int, list[int]]:
    """One case, one transaction: its due alerts sent once, its next alert time moved on."""
    fired, outbox = 0, []
    with database.atomic():
        case = _claim(case_id, now)
        if case is None:
            return 0, []
        procedure = registry.of_case(case)
        due = Reminder.select().where(
            (Reminder.escalation == case)
            & Reminder.sent_at.is_null()
            & Reminder.cancelled_at.is_null()
            & (Reminder.due_at <= now)
        )
        if is_postgres():
            due = due.for_update(skip_locked=True)  # a transition ending the stage holds them: it wins
        for reminder in due.order_by(Reminder.due_at, Reminder.id):
            if _waits(procedure, reminder, now):
                continue
            taken = (
                Reminder.update(sent_at=now)
                .where((Reminder.id == reminder.id) & Reminder.sent_at.is_null() & Reminder.cancelled_at.is_null())
                .execute()
            )
            if taken:
                outbox += _fire(procedure, case, reminder, now)
                fired += 1
        Escalation.update(next_alert_at=_next_alert(procedure, case, now)).where(Escalation.id == case.id).execute()
    return fired, outbox


def _next_alert(procedure: Procedure, case: Escalation, now: dt.datetime) -> dt.datetime | None:
    """The case's next alert time: workflow.next_alert_at, but an alert left waiting for working hours counts
    from their start, so the case is not claimed every minute all night."""
    pending = Reminder.select(Reminder.kind, Reminder.due_at).where(
        (Reminder.escalation == case) & Reminder.sent_at.is_null() & Reminder.cancelled_at.is_null()
    )
    return min(
        (in_working_hours(procedure, now) if _waits(procedure, r, now) else r.due_at for r in pending), default=None
    )


def _waits(procedure: Procedure, reminder: Reminder, now: dt.datetime) -> bool:
    """A late alert (the consumer was down) found outside working hours waits for them, as it would have on time;
    one due within the last hour goes now (the sweep runs a little after 17:00:00, not at it)."""
    return (
        reminder.kind in IN_WORKING_HOURS
        and now - reminder.due_at > LATE_AFTER
        and in_working_hours(procedure, now) != now
    )


def _fire(procedure: Procedure, case: Escalation, reminder: Reminder, now: dt.datetime) -> list[int]:
    late = now - reminder.due_at > LATE_AFTER
    base = {"stage_index": reminder.stage_index, "late": late}
    if reminder.kind == "copy":
        return _copy_check(procedure, case, reminder, now, base)
    if reminder.kind == "restart":  # a pause ends at its date
        return restart_from_sweep(procedure, case, now)
    record = StageRecord.get_or_none(
        (StageRecord.escalation == case) & (StageRecord.stage_index == reminder.stage_index)
    )
    if record is None or reminder.stage_index > procedure.last_index:
        log.error("reminder %s: case %s has no record of stage %s", reminder.key, case.reference, reminder.stage_index)
        return []
    alert = _Alert(procedure, case, reminder, record, {**base, "due": record.due_at.isoformat()})
    if reminder.kind == "reminder":
        return alert.reminder(now)
    if reminder.kind == "not_escalated":
        return alert.not_escalated(now)
    # The overdue notice, first or repeated: the next one is written now, so the table holds one row ahead.
    outbox = alert.overdue(now) if reminder.kind == "deadline" else alert.still_overdue(now)
    alert.follow_up(now)
    return outbox


class _Alert:
    """One reminder row of a stage come due: who is told, with what, and what it leaves to come."""

    def __init__(
        self, procedure: Procedure, case: Escalation, reminder: Reminder, record: StageRecord, context: dict
    ) -> None:
        self.procedure, self.case, self.row, self.record = procedure, case, reminder, record
        self.stage = procedure.stage(reminder.stage_index)
        self.context = context
        self.parties = _stage_parties(record)
        self.links = _open_links(case, record)  # a party's own Resolve/Escalate links, named in its context

    @property
    def number(self) -> int:
        """Which overdue notice this is: the deadline's is the first, `.../overdue2` the second..."""
        if self.row.kind == "deadline":
            return 1
        return int(self.row.key.rpartition("/overdue")[2])

    def _send(
        self, purpose: str, people: list[tuple[Recipient, str]], context: dict
    ) -> list[tuple[Recipient, int | None]]:
        """Each person once: a party of the stage with their own links, anyone else with the case page (if they
        have an account to see it: the raiser, the Business Manager, someone who may escalate it)."""
        sent, seen = [], set()
        for person, told_as in people:
            email = person.email.lower()
            if email in seen:
                continue
            seen.add(email)
            extra = {**context, "told_as": told_as}
            if own := self.links.get(email):
                extra["links"] = own
            elif told_as in ("raiser", "business_manager", "escalator"):
                extra["case_url_path"] = case_url_path(self.case)
            sent.append((person, _queue(self.case, purpose, person, self.row, extra)))
        return sent

    def _record(self, now: dt.datetime, kind: str, what: str, sent: list[tuple[Recipient, int | None]]) -> list[int]:
        return _record(self.case, self.row, now, kind, what, sent, self.context["late"])

    def reminder(self, now: dt.datetime) -> list[int]:
        context = {"kind": "reminder", **self.context}
        sent = self._send("reminder", [(p, "party") for p in self.parties], context)
        what = f"Reminder sent ({self.stage.name} is due {format_london(self.record.due_at)})"
        return self._record(now, "reminder_sent", what, sent)

    def overdue(self, now: dt.datetime) -> list[int]:
        """The first notice: the people named at the stage, the raiser and the Business Manager."""
        people = (
            [(p, "party") for p in self.parties]
            + [(r, "raiser") for r in _raiser(self.procedure, self.case)]
            + [(r, "business_manager") for r in _business_managers(self.procedure, self.case)]
        )
        sent = self._send("overdue", people, {"kind": "deadline", **self.context})
        what = f"Deadline missed: {self.stage.name} was due {format_london(self.record.due_at)}; overdue notice sent"
        return self._record(now, "deadline_missed", what, sent)

    def still_overdue(self, now: dt.datetime) -> list[int]:
        """A repeat: the people named at the stage, the Business Manager and the next stage's people, who will act
        if it is escalated."""
        nxt = (
            [(r, "next_stage") for r in next_stage_people(self.procedure, self.case)[0]]
            if self.stage.index < self.procedure.last_index
            else []
        )
        people = (
            [(p, "party") for p in self.parties]
            + [(r, "business_manager") for r in _business_managers(self.procedure, self.case)]
            + nxt
        )
        context = {"kind": "still_overdue", "notice_number": self.number, **self.context}
        sent = self._send("still_overdue", people, context)
        what = (
            f"Still overdue: {self.stage.name} was due {format_london(self.record.due_at)}; "
            f"overdue notice {self.number} sent"
        )
        return self._record(now, "still_overdue", what, sent)

    def not_escalated(self, now: dt.datetime) -> list[int]:
        """The time the procedure allows for escalating has passed: those who may escalate and the Business
        Manager are told."""
        until = next_stage_start(self.procedure, self.stage, self.record.due_at)
        context = {"kind": "not_escalated", "window_until": until.isoformat(), **self.context}
        people = [(r, "escalator") for r in self._escalators()] + [
            (r, "business_manager") for r in _business_managers(self.procedure, self.case)
        ]
        sent = self._send("not_escalated", people, context)
        what = (
            f"Not escalated in time: {self.stage.name} was due {format_london(self.record.due_at)} and the procedure "
            f"allows {self.procedure.stage(self.stage.index + 1).escalate_within} to escalate it; notice sent"
        )
        return self._record(now, "not_escalated", what, sent)

    def _escalators(self) -> list[Recipient]:
        """Who may escalate the stage (portal.case_actions.escalated_by): those named at the stage for it, else
        whom the directory gives."""
        people: list[Recipient] = []
        for party in escalated_by(self.procedure, self.stage, self.case):
            named = [p for p in self.parties if p.party == party]
            people += named or resolve_parties(self.procedure, (party,), self.case)
        return people

    def follow_up(self, now: dt.datetime) -> None:
        """Write the next overdue notice, and after the first the escalation watch; keep the stage's links working
        until a grace period after the next notice, since it asks them to act."""
        # Counted from when this one was due; one sent late counts from now, so a sweep catching up after an
        # outage sends one notice, not one for each day missed.
        after = now if self.context["late"] else self.row.due_at
        following = next_notice(self.procedure, self.procedure.stage_overdue_every(self.stage), after)
        prefix = self.row.key.rpartition("/")[0]
        _add_row(self.row, f"{prefix}/overdue{self.number + 1}", "overdue", following)
        links.keep_open(self.case, self.stage.index, following)
        if self.number == 1 and self.stage.index < self.procedure.last_index:
            nxt = self.procedure.stage(self.stage.index + 1)
            if nxt.escalate_within is not None:
                window = in_working_hours(
                    self.procedure, next_stage_start(self.procedure, self.stage, self.record.due_at)
                )
                _add_row(self.row, f"{prefix}/not-escalated", "not_escalated", window)


def _add_row(after: Reminder, key: str, kind: str, due_at: dt.datetime) -> None:
    """One more alert of the same stage; its unique key makes a second write of it nothing."""
    Reminder.insert(
        key=key, escalation=after.escalation_id, stage_index=after.stage_index, kind=kind, due_at=due_at
    ).on_conflict_ignore().execute()


def _copy_check(procedure: Procedure, case: Escalation, reminder: Reminder, now: dt.datetime, base: dict) -> list[int]:
    """Salford: the notice must reach the role within the time allowed; if no copy was sent, say so."""
    role = reminder.key.rpartition("/copy/")[2]
    copies = Outbox.select(Outbox.context).where(
        (Outbox.escalation == case) & (Outbox.purpose == "copy") & (Outbox.status == "sent")
    )
    carried = [o for o in copies if o.context.get("document_id") or not o.context.get("document")]  # the notice too
    if any(o.context.get("party") == role and o.context.get("stage_index") == reminder.stage_index for o in carried):
        return []
    people = _dedupe(_raiser(procedure, case) + _business_managers(procedure, case))
    context = {
        **base,
        "kind": "copy_overdue",
        "due": reminder.due_at.isoformat(),
        "role": role,
        "case_url_path": case_url_path(case),
    }
    sent = [(r, _queue(case, "copy_overdue", r, reminder, context)) for r in people]
    title = ROLES.get(role.rpartition(".")[2], role).lower()
    what = f"No copy was sent to the {title} by {format_london(reminder.due_at)}; notice sent"
    return _record(case, reminder, now, "copy_overdue", what, sent, context["late"])


def _record(
    case: Escalation,
    reminder: Reminder,
    now: dt.datetime,
    kind: str,
    what: str,
    sent: list[tuple[Recipient, int | None]],
    late: bool,
) -> list[int]:
    """The case's record says what was sent to whom, and whether it went late."""
    who = ", ".join(f"{r.name} <{r.email}>" if r.name else r.email for r, _ in sent) or "nobody (no contact found)"
    text = f"{what} to {who}."
    if late:
        text += f" Sent late: it was due {format_london(reminder.due_at)}."
    Event.create(
        escalation=case,
        at=now,
        kind=kind,
        stage_index=reminder.stage_index,
        text=text,
        data={"reminder": reminder.key, "recipients": [r.email for r, _ in sent], "late": late},
    )
    if not sent:
        log.warning("reminder %s: no one to send it to", reminder.key)
    return [outbox_id for _, outbox_id in sent if outbox_id]


def _queue(case: Escalation, purpose: str, recipient: Recipient, reminder: Reminder, context: dict) -> int | None:
    # One row per case/stage/reminder/recipient: a second sweep fails the unique key and sends nothing.
    return queue_email(case, purpose, recipient, f"{reminder.key}/{purpose}/{recipient.email.lower()}", context)


def _stage_parties(record: StageRecord) -> list[Recipient]:
    return [
        Recipient(p.party, p.name, p.email, p.secure, p.contact_id)
        for p in StageParty.select().where(StageParty.stage == record).order_by(StageParty.id)
    ]


def _open_links(case: Escalation, record: StageRecord) -> dict[str, dict[str, int]]:
    """Each party's links for the stage that can still act (they expire a grace period after the deadline)."""
    rows = ActionLink.select(ActionLink.id, ActionLink.action, ActionLink.recipient_email).where(
        (ActionLink.escalation == case)
        & (ActionLink.stage_index == record.stage_index)
        & ActionLink.used_at.is_null()
        & ActionLink.superseded_at.is_null()
    )
    links: dict[str, dict[str, int]] = {}
    for link in rows:
        links.setdefault(link.recipient_email.lower(), {})[link.action] = link.id
    return links


def _raiser(procedure: Procedure, case: Escalation) -> list[Recipient]:
    return resolve_parties(procedure, ("raiser",), case)


def _business_managers(procedure: Procedure, case: Escalation) -> list[Recipient]:
    return resolve_parties(procedure, ("partnership.business_manager",), case)


def _dedupe(people: list[Recipient]) -> list[Recipient]:
    seen: dict[str, Recipient] = {}
    for person in people:
        seen.setdefault(person.email.lower(), person)
    return list(seen.values())


def _beat(now: dt.datetime, handled: int) -> None:
    with database.atomic():
        Heartbeat.insert(name=HEARTBEAT, beat_at=now, handled=handled).on_conflict(
            conflict_target=[Heartbeat.name], update={Heartbeat.beat_at: now, Heartbeat.handled: handled}
        ).execute()


_LAST_SWEEP = Prepared(lambda: Heartbeat.select().where(Heartbeat.name == Slot("name")))  # on every watcher's page


def last_sweep() -> Heartbeat | None:
    """When the reminder sweep last ran and what it sent (the admin page alerts when it is stale)."""
    return _LAST_SWEEP.first(name=HEARTBEAT)
