"""Benchmark: one reminder sweep over 100,000 open cases of which 1% are due, on SQLite and PostgreSQL.

    .venv/bin/python bench/sweep.py [--cases 100000] [--due 0.01] [--sqlite] [--postgres ADMIN_URL]

Seeds with bulk inserts (not the workflow), prints the query plan of the sweep's page query
(it must use the next_alert_at index, so the cost follows the number due, not the number open),
times one sweep that sends every due reminder, then a second sweep with nothing due.
The PostgreSQL run creates a scratch database next to ADMIN_URL's and drops it afterwards.
Figures are recorded in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg2  # noqa: E402
from psycopg2 import sql  # noqa: E402

from portal import reminders  # noqa: E402
from portal.cli import upgrade_database  # noqa: E402
from portal.db import database, init_database, is_postgres  # noqa: E402
from portal.models import (  # noqa: E402
    ActionLink,
    Agency,
    Contact,
    Escalation,
    Event,
    Outbox,
    Reminder,
    StageParty,
    StageRecord,
    User,
)
from portal.procedure import resolve_procedure  # noqa: E402
from portal.registry import version_for  # noqa: E402

UTC = dt.UTC
CHUNK = 1000
PROCEDURE = "hounslow"


def seed(cases: int, due_fraction: float, now: dt.datetime) -> int:
    """`cases` open cases at stage 1, each with 2 parties, 4 links, 2 sent emails, an event and 4 alerts.

    Every 1/due_fraction-th case has its first reminder five minutes overdue (not late, so the sweep sends it at any
    hour: a late one waits for working hours); the rest are due over the next days.
    Returns the number due.
    """
    every = round(1 / due_fraction)
    ours, theirs = Agency.create(name="Bench social care"), Agency.create(name="Bench police", kind="police")
    partnership = Agency.create(name="Bench partnership", kind="partnership")
    Contact.create(agency=partnership, role="business_manager", name="BM", email="bm@partnership.example")
    raiser = User.create(email="raiser@bench.example", name="Rae Raiser", agency=ours)
    version = version_for(resolve_procedure(PROCEDURE))

    def alerts(n: int) -> tuple[dt.datetime, dt.datetime]:
        started = (
            now - dt.timedelta(hours=24, minutes=5) if n % every == 0 else now + dt.timedelta(minutes=1 + n % 7200)
        )
        return started, started + dt.timedelta(hours=24)

    due = 0
    with database.atomic():
        for first in range(0, cases, CHUNK):
            rows = []
            for n in range(first, min(first + CHUNK, cases)):
                started, first_alert = alerts(n)
                due += first_alert <= now
                rows.append(
                    dict(
                        reference=f"ESC-2026-{n:06d}",
                        procedure_id=PROCEDURE,
                        procedure_version=version.id,
                        child_name="Child",
                        raiser=raiser.id,
                        raiser_agency=ours.id,
                        counterpart_name="Pat Counter",
                        counterpart_email=f"pat{n}@police.example",
                        counterpart_agency=theirs.id,
                        summary="Seeded for the benchmark",
                        outcome_sought="Seeded",
                        stage_index=0,
                        stage_started_at=started,
                        due_at=started + dt.timedelta(days=7),
                        next_alert_at=first_alert,
                        created_at=started,
                    )
                )
            Escalation.insert_many(rows).execute()
        ids = list(Escalation.select(Escalation.id, Escalation.stage_started_at).order_by(Escalation.id).tuples())
        for first in range(0, len(ids), CHUNK):
            chunk = ids[first : first + CHUNK]
            StageRecord.insert_many(
                [
                    dict(
                        escalation=i, stage_index=0, stage_key="practitioners", started_at=s, due_at=s + dt.timedelta(7)
                    )
                    for i, s in chunk
                ]
            ).execute()
        records = dict(StageRecord.select(StageRecord.escalation, StageRecord.id).tuples())
        for first in range(0, len(ids), CHUNK):
            chunk = ids[first : first + CHUNK]
            people = [(raiser.name, raiser.email, "raiser"), ("Pat Counter", None, "counterpart")]
            parties, links, outbox, events, alerts_ = [], [], [], [], []
            for i, started in chunk:
                for name, email, party in people:
                    email = email or f"pat{i}@police.example"
                    parties.append(dict(stage=records[i], party=party, name=name, email=email))
                    for action in ("resolve", "escalate"):
                        token = f"{i:016x}{party[:1]}{action[:1]}".ljust(64, "0")
                        links.append(
                            dict(
                                token_hash=token,
                                salt=token,
                                escalation=i,
                                stage_index=0,
                                recipient_email=email,
                                action=action,
                                expires_at=started + dt.timedelta(days=10),
                                created_at=started,
                            )
                        )
                    outbox.append(
                        dict(
                            idempotency_key=f"case{i}/stage1/stage_started/{email}",
                            escalation=i,
                            purpose="stage_started",
                            recipient_email=email,
                            status="sent",
                            next_attempt_at=started,
                            created_at=started,
                            sent_at=started,
                        )
                    )
                events.append(dict(escalation=i, at=started, kind="raised", stage_index=0, text="Seeded"))
                for number, hours in enumerate((24, 48, 120), start=1):
                    alerts_.append(
                        dict(
                            key=f"case{i}/stage1/reminder{number}",
                            escalation=i,
                            stage_index=0,
                            kind="reminder",
                            due_at=started + dt.timedelta(hours=hours),
                        )
                    )
                alerts_.append(
                    dict(
                        key=f"case{i}/stage1/deadline",
                        escalation=i,
                        stage_index=0,
                        kind="deadline",
                        due_at=started + dt.timedelta(days=7),
                    )
                )
            StageParty.insert_many(parties).execute()
            ActionLink.insert_many(links).execute()
            Outbox.insert_many(outbox).execute()
            Event.insert_many(events).execute()
            Reminder.insert_many(alerts_).execute()
    database.execute_sql("ANALYZE")
    return due


def explain(now: dt.datetime, after: tuple[dt.datetime, int] | None = None) -> str:
    page = reminders.due_cases_query(now, after)
    text, params = page.sql()
    if is_postgres():
        rows = database.execute_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + text, params).fetchall()
        return "\n".join(row[0] for row in rows)
    rows = database.execute_sql("EXPLAIN QUERY PLAN " + text, params).fetchall()
    return "\n".join(row[-1] for row in rows)


def run(label: str, url: str, cases: int, due_fraction: float) -> dict:
    init_database(url)
    upgrade_database()
    now = dt.datetime.now(UTC).replace(microsecond=0)
    with database.connection_context():
        began = time.perf_counter()
        due = seed(cases, due_fraction, now)
        seeded = time.perf_counter() - began
        plan = explain(now)
        last = list(reminders.due_cases_query(now, batch=reminders.BATCH))[-1]
        plan_next = explain(now, (last[1], last[0]))
        began = time.perf_counter()
        fired = reminders.sweep(now)
        first = time.perf_counter() - began
        began = time.perf_counter()
        again = reminders.sweep(now)
        second = time.perf_counter() - began
        rows = Outbox.select().where(Outbox.purpose == "reminder").count()
    database.close()
    assert fired == due and again == 0 and rows == 2 * due, (fired, due, again, rows)
    result = dict(label=label, cases=cases, due=due, fired=fired, rows=rows, seed=seeded, first=first, second=second)
    print(f"\n== {label}: {cases:,} open cases, {due:,} due (seeded in {seeded:.1f} s)")
    print("Query plan of the sweep's page query:")
    print("  " + plan.replace("\n", "\n  "))
    print("Query plan of the next page (keyset after the first page's last case):")
    print("  " + plan_next.replace("\n", "\n  "))
    print(
        f"Sweep 1: {fired:,} alerts, {rows:,} outbox rows in {first:.2f} s "
        f"({1000 * first / max(fired, 1):.2f} ms per due case)"
    )
    print(f"Sweep 2 (nothing due): {1000 * second:.1f} ms")
    return result


def machine() -> str:
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cpus = f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))})"
    return f"{platform.node()}: {cpus}, {model}, Python {platform.python_version()}, {platform.platform()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--due", type=float, default=0.01)
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite (the default when nothing is chosen)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(machine())
    print(f"{dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if args.sqlite or not args.postgres:
        folder = tempfile.mkdtemp(prefix="bench-sweep-")
        try:
            run("SQLite (WAL, synchronous=FULL)", f"sqlite:///{folder}/portal.db", args.cases, args.due)
        finally:
            shutil.rmtree(folder)
    if args.postgres:
        name = f"bench_sweep_{uuid.uuid4().hex[:8]}"
        admin = psycopg2.connect(args.postgres)
        admin.autocommit = True
        admin.cursor().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            version = admin.server_version
            run(
                f"PostgreSQL {version // 10000}.{version % 100}",
                args.postgres.rsplit("/", 1)[0] + "/" + name,
                args.cases,
                args.due,
            )
        finally:
            database.close()
            admin.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.close()


if __name__ == "__main__":
    main()
