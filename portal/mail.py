"""Email: outbox rows written inside transitions, and the hook that wakes the sender after commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from portal.db import is_postgres
from portal.models import Escalation, Outbox, utcnow
from portal.routing import Recipient

_waker: Callable[[list[int]], None] | None = None


def set_waker(waker: Callable[[list[int]], None] | None) -> None:
    """Installed by the app: enqueues send tasks. Without it the outbox sweep still sends every row."""
    global _waker
    _waker = waker


def wake_sender(outbox_ids: Iterable[int]) -> None:
    ids = [i for i in outbox_ids if i]
    if ids and _waker is not None:
        _waker(ids)


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
