"""The reminder sweep, every minute (UTC). No lock_task: the sweep's claims make a second run harmless."""

from __future__ import annotations

import logging

from huey import crontab

from portal import reminders
from portal.db import database
from portal.models import utcnow
from tasks import app_context, schedule

log = logging.getLogger(__name__)


@schedule.periodic_task(crontab(minute="*"), retries=0)
def sweep_reminders() -> None:
    """Send what has come due since the last run (a missed minute is caught up: it selects due <= now)."""
    with app_context(), database.connection_context():
        fired = reminders.sweep(utcnow())
    if fired:
        log.info("reminder sweep: %d alerts sent", fired)
