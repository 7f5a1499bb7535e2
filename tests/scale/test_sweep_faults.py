"""The reminder sweep under faults: concurrent sweeps, and a real consumer killed mid-sweep
(docs/security.md, 'Reminders sent once').

Every due reminder must reach the outbox exactly once: none missed, none twice.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

import pytest
from peewee import fn

from portal import reminders
from portal.db import database, init_database, is_postgres
from portal.models import Agency, Contact, Escalation, Event, Outbox, Reminder, StageParty, StageRecord, User
from portal.registry import version_for
from tasks.reminders import sweep_reminders
from tests import factories
from tests.conftest import TEST_PROCEDURE, _empty_postgres
from tests.processes import wait_for
from tests.scale.consumers import Consumer, Queues

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.UTC
# A stage started Tue 1 Dec 2026 10:00: its "24 hours" reminder, and its deadline 5 working days on.
DUE = dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
DEADLINE = dt.datetime(2026, 12, 8, 17, 0, tzinfo=UTC)
NOW = DUE + dt.timedelta(minutes=5)
CHUNK = 500


def seed_due_cases(count: int, due: dt.datetime = DUE, deadline: dt.datetime = DEADLINE) -> list[int]:
    """`count` open cases at stage 1 whose first reminder is due at `due` (bulk inserts, not the workflow)."""
    started = due - dt.timedelta(hours=24)
    ours, theirs = Agency.create(name="Seed social care"), Agency.create(name="Seed police", kind="police")
    partnership = Agency.create(name="Seed partnership", kind="partnership")
    Contact.create(agency=partnership, role="business_manager", name="BM", email="bm@partnership.example")
    raiser = User.create(email="raiser@seed.example", name="Rae Raiser", agency=ours)
    version = version_for(factories.procedure())
    ids: list[int] = []
    with database.atomic():
        for first in range(0, count, CHUNK):
            rows = [
                dict(
                    reference=f"ESC-2026-{n:05d}",
                    procedure_id="three-stage",
                    procedure_version=version.id,
                    child_name="Child",
                    raiser=raiser,
                    raiser_agency=ours,
                    counterpart_name="Pat Counter",
                    counterpart_email=f"pat{n}@police.example",
                    counterpart_agency=theirs,
                    summary="Seeded",
                    outcome_sought="Seeded",
                    stage_index=0,
                    stage_started_at=started,
                    due_at=deadline,
                    next_alert_at=due,
                    created_at=started,
                )
                for n in range(first, min(first + CHUNK, count))
            ]
            Escalation.insert_many(rows).execute()
        ids = [e.id for e in Escalation.select(Escalation.id).order_by(Escalation.id)]
        for first in range(0, len(ids), CHUNK):
            chunk = ids[first : first + CHUNK]
            StageRecord.insert_many(
                [
                    dict(escalation=i, stage_index=0, stage_key="practitioners", started_at=started, due_at=deadline)
                    for i in chunk
                ]
            ).execute()
        records = dict(StageRecord.select(StageRecord.escalation, StageRecord.id).tuples())
        for first in range(0, len(ids), CHUNK):
            chunk = ids[first : first + CHUNK]
            StageParty.insert_many(
                [dict(stage=records[i], party="raiser", name=raiser.name, email=raiser.email) for i in chunk]
                + [
                    dict(stage=records[i], party="counterpart", name="Pat", email=f"pat{i}@police.example")
                    for i in chunk
                ]
            ).execute()
            Reminder.insert_many(
                [
                    dict(key=f"case{i}/stage1/{kind}", escalation=i, stage_index=0, kind=kind, due_at=when)
                    for i in chunk
                    for kind, when in (("reminder1", due), ("deadline", deadline))
                ]
            ).execute()
    Reminder.update(kind="reminder").where(Reminder.kind == "reminder1").execute()
    return ids


def assert_each_due_reminder_sent_exactly_once(count: int, deadline: dt.datetime = DEADLINE) -> None:
    sent = Reminder.select().where(Reminder.sent_at.is_null(False))
    assert sent.count() == count
    assert all(r.kind == "reminder" for r in sent)
    # Two recipients per case, one row each: a duplicate would need a second key, a miss leaves one short.
    per_case = (
        Outbox.select(Outbox.escalation, fn.COUNT(Outbox.id))
        .where(Outbox.purpose == "reminder")
        .group_by(Outbox.escalation)
        .tuples()
    )
    assert sorted({n for _, n in per_case}) == [2]
    assert len(per_case) == count
    # Events carry no unique key: one per case shows no sweep handled a case twice.
    events = Event.select(Event.escalation, fn.COUNT(Event.id)).where(Event.kind == "reminder_sent")
    assert {n for _, n in events.group_by(Event.escalation).tuples()} == {1}
    assert events.count() == count
    assert Escalation.select().where(Escalation.next_alert_at == deadline).count() == count


@pytest.mark.both_engines
def test_two_sweeps_at_once_send_every_due_reminder_exactly_once(db):
    ids = seed_due_cases(1000)
    database.close()
    barrier = threading.Barrier(2)
    fired: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with database.connection_context():  # each thread its own connection
                barrier.wait()
                fired.append(reminders.sweep(NOW, batch=200))
        except BaseException as error:  # noqa: BLE001 (reported by the main thread)
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert sum(fired) == len(ids) == 1000  # disjoint claims whose union is every due case
    if is_postgres():
        assert min(fired) > 0, fired  # SKIP LOCKED: both made progress, neither waited for the other
    database.connect(reuse_if_open=True)
    assert_each_due_reminder_sent_exactly_once(1000)
    assert reminders.sweep(NOW) == 0


# --- F3: a real consumer killed mid-sweep ----------------------------------------------------------------

COUNT = 1000
KILL_AFTER = 300


def portal_env(tmp_path: Path, database_url: str, huey_url: str, huey_name: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        HUEY_URL=huey_url,
        HUEY_NAME=huey_name,
        PORTAL_INSTANCE=str(tmp_path / "instance"),
        SECRET_KEY="fault-test-secret-" + "x" * 32,
        PORTAL_PROCEDURE=TEST_PROCEDURE,
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(tmp_path / "mail"),
        PYTHONPATH=str(ROOT),
    )
    return env


def sweeps(env: dict[str, str], log: Path) -> Consumer:
    """A consumer of the sweeps' queue with one worker, running only the sweeps the test puts there."""
    return Consumer("tasks.schedule", env, log, "-w", "1", "-n").start()


def enqueue_sweep(queues: Queues, times: int = 1) -> None:
    """What the periodic scheduler does each minute: put a sweep on the queue (`times` back to back)."""
    for _ in range(times):
        queues.put(sweep_reminders)


def sweeping(log: Path) -> bool:
    return log.exists() and "Executing tasks.reminders.sweep_reminders" in log.read_text(errors="replace")


def sent_count() -> int:
    return Reminder.select().where(Reminder.sent_at.is_null(False)).count()


def wait_sent(condition, what: str, logs: list[Path]) -> None:
    """The consumers run on the wall clock: wait (never time) for their progress, saying how far they got."""
    wait_for(condition, what, logs, timeout=120.0, note=lambda: f"{sent_count()} reminders sent")


def due_now() -> tuple[dt.datetime, dt.datetime]:
    """Due a few minutes ago on the wall clock (the consumer sweeps at its own now); the deadline a week on. Not
    late (under an hour), so the reminders go at any hour the test runs: a late one waits for working hours."""
    now = dt.datetime.now(UTC).replace(microsecond=0)
    return now - dt.timedelta(minutes=5), now + dt.timedelta(days=7)


def assert_killed_mid_sweep_consistently() -> int:
    """Killed part-way: each case either wholly done (reminder, its two rows, its event) or untouched."""
    sent = sent_count()
    assert 0 < sent < COUNT, f"the kill came after the sweep finished ({sent} sent): nothing was tested"
    assert Outbox.select().where(Outbox.purpose == "reminder").count() == 2 * sent
    assert Event.select().where(Event.kind == "reminder_sent").count() == sent
    return sent


@pytest.mark.slow
def test_a_consumer_killed_mid_sweep_then_restarted_sends_each_reminder_once(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'portal.db'}"
    init_database(database_url)
    from portal.cli import upgrade_database

    upgrade_database()
    due, deadline = due_now()
    with database.connection_context():
        seed_due_cases(COUNT, due, deadline)
    queues = Queues(f"sqlite:///{tmp_path / 'huey.db'}", "escalation-portal")
    env = portal_env(tmp_path, database_url, queues.url, queues.name)
    logs = [tmp_path / "consumer-1.log", tmp_path / "consumer-2.log"]

    first = sweeps(env, logs[0])
    try:
        enqueue_sweep(queues)
        wait_sent(lambda: sent_count() >= KILL_AFTER, f"{KILL_AFTER} reminders to be sent", logs)
        first.kill()
    finally:
        first.stop()
    with database.connection_context():
        assert_killed_mid_sweep_consistently()

    # Restarted (no -f: there is no lock to flush). The killed sweep is gone from the queue for good
    # (at-most-once); the next minute's sweep picks up where it stopped, because it selects due <= now.
    second = sweeps(env, logs[1])
    try:
        enqueue_sweep(queues)
        wait_sent(lambda: sent_count() == COUNT, "every reminder to be sent", logs)
    finally:
        second.stop()
    with database.connection_context():
        assert_each_due_reminder_sent_exactly_once(COUNT, deadline)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_two_consumers_on_postgres_and_redis_one_killed_mid_sweep(tmp_path, request):
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set: the PostgreSQL consumer run is skipped")
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("TEST_REDIS_URL is not set: the RedisHuey consumer run is skipped")
    database_url = request.getfixturevalue("postgres_url")
    _empty_postgres(database_url)
    due, deadline = due_now()
    with database.connection_context():
        seed_due_cases(COUNT, due, deadline)
    queues = Queues(redis_url, f"sweep-faults-{os.getpid()}-{time.monotonic_ns()}")
    env = portal_env(tmp_path, database_url, queues.url, queues.name)
    logs = [tmp_path / f"consumer-{n}.log" for n in (1, 2, 3)]

    consumers = [sweeps(env, logs[0]), sweeps(env, logs[1])]
    try:
        # Two sweeps at once, one per consumer (each has one worker, so a busy one cannot take the second).
        enqueue_sweep(queues, times=2)
        wait_sent(lambda: all(sweeping(log) for log in logs[:2]), "both consumers to be sweeping", logs)
        wait_sent(lambda: sent_count() >= KILL_AFTER, f"{KILL_AFTER} reminders to be sent", logs)
        consumers[0].kill()
        assert sent_count() < COUNT, "the kill came after the sweeps finished: nothing was tested"
        consumers.append(sweeps(env, logs[2]))  # the killed one restarted
        enqueue_sweep(queues)
        wait_sent(lambda: sent_count() == COUNT, "every reminder to be sent", logs)
        assert consumers[1].process.poll() is None, "the surviving consumer died"
    finally:
        for consumer in consumers:
            consumer.stop()
        queues.remove()
    with database.connection_context():
        assert_each_due_reminder_sent_exactly_once(COUNT, deadline)


@pytest.mark.both_engines
@pytest.mark.parametrize("order", ["case-first", "reminders-first"])
def test_on_postgres_the_sweep_skips_a_case_a_transition_holds_and_never_waits(db, caplog, order):
    """resolve() locks the case then its reminders; escalate() the reminders then the case. Either way the
    sweep must neither wait for the transition nor deadlock with it: it skips what is held (SKIP LOCKED)."""
    if not is_postgres():
        pytest.skip("row locks and SKIP LOCKED: PostgreSQL only (SQLite serialises writers instead)")
    ids = seed_due_cases(3)
    held = ids[1]
    locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def close_the_case() -> None:
        try:
            with database.connection_context(), database.atomic():
                end_stage = Reminder.update(cancelled_at=NOW).where(
                    (Reminder.escalation == held) & Reminder.sent_at.is_null()
                )
                save = Escalation.update(status="resolved", next_alert_at=None, version=Escalation.version + 1).where(
                    Escalation.id == held
                )
                first, second = (save, end_stage) if order == "case-first" else (end_stage, save)
                first.execute()
                locked.set()
                release.wait(timeout=60)
                second.execute()
        except BaseException as error:  # noqa: BLE001 (reported by the main thread)
            errors.append(error)

    transition = threading.Thread(target=close_the_case)
    transition.start()
    assert locked.wait(timeout=30)
    database.execute_sql("SET lock_timeout = '2s'")  # a sweep that waited on a lock would fail loudly here
    try:
        fired = reminders.sweep(NOW)
    finally:
        database.execute_sql("RESET lock_timeout")
        release.set()
        transition.join(timeout=60)
    assert not errors, errors
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    assert fired == 2
    assert not Outbox.select().where(Outbox.escalation == held).exists()
    case = Escalation.get_by_id(held)
    assert (case.status, case.next_alert_at) == ("resolved", None)
    assert reminders.sweep(NOW + dt.timedelta(minutes=1)) == 0
