"""A relay that accepts connections and never answers, with real consumers (docs/operations.md).

Every sender is stuck on the relay; the sweeps' own consumer still runs the reminder sweep; the connect timeout
frees the senders; once the relay answers, the next outbox replay sends everything, although each row's backoff
has a minute to run. tests/web/test_outbox.py plays the same hang over ten minutes of the app's clock.
"""

from __future__ import annotations

import uuid

import pytest

from portal import links, mail, reminders
from portal.cli import upgrade_database
from portal.db import init_database
from portal.models import Outbox, utcnow
from tasks.mail import replay_outbox
from tasks.reminders import sweep_reminders
from tests import factories
from tests.processes import wait_for
from tests.scale.consumers import Consumer, Queues

pytestmark = pytest.mark.slow
CONNECT_TIMEOUT = 5  # seconds: SMTP_TIMEOUT is 10 minutes, so only the connect timeout can free a sender
FAST_POLL = ("--delay", "0.05", "--max-delay", "0.2")


@pytest.fixture
def database_url(tmp_path):
    """SQLite alone: what is under test is how the consumers share out the work, not the database."""
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    init_database(url)
    upgrade_database()
    return url


def status_of(ids: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in Outbox.select(Outbox.status).where(Outbox.id.in_(ids)):
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def test_a_hanging_relay_holds_up_no_sweep_and_its_mail_goes_at_the_next_replay_once_it_answers(
    app, database_url, smtp_server, tmp_path
):
    with app.app_context():
        mail.set_waker(None)  # only the consumers send
        raiser, ours, theirs = factories.world()
        links.init_secret(app.config["SECRET_KEY"])
        factories.escalation(raiser, theirs, utcnow())
        ids = [row.id for row in Outbox.select(Outbox.id)]
    queues = Queues(f"sqlite:///{tmp_path / 'huey.db'}", f"escalation-portal-test-{uuid.uuid4().hex[:12]}")
    env = queues.environment(
        database_url,
        tmp_path / "instance",
        app.config["SECRET_KEY"],
        smtp_server,
        SMTP_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        SMTP_TIMEOUT="600",
    )
    logs = [tmp_path / "senders.log", tmp_path / "sweeps.log"]
    # One sender per row, so that every sender is stuck at once; sweeps only when the test puts one (-n).
    senders = Consumer("tasks.huey", env, logs[0], "--workers", str(len(ids)), "-n", *FAST_POLL).start()
    sweeps = Consumer("tasks.schedule", env, logs[1], "--workers", "1", "-n", *FAST_POLL).start()
    smtp_server.hang()
    try:
        with app.app_context():
            queues.put(sweep_reminders)
            wait_for(lambda: reminders.last_sweep() is not None, "the sweeps' consumer to be up", logs)
            first_beat = reminders.last_sweep().beat_at

            queues.put(replay_outbox)  # hands every row to the senders, who all wait for the relay's greeting
            wait_for(lambda: status_of(ids) == {"sending": len(ids)}, "every sender to be stuck on the relay", logs)
            queues.put(sweep_reminders)
            stuck_at_beat: list[dict[str, int]] = []

            def swept() -> bool:
                if reminders.last_sweep().beat_at == first_beat:
                    return False
                stuck_at_beat.append(status_of(ids))
                return True

            wait_for(swept, "the reminder sweep to run", logs)
            assert stuck_at_beat == [{"sending": len(ids)}], "the sweep waited for the senders"

            wait_for(lambda: status_of(ids) == {"pending": len(ids)}, "the connect timeout to free the senders", logs)
            assert {row.last_error for row in Outbox.select()} == {
                "relay unavailable: cannot connect: SMTPServerDisconnected: Connection unexpectedly closed: timed out"
            }
            assert all(row.next_attempt_at > utcnow() for row in Outbox.select())  # a minute's backoff each

            smtp_server.start()  # the relay answers again
            queues.put(replay_outbox)  # the next minute's replay
            wait_for(lambda: status_of(ids) == {"sent": len(ids)}, "every row sent", logs, timeout=30)
    finally:
        senders.stop()
        sweeps.stop()
        queues.remove()

    assert sorted(smtp_server.by_message_id().values()) == [1] * len(ids)
