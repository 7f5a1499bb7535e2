"""The quarterly report (portal/quarterly.py): the schedule consumer asks each minute whether it is due and hands
the rendering to a worker, as the other sweeps do; the database row decides, so a lost task is asked for again."""

from __future__ import annotations

from huey import crontab

from portal import quarterly
from portal.models import utcnow
from tasks import huey, schedule, task_context


@huey.task(retries=0)
def make_quarterly_report() -> None:
    """Render and mail the report if it is still due (another worker, or an earlier minute's task, may have)."""
    with task_context() as app:
        quarterly.send_quarterly_report(app, utcnow())


@schedule.periodic_task(crontab(minute="*"), retries=0)
def ask_for_quarterly_report() -> None:
    """Schedules are UTC and 09:00 London moves with the clocks, so this asks each minute rather than at 09:00."""
    with task_context():
        due = quarterly.report_due(utcnow())
    if due is not None:
        make_quarterly_report()
