"""Benchmark: the Business Manager's inbox at 1,000 and at 100,000 cases, on SQLite and PostgreSQL.

    .venv/bin/python bench/inbox.py [--cases 100000] [--sqlite] [--postgres ADMIN_URL] [--runs 9]

Seeds cases with bulk inserts (not the workflow): a year of them, varied in status, stage, agencies, category,
risk, plan and child's name, one PDF record for every fifth case, and the Business Manager's marks on a third.
Through the Flask test client, signed in as the Business Manager, times each inbox view below (the median of
`--runs` requests, after one warm-up) at 1,000 cases, then tops the database up to `--cases` and times them again.
For the slowest view at the full size it prints the plan of the page's query as the database runs it (SQLite
`EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN ANALYZE`). The PostgreSQL run creates a scratch database next to
ADMIN_URL's and drops it afterwards. Figures are recorded in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg2  # noqa: E402
from psycopg2 import sql  # noqa: E402

from bench.sweep import machine  # noqa: E402
from portal import create_app  # noqa: E402
from portal.cli import upgrade_database  # noqa: E402
from portal.db import database, init_database, is_postgres  # noqa: E402
from portal.models import Agency, Document, Escalation, InboxMark, User  # noqa: E402
from portal.name_search import name_keys  # noqa: E402
from portal.procedure import resolve_procedure  # noqa: E402
from portal.registry import version_for  # noqa: E402
from portal.users import hash_password  # noqa: E402

UTC = dt.UTC
CHUNK = 1000
PROCEDURE = "hounslow"
PASSWORD = "bench password for the inbox"
FIRST_NAMES = ["Amira", "Ben", "Cara", "Dev", "Ella", "Finn", "Grace", "Harry", "Isla", "Jack", "Kai", "Lily"]
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright"]
CATEGORIES = ["thresholds", "action_or_inaction", "assessment", "decision_making", "roles", "plans", "communication"]
STATUSES = ["open"] * 6 + ["resolved", "closed", "withdrawn"]
VIEWS = {
    "every case, by deadline (first page)": "/inbox/",
    "last activity, newest first": "/inbox/?sort=activity",
    "open and overdue": "/inbox/?status=open&show=overdue",
    "category and imminent risk, by date raised": "/inbox/?category=roles&show=imminent_risk&sort=raised",
    "agency (raiser's or counterpart's), open": "/inbox/?agency={agency}&status=open",
    "search by surname prefix": "/inbox/?q=smi",
    "new to this Business Manager": "/inbox/?show=new",
    "documents": "/inbox/documents",
}


def seed(first: int, last: int, now: dt.datetime, world: dict) -> None:
    """Cases first..last-1, raised over the year before `now`; a PDF for every fifth; marks on every third."""
    agencies = world["agencies"]
    with database.atomic():
        for start in range(first, last, CHUNK):
            cases = []
            for n in range(start, min(start + CHUNK, last)):
                raised = now - dt.timedelta(minutes=(n * 5257) % (365 * 24 * 60))
                name = f"{FIRST_NAMES[n % 12]} {SURNAMES[(n // 12) % 10]}"
                full, surname = name_keys(name)
                status = STATUSES[n % 9]
                cases.append(
                    dict(
                        reference=f"ESC-2026-{n:06d}",
                        procedure_id=PROCEDURE,
                        procedure_version=world["version"],
                        status=status,
                        child_name=name,
                        child_name_key=full,
                        child_surname_key=surname,
                        child_on_plan=n % 5 == 0,
                        child_looked_after=n % 11 == 0,
                        raiser=world["raiser"],
                        raiser_agency=agencies[n % len(agencies)],
                        counterpart_name="Pat Counter",
                        counterpart_email="pat@police.example",
                        counterpart_agency=agencies[(n + 3) % len(agencies)],
                        categories=[CATEGORIES[n % 7], CATEGORIES[(n // 7) % 7]],
                        summary="Seeded for the benchmark",
                        outcome_sought="Seeded",
                        imminent_risk=n % 13 == 0,
                        specific_circumstance="media_attention" if n % 97 == 0 else None,
                        stage_index=n % 3,
                        stage_started_at=raised,
                        due_at=raised + dt.timedelta(days=7 + n % 30),
                        created_at=raised,
                        last_activity_at=raised + dt.timedelta(hours=n % 200),
                    )
                )
            Escalation.insert_many(cases).execute()
        ids = (
            Escalation.select(Escalation.id, Escalation.created_at)
            .where(Escalation.reference >= f"ESC-2026-{first:06d}")
            .tuples()
        )
        documents, marks = [], []
        for case_id, raised in ids:
            if case_id % 5 == 0:
                documents.append(
                    dict(
                        escalation=case_id,
                        kind="escalation_notice",
                        key=f"bench/{case_id}",
                        status="rendered",
                        filename=f"escalation-notice-{case_id}.pdf",
                        content=b"%PDF-1.7 seeded " * 100,
                        created_at=raised,
                        rendered_at=raised,
                    )
                )
            if case_id % 3 == 0:
                marks.append(dict(user=world["manager"], kind="case", item_id=case_id, read_at=now, note=""))
            if len(documents) >= CHUNK or len(marks) >= CHUNK:
                Document.insert_many(documents).execute()
                InboxMark.insert_many(marks).execute()
                documents, marks = [], []
        Document.insert_many(documents).execute() if documents else None
        InboxMark.insert_many(marks).execute() if marks else None
    database.execute_sql("ANALYZE")


class Statements(logging.Handler):
    """The SQL peewee runs, with its parameters, so the page's own query can be explained exactly as it ran."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.seen: list[tuple[str, tuple]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple):
            self.seen.append((record.msg[0], tuple(record.msg[1] or ())))


def explain(url: str, client) -> str:
    """The plan of the inbox page's main query (the one that reads LIMIT 51 rows) for this view."""
    handler, logger = Statements(), logging.getLogger("peewee")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        client.get(url)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.WARNING)
    text, params = next((s, p) for s, p in handler.seen if re.search(r"LIMIT \S+$", s) and "COUNT" not in s)
    with database.connection_context():
        if is_postgres():
            rows = database.execute_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + text, params).fetchall()
            return "\n".join(row[0] for row in rows)
        rows = database.execute_sql("EXPLAIN QUERY PLAN " + text, params).fetchall()
        return "\n".join(row[-1] for row in rows)


def time_views(client, agency: int, runs: int) -> dict[str, float]:
    """The median time of one request per view, in milliseconds."""
    timings = {}
    for label, url in VIEWS.items():
        url = url.format(agency=agency)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        samples = []
        for _ in range(runs):
            began = time.perf_counter()
            client.get(url)
            samples.append(1000 * (time.perf_counter() - began))
        timings[label] = statistics.median(samples)
    return timings


def run(label: str, url: str, cases: int, runs: int, folder: str) -> None:
    init_database(url)
    upgrade_database()
    now = dt.datetime.now(UTC).replace(microsecond=0)
    with database.connection_context():
        agencies = [Agency.create(name=f"Bench agency {n}", kind="social care").id for n in range(12)]
        manager = User.create(
            email="bm@bench.example", name="Bench BM", role="business_manager", password_hash=hash_password(PASSWORD)
        )
        raiser = User.create(email="raiser@bench.example", name="Rae Raiser", agency=agencies[0])
        version = version_for(resolve_procedure(PROCEDURE))
        world = dict(agencies=agencies, manager=manager.id, raiser=raiser.id, version=version.id)
        began = time.perf_counter()
        seed(0, 1000, now, world)
        small_seed = time.perf_counter() - began
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-" + "x" * 40,
            "INSTANCE_PATH": folder,
            "PROCEDURE": PROCEDURE,
            "SECOND_FACTOR_ROLES": (),  # the inbox is measured, not the sign-in
            "PAGE_REUSE_SECONDS": 0,  # each request's own work: a reload served again is bench/pages.py's
        }
    )
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
    signed = client.post("/sign-in", data={"csrf_token": csrf, "email": "bm@bench.example", "password": PASSWORD})
    assert signed.status_code == 302, signed.status_code
    small = time_views(client, agencies[1], runs)
    with database.connection_context():
        began = time.perf_counter()
        seed(1000, cases, now, world)
        big_seed = time.perf_counter() - began
    big = time_views(client, agencies[1], runs)
    database.close()
    print(f"\n== {label}: seeded 1,000 cases in {small_seed:.1f} s, then {cases - 1000:,} more in {big_seed:.1f} s")
    print(f"{'view':<46} {'1,000 cases':>12} {f'{cases:,} cases':>14}")
    for view in VIEWS:
        print(f"{view:<46} {small[view]:>9.1f} ms {big[view]:>11.1f} ms")
    slowest = max(big, key=big.get)
    print(f"\nSlowest at {cases:,}: {slowest}. Plan of its page query:")
    print("  " + explain(VIEWS[slowest].format(agency=agencies[1]), client).replace("\n", "\n  "))
    database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite (the default when nothing is chosen)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    logging.getLogger("peewee").setLevel(logging.WARNING)
    print(machine())
    print(f"{dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    folder = tempfile.mkdtemp(prefix="bench-inbox-")
    try:
        if args.sqlite or not args.postgres:
            run("SQLite (WAL, synchronous=FULL)", f"sqlite:///{folder}/portal.db", args.cases, args.runs, folder)
        if args.postgres:
            name = f"bench_inbox_{uuid.uuid4().hex[:8]}"
            admin = psycopg2.connect(args.postgres)
            admin.autocommit = True
            admin.cursor().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            try:
                version = admin.server_version
                target = args.postgres.rsplit("/", 1)[0] + "/" + name
                run(f"PostgreSQL {version // 10000}.{version % 100}", target, args.cases, args.runs, folder)
            finally:
                database.close()
                admin.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                admin.close()
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
