"""F1 (SECURITY.md C): a real huey consumer killed with SIGKILL while the relay holds its message.

huey takes a task off its queue when a worker starts it, so the killed attempt is lost with the process;
the outbox row, still held under its lease, is what brings the message back. Expected: every message
delivered, at most two copies of any, both with the same Message-ID, every row `sent`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid

import pytest

from portal import links, mail
from portal.config import ROOT
from portal.models import Outbox, utcnow
from tasks import huey as app_huey
from tasks import make_huey
from tasks.mail import replay_outbox
from tests import factories
from tests.conftest import TEST_PROCEDURE
from tests.processes import wait_for

pytestmark = pytest.mark.slow
CONSUMER = ROOT / ".venv" / "bin" / "huey_consumer"


# Each database with the queue it is deployed with: SQLite and SqliteHuey on one machine, PostgreSQL and RedisHuey
# once the portal runs on several.
DEPLOYMENTS = ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis], id="postgres-redis")]


@pytest.fixture
def queue(database_url, tmp_path):
    """The consumer's queue, and a producer on it: SqliteHuey in tmp_path, or RedisHuey under a unique name."""
    redis = database_url.startswith("postgresql")
    if redis:
        url = os.environ.get("TEST_REDIS_URL")
        if not url:
            pytest.skip("TEST_REDIS_URL is not set: the RedisHuey runs are skipped")
    else:
        url = f"sqlite:///{tmp_path / 'huey.db'}"
    name = f"escalation-portal-test-{uuid.uuid4().hex[:12]}"
    producer = make_huey(url, name)
    yield url, name, producer
    producer.storage.flush_all()
    if redis:
        conn = producer.storage.conn
        for key in conn.scan_iter(match=f"*{producer.storage.name}*"):
            conn.delete(key)


class Consumer:
    """`huey_consumer tasks.huey` in its own process, configured only through the environment."""

    def __init__(self, env: dict[str, str], log_path) -> None:
        self.env, self.log_path, self.process = env, log_path, None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child owns it)
        self.process = subprocess.Popen(
            [str(CONSUMER), "tasks.huey", "--workers", "2", "--worker-type", "thread", "--no-periodic"]
            + ["--delay", "0.05", "--max-delay", "0.2"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # graceful: running tasks finish first
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def enqueue(producer, task_wrapper, *args) -> None:
    """Put a task on the consumer's queue (the test process's own huey runs in immediate mode)."""
    task = task_wrapper.s(*args)
    producer.storage.enqueue(app_huey.serialize_task(task), task.priority)


def statuses() -> dict[int, str]:
    return {row.id: row.status for row in Outbox.select(Outbox.id, Outbox.status)}


@pytest.mark.parametrize("database_url", DEPLOYMENTS, indirect=True)
def test_sigkill_while_the_relay_holds_the_message_loses_nothing(app, database_url, smtp_server, queue, tmp_path):
    huey_url, huey_name, producer = queue
    with app.app_context():
        mail.set_waker(None)  # only the consumer sends
        raiser, ours, theirs = factories.world()
        links.init_secret(app.config["SECRET_KEY"])
        case = factories.escalation(raiser, theirs, utcnow())
        ids = sorted(statuses())
        assert len(ids) >= 3 and set(statuses().values()) == {"pending"}
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HUEY_URL": huey_url,
        "HUEY_NAME": huey_name,
        "PORTAL_INSTANCE": str(tmp_path / "consumer-instance"),
        "PORTAL_PROCEDURE": TEST_PROCEDURE,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_TIMEOUT": "10",
    }
    consumer = Consumer(env, tmp_path / "consumer.log")
    smtp_server.block()  # the relay keeps the first message and holds back its 250
    try:
        consumer.start()
        enqueue(producer, replay_outbox)
        assert smtp_server.blocked.wait(60), (tmp_path / "consumer.log").read_text()
        held_id = smtp_server.held["Message-ID"]
        consumer.kill()  # mid-send: the task is gone from huey; the row is still `sending` under its lease
        smtp_server.release.set()

        with app.app_context():
            in_flight = [r for r in Outbox.select() if r.status == "sending"]
            assert in_flight, "the killed send left its row claimed"
            assert all(r.lease_until > utcnow() for r in in_flight)
            assert set(mail.due_for_sending()).isdisjoint(r.id for r in in_flight)  # held: not replayed
            # Five minutes pass: the dead sender's lease runs out (the consumer's clock cannot be moved).
            Outbox.update(lease_until=utcnow() - mail.LEASE).where(Outbox.status == "sending").execute()

        consumer.start()
        enqueue(producer, replay_outbox)
        with app.app_context():
            wait_for(lambda: set(statuses().values()) == {"sent"}, "every row sent", tmp_path / "consumer.log")
    finally:
        consumer.stop()
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
    assert consumer.process.returncode is not None
