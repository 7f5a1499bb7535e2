"""Rendering the case's PDF records. As with mail, huey only wakes renderers; pending rows are the truth."""

from __future__ import annotations

import logging

from huey import crontab

from portal import documents
from tasks import huey, schedule, task_context

log = logging.getLogger(__name__)


@huey.task(retries=0)
def render_document(document_id: int) -> None:
    """Render one document; one already rendered (by another consumer, or a replay) is left alone."""
    with task_context() as app:
        documents.render_document(document_id, app)


@schedule.periodic_task(crontab(minute="*"), retries=0)
def render_pending_documents() -> None:
    """Documents whose wake-up was lost (a killed consumer, a queue that was down) are rendered within a minute."""
    with task_context():
        pending = documents.pending_documents()
    for document_id in pending:
        render_document(document_id)
    if pending:
        log.info("documents: %d pending handed to renderers", len(pending))
