"""The quarterly report, asked for every minute: the database row decides whether it is due (portal/quarterly.py)."""

from __future__ import annotations

from huey import crontab

from portal import quarterly
from portal.models import utcnow
from tasks import schedule, task_context


@schedule.periodic_task(crontab(minute="*"), retries=0)
def send_quarterly_report() -> None:
    """Schedules are UTC and 09:00 London moves with the clocks, so the task asks each minute rather than at 09:00."""
    with task_context() as app:
        quarterly.send_quarterly_report(app, utcnow())
