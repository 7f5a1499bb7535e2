"""Email: outbox rows written inside transitions, the hook that wakes the sender after commit,
building each message from its row, and delivering it (SMTP, or .eml files for the demo).

Delivery is at least once (docs/security.md, 'Mail delivery'): a sender claims a row under a lease, sends, then marks
it sent in its own transaction. A crash or timeout between the relay's acceptance and that mark
sends the message again, with the same Message-ID, so receivers can tell it is a repeat.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import os
import re
import smtplib
import ssl
from collections.abc import Mapping
from email.charset import Charset
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from peewee import fn

from portal import links as action_links
from portal.db import database, is_postgres
from portal.models import ActionLink, Document, Escalation, Event, Learning, Outbox, StageRecord, utcnow
from portal.prepared import Prepared, Slot
from portal.procedure import DOCUMENTS, SPECIFIC_CIRCUMSTANCES, Procedure, Stage
from portal.registry import ProcedureUnavailable, registry
from portal.routing import Recipient
from portal.strict_templates import strict_template
from portal.views.display import actor_label
from portal.wake import Waker
from portal.workdays import UTC, format_london

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

# Installed by the app to enqueue send tasks; without it the outbox sweep still sends every row.
wake_sender = Waker()
set_waker = wake_sender.install


def queue_email(
    escalation: Escalation | None,
    purpose: str,
    recipient: Recipient,
    key: str,
    context: dict | None = None,
) -> int | None:
    """Write one outbox row, once per idempotency key; returns its id, or None if it already exists."""
    if Outbox.select().where(Outbox.idempotency_key == key).exists():
        return None
    inserted = (
        Outbox.insert(
            idempotency_key=key,
            escalation=escalation,
            purpose=purpose,
            recipient_email=recipient.email,
            recipient_name=recipient.name,
            context={"secure": recipient.secure, "party": recipient.party, **(context or {})},
            next_attempt_at=utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_ignore()
        .execute()
    )
    if is_postgres():
        return inserted  # RETURNING gives None when a concurrent transaction won the key
    return Outbox.get(Outbox.idempotency_key == key).id  # SQLite writers are serialised (IMMEDIATE)


# --- Building messages -------------------------------------------------------------------------

# What each purpose is called in the subject line (which never carries the child's details).
SUBJECTS = {
    "stage_started": "Action needed",
    "stage_notice": "For information",
    "copy": "Copy for your records",
    "imminent_risk": "Imminent risk flagged",
    "specific_circumstance": "Urgent: specific circumstance",
    "business_manager_update": "New escalation raised",
    "resolved": "Resolved",
    "decided": "Final decision recorded",
    "withdrawn": "Withdrawn",
    "document": "Document for your records",
    "escalated": "Escalated",
    "reminder": "Reminder",
    "overdue": "Deadline missed",
    "still_overdue": "Still overdue",
    "not_escalated": "Not escalated in time",
    "copy_overdue": "Copy not sent in time",
    "deadline_changed": "Deadline changed",
    "learning": "Learning for the partnership",
    "quarterly_report": "Quarterly report on escalations",
}
ACCOUNT_SUBJECTS = {"account_link": "Set your password"}  # mail about someone's account, not a case
# Mail about a case that has ended: no deadline to show.
CLOSED_PURPOSES = {"resolved", "decided", "withdrawn", "document", "learning"}
# Mail for the raiser and the Business Manager, who have accounts: it links to the case page.
CASE_LINK_PURPOSES = CLOSED_PURPOSES | {"escalated", "business_manager_update", "deadline_changed"}
LINK_LABELS = {
    "resolve": "Resolve",
    "escalate": "Escalate",
    "decide": "Decide",
    "agree": "I agree it is resolved",
    "contest": "It is not resolved",
    "document": "Open the document",
}
# Control characters and every line break Python knows (\r \n \v \f \x1c-\x1e \x85 \u2028 \u2029).
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(value: Any) -> str:
    """A value fit for one header line: line breaks and control characters become spaces."""
    return " ".join(_UNSAFE_IN_HEADER.sub(" ", str(value or "")).split())


_UTF8 = Charset("utf-8")
_ENCODED_LINE_MAX = 76  # RFC 2047 section 2: a line holding an encoded word
_LINE_MAX = 998  # RFC 5322 section 2.1.1


def _encoded_words(text: str, limit: int) -> list[str]:
    """`text` as RFC 2047 encoded words of at most `limit` characters each (a long word is split between them)."""
    words, chunk = [], ""
    for char in text:
        if chunk and len(_UTF8.header_encode(chunk + char)) > limit:
            words.append(_UTF8.header_encode(chunk))
            chunk = ""
        chunk += char
    return [*words, _UTF8.header_encode(chunk)]


class SubjectHeader(UnstructuredHeader):
    """A subject folded word by word within 76 characters, its first word always on the Subject line.

    email.policy.default folds the value as one unit: one that fits a line of its own but not after "Subject: "
    (70-77 ASCII characters) goes whole onto the next line, leaving "Subject:" empty, and Python 3.11 reads it
    back with a leading space. Wrapping before an encoded word (a non-ASCII stage name) also doubles a space.
    """

    def fold(self, *, policy):
        value = str(self)
        if value != " ".join(value.split()):  # not one of ours (header_text): Python's own folding
            return super().fold(policy=policy)
        width = min(policy.max_line_length or _LINE_MAX, _ENCODED_LINE_MAX)
        units, encoded = [], False  # each goes on the wire after one space, where the line may fold
        for word in value.split(" "):
            if word.isascii() and "=?" not in word:
                units.append(word)
                encoded = False
            else:  # whitespace between two encoded words is not text (RFC 2047 6.2): the space goes inside
                units += _encoded_words(" " + word if encoded else word, width - len(self.name) - 2)
                encoded = True
        lines = [f"{self.name}: {units[0]}"]
        for unit in units[1:]:
            if len(lines[-1]) + 1 + len(unit) > width:
                lines.append("")
            lines[-1] += " " + unit
        if any(len(line) > _LINE_MAX for line in lines):  # an ASCII word of 990 characters: Python encodes it
            return super().fold(policy=policy)
        return policy.linesep.join(lines) + policy.linesep


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("subject", SubjectHeader)
MESSAGE_POLICY = default_policy.clone(header_factory=_HEADERS)


def message_id_for(idempotency_key: str, secret: str, base_url: str) -> str:
    """The same for every retry of a row, and unguessable without the secret (docs/security.md, 'Mail delivery')."""
    digest = hmac.new(secret.encode(), idempotency_key.encode(), hashlib.sha256).hexdigest()[:32]
    host = urlsplit(base_url).hostname or "portal.invalid"
    return f"<{digest}@{host}>"


def _as_utc(value: Any) -> dt.datetime | None:
    if isinstance(value, str) and value:
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _procedure(case: Escalation) -> Procedure | None:
    """The case's procedure; one that cannot be loaded (logged by the registry) names the stage by number."""
    try:
        return registry.of_case(case)
    except ProcedureUnavailable:
        return None


def _stage(procedure: Procedure | None, index: int | None) -> Stage | None:
    if procedure is None or index is None or not 0 <= index <= procedure.last_index:
        return None
    return procedure.stage(index)


def open_links(row: Outbox, stage_index: int, base_url: str) -> list[dict[str, str]]:
    """The recipient's links for the case and stage that can still act, as labelled URLs."""
    found = ActionLink.select().where(
        (ActionLink.escalation == row.escalation_id)
        & (ActionLink.stage_index == stage_index)
        & (fn.LOWER(ActionLink.recipient_email) == row.recipient_email.strip().lower())
        & ActionLink.used_at.is_null()
        & ActionLink.superseded_at.is_null()
    )
    order = list(LINK_LABELS)
    return [
        {"action": link.action, "label": LINK_LABELS[link.action], "url": f"{base_url}/a/{action_links.token_of(link)}"}
        for link in sorted(found, key=lambda link: (order.index(link.action), link.id))
        if link.action in LINK_LABELS
    ]


def message_context(row: Outbox, app: Flask) -> dict[str, Any]:
    """What the templates may show. The child's details are in it only for a secure recipient."""
    config, ctx = app.config, row.context or {}
    base_url = config["BASE_URL"].rstrip("/")
    case: Escalation | None = row.escalation
    secure = ctx.get("secure") is True
    context: dict[str, Any] = {
        "purpose": row.purpose,
        "recipient_name": row.recipient_name,
        "secure": secure,
        "portal_url": base_url,
        "kind": ctx.get("kind", ""),
        "late": bool(ctx.get("late")),
        "document": DOCUMENTS.get(ctx.get("document") or "", ctx.get("document") or ""),
        "role": (ctx.get("role") or "").replace("_", " "),
        "case_url": base_url + ctx["case_url_path"] if str(ctx.get("case_url_path", "")).startswith("/") else "",
        "links": [],
        "child": None,
        "unverified": [str(person) for person in ctx.get("unverified") or []],  # typed in, not from the directory
        "not_listed_agency": str(ctx.get("not_listed_agency") or ""),  # the counterpart's agency, not in it either
        "outstanding": "",  # how outstanding issues will be pursued: with the outcome, for secure addresses only
        "reopened": bool(ctx.get("reopened")),  # a resolution the other side contested
        "contest_until": format_london(_as_utc(ctx.get("contest_until"))) if ctx.get("contest_until") else "",
        # Why an overdue stage's notice reaches this person: party, raiser, business_manager, next_stage, escalator.
        "told_as": str(ctx.get("told_as") or ""),
        "notice_number": int(ctx.get("notice_number") or 0),  # the overdue notice's count: 2 is the first repeat
        "window_until": format_london(_as_utc(ctx.get("window_until"))) if ctx.get("window_until") else "",
        "next_stage_name": "",
        "moved_by": "",  # who escalated the case (or contested its resolution) to this stage
        "moved_why": "",  # their reason: free text, for secure addresses only
        "change": str(ctx.get("change") or ""),  # a deadline changed: what, by whom, the new date
        "reason": str(ctx.get("reason") or "") if secure else "",  # and why: free text, secure addresses only
        "period": str(ctx.get("period", "")),  # the quarterly report's, and its page
        "report_url": base_url + report_path
        if (report_path := str(ctx.get("report_url_path", ""))).startswith("/")
        else "",
    }
    if row.purpose == "account_link":
        from portal.accounts import link_url

        context |= {"set_password_url": link_url(ctx["account_link_id"]), "partnership": registry.current().partnership}
    if case is None:
        return context | {
            "reference": "",
            "stage_name": "",
            "due": "",
            "last_stage": False,
            "partnership": registry.current().partnership,
        }
    procedure = _procedure(case)
    stage_index = ctx.get("stage_index", case.stage_index)
    stage = _stage(procedure, stage_index)
    next_stage = _stage(procedure, stage_index + 1) if stage_index is not None else None
    due = _as_utc(ctx.get("due"))
    if due is None and stage_index is not None:
        record = StageRecord.get_or_none((StageRecord.escalation == case) & (StageRecord.stage_index == stage_index))
        due = record.due_at if record else case.due_at
    raiser = case.raiser
    if not context["case_url"] and row.purpose in CASE_LINK_PURPOSES:
        context["case_url"] = f"{base_url}/cases/{case.reference}"
    context |= {
        "reference": case.reference,
        "partnership": procedure.partnership if procedure else "",
        "procedure_name": procedure.name if procedure else "",
        "stage_name": stage.name if stage else (f"Stage {stage_index + 1}" if stage_index is not None else ""),
        "last_stage": bool(procedure and stage_index == procedure.last_index),
        "next_stage_name": next_stage.name if next_stage else "",
        "due": "" if row.purpose in CLOSED_PURPOSES else format_london(due),
        "raised_by": raiser.name,
        "raised_by_role": case.raiser_role or raiser.job_title,
        "raised_by_agency": case.raiser_agency.name if case.raiser_agency_id else "",
        "counterpart_agency": case.counterpart_agency_name,
        "imminent_risk": case.imminent_risk,
        "specific_circumstance": SPECIFIC_CIRCUMSTANCES.get(case.specific_circumstance or "", ""),
        "status": case.status,
        # A document is for the record: whoever acts at the stage has their links in their own email.
        "links": open_links(row, stage_index, base_url)
        if stage_index is not None and row.purpose != "document"
        else [],
    }
    if row.purpose == "escalated" and stage_index is not None:
        moved = (
            Event.select()
            .where(
                (Event.escalation == case)
                & (Event.kind.in_(("escalated", "contested")))
                & (Event.stage_index == stage_index)
            )
            .order_by(Event.id.desc())
            .first()
        )
        if moved is not None:
            context["moved_by"] = actor_label(moved) or ""
            context["moved_why"] = moved.text if secure else ""
    if row.purpose == "learning":
        lesson = Learning.get_or_none(Learning.event == ctx.get("event_id")) or Learning()
        context["lessons"] = {  # the written text may name the child: secure addresses only
            "points": lesson.points if secure else "",
            "policy": lesson.policy,
            "policy_gap": lesson.policy_gap if secure else "",
            "has_points": bool(lesson.points),
            "has_gap": bool(lesson.policy_gap),
            "debrief": lesson.debrief,
        }
    if secure:
        dob = case.child_dob
        context |= {
            "child": {"name": case.child_name, "dob": f"{dob.day} {dob:%B %Y}" if dob else "", "line": case.child_line},
            "summary": case.summary,
            "outcome_sought": case.outcome_sought,
            "outcome": case.outcome,
            "outstanding": str(ctx.get("outstanding") or ""),
        }
    return context


def build_message(row: Outbox, app: Flask) -> EmailMessage:
    """The email for one outbox row: plain text and HTML from templates/email/<purpose>.txt|.html."""
    config = app.config
    context = message_context(row, app)
    try:
        to = Address(display_name=header_text(row.recipient_name), addr_spec=header_text(row.recipient_email))
    except (ValueError, IndexError) as error:
        raise DeliveryError(f"invalid recipient address: {error}", permanent=True) from error
    subject = SUBJECTS.get(row.purpose) or ACCOUNT_SUBJECTS.get(row.purpose, "Escalation update")
    if context["reference"]:
        subject += f": {context['reference']}"
    if context["stage_name"]:
        subject += f", {context['stage_name']}"
    context["subject"] = subject = header_text(subject)
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["Subject"] = subject
    message["From"] = header_text(config["MAIL_FROM"])
    message["To"] = to
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id_for(row.idempotency_key, config["SECRET_KEY"], config["BASE_URL"])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no automatic replies
    # Plain text is not autoescaped and cannot reach the headers: it is only ever the body.
    message.set_content(strict_template(app, f"email/{row.purpose}.txt").render(context))
    message.add_alternative(strict_template(app, f"email/{row.purpose}.html").render(context), subtype="html")
    carries = row.purpose == "document" or (row.context or {}).get("document_id")
    if carries and context["secure"]:  # the PDF names the child: secure addresses only
        document = Document.get_or_none(Document.id == (row.context or {}).get("document_id"))
        if document is None or document.status != "rendered":
            raise DeliveryError("the document is not rendered", permanent=True)
        message.add_attachment(document.content, maintype="application", subtype="pdf", filename=document.filename)
    return message


# --- Delivering them ---------------------------------------------------------------------------


RELAY_UNAVAILABLE = "relay unavailable: "  # how a row's last_error starts when the relay, not the message, failed


class DeliveryError(Exception):
    """A message not delivered: permanent (5xx, bad address) fails the row, anything else retries.

    `relay_down`: the relay could not be reached or would not talk (refused, timed out, disconnected, 421): the row
    waits for the relay rather than for anything about itself, and is retried as soon as the relay takes a message.
    """

    def __init__(self, reason: str, permanent: bool = False, relay_down: bool = False) -> None:
        super().__init__(reason)
        self.reason = header_text(RELAY_UNAVAILABLE + reason if relay_down else reason)[:500]
        self.permanent = permanent


def _smtp_reason(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}"


def _reply_error(code: int, text: bytes | str) -> DeliveryError:
    """The relay's answer: 5xx is final, 421 means the relay is closing down, any other 4xx concerns this message."""
    return DeliveryError(_smtp_reason(code, text), permanent=500 <= code < 600, relay_down=code == 421)


def send_smtp(message: EmailMessage, recipient: str, config: Mapping[str, Any]) -> None:
    """Hand the message to the relay; a refused connection, timeout or 4xx is temporary, a 5xx permanent.

    The TCP connect and the relay's greeting have SMTP_CONNECT_TIMEOUT, the rest of the exchange SMTP_TIMEOUT: a
    relay that accepts connections and never answers holds a sender for seconds, not for the whole send timeout.
    """
    sender = message["From"].addresses[0].addr_spec
    try:
        connect_timeout = float(config["SMTP_CONNECT_TIMEOUT"])
        smtp = smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=connect_timeout)
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"cannot connect: {type(error).__name__}: {error}", relay_down=True) from error
    try:
        smtp.sock.settimeout(float(config["SMTP_TIMEOUT"]))
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as error:
        raise _reply_error(*next(iter(error.recipients.values()))) from error
    except smtplib.SMTPAuthenticationError as error:  # the relay's settings, not this message: keep retrying
        reason = f"it refused our credentials: {_smtp_reason(error.smtp_code, error.smtp_error)}"
        raise DeliveryError(reason, relay_down=True) from error
    except smtplib.SMTPResponseException as error:
        raise _reply_error(error.smtp_code, error.smtp_error) from error
    except (smtplib.SMTPException, OSError) as error:  # disconnected, timed out, TLS failure
        raise DeliveryError(f"{type(error).__name__}: {error}", relay_down=True) from error
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        smtp.close()


def write_eml(message: EmailMessage, row: Outbox, config: Mapping[str, Any]) -> Path:
    """The demo's backend: `<MAIL_FILE_DIR>/<created-at>-<outbox id>.eml`, written whole or not at all."""
    directory = Path(config["MAIL_FILE_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{row.created_at:%Y%m%dT%H%M%SZ}-{row.id}.eml"
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may hold a child's details
        with os.fdopen(fd, "wb") as handle:
            handle.write(message.as_bytes())
        os.replace(partial, path)
    except OSError as error:
        raise DeliveryError(f"cannot write {path.name}: {error}") from error
    return path


def deliver(message: EmailMessage, row: Outbox, config: Mapping[str, Any]) -> None:
    backend = config.get("MAIL_BACKEND", "file")
    if backend == "smtp":
        send_smtp(message, message["To"].addresses[0].addr_spec, config)  # the address the header was built from
    elif backend == "file":
        write_eml(message, row, config)
    else:
        raise DeliveryError(f"unknown MAIL_BACKEND {backend!r}: use smtp or file")


# --- The outbox: claim, send, mark -------------------------------------------------------------

LEASE = dt.timedelta(minutes=5)
BACKOFF = tuple(dt.timedelta(minutes=m) for m in (1, 2, 5, 10, 30))  # then every 30 minutes
GIVE_UP_AFTER = dt.timedelta(days=5)  # RFC 5321 4.5.4.1: "at least 4-5 days"
ALERT_AFTER = dt.timedelta(hours=1)  # a safeguarding deadline cannot wait 5 days: tell a person


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def claim(outbox_id: int, now: dt.datetime | None = None) -> bool:
    """Take the row for one attempt with one conditional UPDATE; False if it is not due or someone holds it."""
    now = now or utcnow()
    with database.atomic():
        taken = (
            Outbox.update(status="sending", lease_until=now + LEASE, attempts=Outbox.attempts + 1)
            .where(
                (Outbox.id == outbox_id)
                & (Outbox.next_attempt_at <= now)
                & ((Outbox.status == "pending") | ((Outbox.status == "sending") & (Outbox.lease_until < now)))
            )
            .execute()
        )
    return bool(taken)


def _mark_sent(row: Outbox, message_id: str) -> None:
    with database.atomic():
        Outbox.update(status="sent", sent_at=utcnow(), message_id=message_id, lease_until=None, last_error="").where(
            (Outbox.id == row.id) & (Outbox.status != "sent")
        ).execute()


def _mark_failed_attempt(row: Outbox, error: DeliveryError) -> str:
    """Back to pending with the next attempt's time, or failed (permanent, or retried for 5 days)."""
    now = utcnow()
    if error.permanent:
        status, reason, next_at = "failed", error.reason, row.next_attempt_at
    elif now - row.created_at >= GIVE_UP_AFTER:
        status, reason, next_at = (
            "failed",
            f"gave up after {GIVE_UP_AFTER.days} days: {error.reason}",
            row.next_attempt_at,
        )
    else:
        status, reason, next_at = "pending", error.reason, now + backoff(row.attempts)
    with database.atomic():
        # Only while this attempt still holds the row: a sender that has since succeeded keeps `sent`.
        Outbox.update(status=status, last_error=reason, next_attempt_at=next_at, lease_until=None).where(
            (Outbox.id == row.id) & (Outbox.status == "sending") & (Outbox.attempts == row.attempts)
        ).execute()
    return status


def send_outbox_row(outbox_id: int, app: Flask) -> str:
    """One attempt at one row: 'skipped' (not ours), 'sent', 'pending' (will retry) or 'failed'."""
    if not claim(outbox_id):
        return "skipped"
    row = Outbox.get_by_id(outbox_id)
    try:
        message = build_message(row, app)
        deliver(message, row, app.config)
    except DeliveryError as error:
        status = _mark_failed_attempt(row, error)
        log.warning(
            "outbox %s (%s) attempt %s not delivered: %s; now %s",
            row.id,
            row.purpose,
            row.attempts,
            error.reason,
            status,
        )
        return status
    except Exception as error:  # a bug or bad data: the row stays visible and is retried (and fails after 5 days)
        # The traceback once, at the first attempt; each retry after it is one line.
        log.error(
            "outbox %s (%s) attempt %s could not be built or sent: %s",
            row.id,
            row.purpose,
            row.attempts,
            type(error).__name__,
            exc_info=row.attempts == 1,
        )
        return _mark_failed_attempt(row, DeliveryError(f"internal error: {type(error).__name__}"))
    _mark_sent(row, message["Message-ID"])
    log.info("outbox %s (%s) sent on attempt %s", row.id, row.purpose, row.attempts)
    release_waiting()
    return "sent"


def due_for_sending(now: dt.datetime | None = None, limit: int = 1000) -> list[int]:
    """Rows the replay sweep hands to senders: pending and due, or held under a lease that has expired."""
    now = now or utcnow()
    due = ((Outbox.status == "pending") & (Outbox.next_attempt_at <= now)) | (
        (Outbox.status == "sending") & (Outbox.lease_until < now)
    )
    return [
        row.id for row in Outbox.select(Outbox.id).where(due).order_by(Outbox.next_attempt_at, Outbox.id).limit(limit)
    ]


def _waiting_for_the_relay(now: dt.datetime):
    """Rows whose last attempt found the relay unavailable, waiting out their backoff."""
    return (
        (Outbox.status == "pending") & (Outbox.next_attempt_at > now) & Outbox.last_error.startswith(RELAY_UNAVAILABLE)
    )


def release_waiting(now: dt.datetime | None = None) -> int:
    """The relay has just taken a message: every row waiting for it is due now and its sender woken.

    Otherwise mail queued during an outage would wait for its own next step (up to 30 minutes) although the relay
    is back. Rows that failed for a reason of their own (a 4xx about that message) keep their backoff.
    """
    now = now or utcnow()
    if not Outbox.select(Outbox.id).where(_waiting_for_the_relay(now)).exists():  # a read: no write lock per send
        return 0
    with database.atomic():
        released = Outbox.update(next_attempt_at=now).where(_waiting_for_the_relay(now)).execute()
    if released:
        log.info("outbox: the relay is taking mail again; %s row(s) waiting for it retried now", released)
        wake_sender(due_for_sending(now))
    return released


def retry_one_early(now: dt.datetime | None = None) -> list[int]:
    """While mail waits for an unavailable relay and none of it is due, the next of it is made due now.

    The replay sweep asks this each minute: one attempt a minute (bounded by SMTP_CONNECT_TIMEOUT) finds a relay that
    is back within a minute, and its success releases the rest (`release_waiting`).
    """
    now = now or utcnow()
    row = (
        Outbox.select(Outbox.id).where(_waiting_for_the_relay(now)).order_by(Outbox.next_attempt_at, Outbox.id).first()
    )
    if row is None:
        return []
    with database.atomic():
        made_due = (
            Outbox.update(next_attempt_at=now).where((Outbox.id == row.id) & _waiting_for_the_relay(now)).execute()
        )
    return [row.id] if made_due else []


def undelivered(now: dt.datetime | None = None, older_than: dt.timedelta = ALERT_AFTER) -> list[Outbox]:
    """Mail not delivered an hour after it was written (still trying, or failed): the administrators' alert."""
    now = now or utcnow()
    return list(
        Outbox.select()
        .where((Outbox.status != "sent") & (Outbox.created_at <= now - older_than))
        .order_by(Outbox.created_at, Outbox.id)
    )


def requeue(outbox_id: int, now: dt.datetime | None = None) -> None:
    """An administrator's "send again": the row goes back to pending, due now, and the sender is woken."""
    now = now or utcnow()
    with database.atomic():
        Outbox.update(status="pending", next_attempt_at=now, lease_until=None).where(
            (Outbox.id == outbox_id) & Outbox.status.in_(("pending", "failed"))  # never one a sender holds
        ).execute()
    wake_sender([outbox_id])


_LINK_PATH = re.compile(r"(/a|/account/password)/[A-Za-z0-9_-]{20,}")


def envelope_subject(row: Outbox) -> str:
    """The subject an envelope shows: the purpose and the reference, never the child (select the case with the row)."""
    subject = SUBJECTS.get(row.purpose) or ACCOUNT_SUBJECTS.get(row.purpose, "Escalation update")
    return f"{subject}: {row.escalation.reference}" if row.escalation_id else subject


def message_for_reading(row: Outbox, app: Flask) -> EmailMessage:
    """An email as the Business Manager reads it on the Sent mail page: built again with every emailed link's token
    hidden, whatever the backend (a link is a credential for its recipient alone; the .eml file keeps it)."""
    message = build_message(row, app)
    for part in message.walk():
        if part.get_content_maintype() != "text":
            continue
        part.set_content(
            _LINK_PATH.sub(r"\1/[link for the recipient only]", part.get_content()), subtype=part.get_content_subtype()
        )
    return message


_TOLD = Prepared(  # on the case page of every case with imminent risk or a specific circumstance
    lambda: (
        Outbox.select(Outbox.recipient_name, Outbox.recipient_email)
        .where((Outbox.escalation == Slot("case_id")) & (Outbox.purpose == Slot("purpose")))
        .order_by(Outbox.id)
        .tuples()
    )
)


def told(escalation: Escalation, purpose: str) -> list[str]:
    """Who was sent this kind of email about the case, as "Name (email)": what a page may say was told."""
    rows = _TOLD.run(case_id=escalation.id, purpose=purpose)
    return list(dict.fromkeys(f"{name} ({email})" if name else email for name, email in rows))
