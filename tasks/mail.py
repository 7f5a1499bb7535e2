"""Sending the outbox. The database schedule is authoritative: huey only wakes senders up
(docs/security.md, 'Task queue delivery').

`send_outbox` makes one attempt at one row and never uses huey's retries (a retry in flight dies with
its consumer anyway); a failed attempt writes the next attempt's time on the row, and `replay_outbox`
hands every due row, and every row whose sender died holding it, back to a sender each minute.
"""

from __future__ import annotations

import logging

from huey import crontab

from portal import mail
from tasks import huey, schedule, task_context

log = logging.getLogger(__name__)


@huey.task(retries=0)
def send_outbox(outbox_id: int) -> None:
    """One attempt at one outbox row; a row someone else holds, or already sent, is left alone."""
    with task_context() as app:
        mail.send_outbox_row(outbox_id, app)


@schedule.periodic_task(crontab(minute="*"), retries=0)
def replay_outbox() -> None:
    """Re-enqueue due rows and expired leases: covers a lost wake-up, a killed consumer, a Redis failover.

    With nothing due but mail waiting for the relay, one row is tried early, so a relay that is back is noticed.
    """
    with task_context():
        due = mail.due_for_sending() or mail.retry_one_early()
    for outbox_id in due:
        send_outbox(outbox_id)
    if due:
        log.info("outbox replay: %d rows handed to senders", len(due))
