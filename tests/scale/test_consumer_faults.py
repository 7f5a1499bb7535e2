"""A real huey consumer killed with SIGKILL while the relay holds its message (docs/security.md, 'Mail delivery').

huey takes a task off its queue when a worker starts it, so the killed attempt is lost with the process;
the outbox row, still held under its lease, is what brings the message back. Expected: every message
delivered, at most two copies of any, both with the same Message-ID, every row `sent`.
"""

from __future__ import annotations

import os
import uuid

import pytest

from portal import links, mail
from portal.models import Outbox, utcnow
from tasks.mail import replay_outbox
from tests import factories
from tests.processes import wait_for
from tests.scale.consumers import Consumer, Queues

pytestmark = pytest.mark.slow
FAST_POLL = ("--delay", "0.05", "--max-delay", "0.2")


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def queues(request, tmp_path):
    """The consumers' queues: SqliteHuey in tmp_path, or RedisHuey under a unique name."""
    if request.param == "redis":
        url = os.environ.get("TEST_REDIS_URL")
        if not url:
            pytest.skip("TEST_REDIS_URL is not set: the RedisHuey runs are skipped")
    else:
        url = f"sqlite:///{tmp_path / 'huey.db'}"
    queues = Queues(url, f"escalation-portal-test-{uuid.uuid4().hex[:12]}")
    yield queues
    queues.remove()


def statuses() -> dict[int, str]:
    return {row.id: row.status for row in Outbox.select(Outbox.id, Outbox.status)}


def test_sigkill_while_the_relay_holds_the_message_loses_nothing(app, database_url, smtp_server, queues, tmp_path):
    with app.app_context():
        mail.set_waker(None)  # only the consumer sends
        raiser, ours, theirs = factories.world()
        links.init_secret(app.config["SECRET_KEY"])
        case = factories.escalation(raiser, theirs, utcnow())
        ids = sorted(statuses())
        assert len(ids) >= 3 and set(statuses().values()) == {"pending"}
    env = queues.environment(
        database_url, tmp_path / "consumer-instance", app.config["SECRET_KEY"], smtp_server, SMTP_TIMEOUT="10"
    )
    logs = [tmp_path / "senders.log", tmp_path / "sweeps.log"]
    # The sweeps run only when the test puts one on their queue (-n: no minute schedule).
    senders = Consumer("tasks.huey", env, logs[0], "--workers", "2", "-n", *FAST_POLL)
    sweeps = Consumer("tasks.schedule", env, logs[1], "--workers", "1", "-n", *FAST_POLL).start()
    smtp_server.block()  # the relay keeps the first message and holds back its 250
    try:
        senders.start()
        queues.put(replay_outbox)
        assert smtp_server.blocked.wait(60), logs[0].read_text() + logs[1].read_text()
        held_id = smtp_server.held["Message-ID"]
        senders.kill()  # mid-send: the task is gone from huey; the row is still `sending` under its lease
        smtp_server.release.set()

        with app.app_context():
            in_flight = [r for r in Outbox.select() if r.status == "sending"]
            assert in_flight, "the killed send left its row claimed"
            assert all(r.lease_until > utcnow() for r in in_flight)
            assert set(mail.due_for_sending()).isdisjoint(r.id for r in in_flight)  # held: not replayed
            # Five minutes pass: the dead sender's lease runs out (the consumer's clock cannot be moved).
            Outbox.update(lease_until=utcnow() - mail.LEASE).where(Outbox.status == "sending").execute()

        senders.start()
        queues.put(replay_outbox)
        with app.app_context():
            wait_for(lambda: set(statuses().values()) == {"sent"}, "every row sent", logs)
    finally:
        senders.stop()
        sweeps.stop()
        smtp_server.release.set()

    with app.app_context():
        rows = {row.id: row for row in Outbox.select().where(Outbox.escalation == case)}
    assert sorted(rows) == ids
    copies = smtp_server.by_message_id()
    assert set(copies) == {row.message_id for row in rows.values()}  # every row's message arrived
    assert all(1 <= n <= 2 for n in copies.values()), copies  # never more than the one repeat
    assert copies[held_id] == 2  # the relay had it when the sender died: the honest duplicate
    (held,) = [row for row in rows.values() if row.message_id == held_id]
    assert held.attempts == 2
    repeats = [m for m in smtp_server.messages if m["Message-ID"] == held_id]
    bodies = {m.get_body(("plain",)).get_content() for m in repeats}
    assert len(bodies) == 1  # the same message, the same links
    assert senders.process.returncode is not None
