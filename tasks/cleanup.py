"""Hourly clean-up of short-lived rows: form stashes nobody came back for, and spent throttle counters."""

from __future__ import annotations

import logging

from huey import crontab

from portal.auth import remove_old_stashes
from portal.throttle import remove_expired
from tasks import schedule, task_context

log = logging.getLogger(__name__)


@schedule.periodic_task(crontab(minute="17"), retries=0)
def remove_expired_rows() -> None:
    """Stashes live 24 hours and counters a day at most: an hourly pass keeps both tables small."""
    with task_context():
        stashes, counters = remove_old_stashes(), remove_expired()
    if stashes or counters:
        log.info("clean-up: %d form stashes and %d throttle counters removed", stashes, counters)
