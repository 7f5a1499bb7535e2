"""Is the service doing its work unattended? The reminder sweep's heartbeat, mail not delivered, PDFs that failed:
what the Business Manager and administrators must hear about before a deadline passes unnoticed."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import Flask
from flask_login import current_user
from peewee import JOIN, DatabaseError, fn

from portal.mail import ALERT_AFTER
from portal.models import Document, Escalation, Heartbeat, Outbox, utcnow
from portal.reminders import last_sweep

SWEEP_LATE_AFTER = dt.timedelta(minutes=5)  # it runs every minute: five missed runs is a stopped consumer
FAILED_SHOWN = 20
WATCHERS = ("admin", "business_manager")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceStatus:
    now: dt.datetime
    sweep: Heartbeat | None  # None: the sweep has never run on this database
    sweep_late: bool
    undelivered: int  # emails not delivered an hour after they were written
    oldest_undelivered: dt.datetime | None
    failed_documents: int
    latest_failed: list[Document]  # the latest FAILED_SHOWN, with their case's reference


def sweep_is_late(now: dt.datetime | None = None) -> bool:
    sweep = last_sweep()
    return sweep is None or sweep.beat_at < (now or utcnow()) - SWEEP_LATE_AFTER


UNSENT = tuple(status for status in Outbox.STATUSES if status != "sent")


def service_status(now: dt.datetime | None = None) -> ServiceStatus:
    """Everything on the status page, in four queries whatever the size of the outbox or the documents."""
    now = now or utcnow()
    sweep = last_sweep()
    undelivered, oldest = (
        Outbox.select(fn.COUNT(Outbox.id), fn.MIN(Outbox.created_at))
        # IN, not != "sent": the (status, next_attempt_at) index then skips the sent mail, nearly all of the outbox
        .where(Outbox.status.in_(UNSENT) & (Outbox.created_at <= now - ALERT_AFTER))
        .tuples()
        .get()
    )
    failed = Document.select().where(Document.status == "failed")
    latest = (
        Document.select(
            Document.id,
            Document.escalation,
            Document.kind,
            Document.stage_index,
            Document.created_at,
            Escalation.id,
            Escalation.reference,
        )
        .join(Escalation, JOIN.LEFT_OUTER)  # a record of no one case (a report) has none
        .where(Document.status == "failed")
        .order_by(Document.id.desc())
        .limit(FAILED_SHOWN)
    )
    return ServiceStatus(
        now=now,
        sweep=sweep,
        sweep_late=sweep is None or sweep.beat_at < now - SWEEP_LATE_AFTER,
        undelivered=undelivered,
        oldest_undelivered=Outbox.created_at.python_value(oldest) if oldest else None,
        failed_documents=failed.count(),
        latest_failed=list(latest),
    )


def _sweep_alert() -> bool:
    """For base.html: a red banner on the watchers' pages while the sweep is late (asked only on their pages)."""
    if not (current_user.is_authenticated and current_user.role in WATCHERS):
        return False
    try:
        return sweep_is_late()
    except DatabaseError as error:  # an error page while the database is down must still render
        log.warning("could not read the sweep's heartbeat (%s)", type(error).__name__)
        return False


def init_service_status(app: Flask) -> None:
    app.context_processor(lambda: {"sweep_alert": _sweep_alert})
