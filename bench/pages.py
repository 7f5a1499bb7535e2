"""Benchmark: the pages people load, at 100,000 cases, served by gunicorn as in production, under `wrk`.

    .venv/bin/python bench/pages.py [--cases 100000] [--seconds 10] [--rounds 2] [--only sqlite|postgres]
                                    [--postgres ADMIN_URL]

Seeds with bulk inserts (cases, stages, parties, events, views and documents in the proportions of a year of use,
and one case with 30 events and 200 views), serves the portal with gunicorn (2 sync workers, as `flask serve`
does) next to a bare Flask "hello" served the same way, signs in as the Business Manager through the sign-in form,
then measures each page with `wrk -t2 -c16 --latency`, alternating pages round by round, and prints req/s, p99 and
the ratio to the start page (the accessibility statement: the same layout, no query). Each signed-in page is
measured twice: as served (a reload while nothing changed is served again: portal/page_reuse.py), and from a
second portal on the same database with PAGE_REUSE_SECONDS=0, rendered every time. SQLite, then PostgreSQL in a
database it creates next to ADMIN_URL's and drops afterwards. Installs nothing: it needs `wrk` on the PATH.
Figures go in bench/RESULTS.md, taken on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
from psycopg2 import sql  # noqa: E402

from portal.cli import upgrade_database  # noqa: E402
from portal.db import database, init_database  # noqa: E402
from portal.models import (  # noqa: E402
    Agency,
    Document,
    Escalation,
    Event,
    StageParty,
    StageRecord,
    User,
)
from portal.procedure import resolve_procedure  # noqa: E402
from portal.registry import version_for  # noqa: E402
from portal.users import hash_password  # noqa: E402

UTC = dt.UTC
CHUNK = 500
PROCEDURE = "hounslow"
MANAGER, PASSWORD = "manager@bench.example", "bench-password-not-secret"
HEAVY_EVENTS, HEAVY_VIEWS = 30, 200
# The inbox is another change's: adjust these to its URLs. A deep page is reached by following rel="next" links.
INBOX = "/inbox/"
INBOX_DEEP_PAGES = 20  # 50 rows a page: row 1,000 onwards
INBOX_FILTERED = "/inbox/?status=open&show=imminent_risk&q=ESC-2026-05"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
STATUSES = ["open"] * 12 + ["resolved"] * 5 + ["closed"] * 2 + ["withdrawn"]  # a year's mix
PDF = b"%PDF-1.7 bench stand-in " + bytes(1000)  # a real record is 30-60 KB; the page reads only its size


def need_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is not installed: `sudo apt-get install wrk` (Debian's package, listed in .ci/system-packages)")
    return found


def seed(cases: int, now: dt.datetime) -> str:
    """`cases` cases over the past year, with their stages, parties, events, views and documents; returns the
    reference of the heavy case (30 events, 200 views)."""
    rng = random.Random(18)
    ours, theirs = Agency.create(name="Bench social care"), Agency.create(name="Bench police", kind="police")
    raisers = [User.create(email=f"raiser{n}@bench.example", name=f"Raiser {n}", agency=ours) for n in range(1, 51)]
    User.create(email=MANAGER, name="Bench Manager", role="business_manager", password_hash=hash_password(PASSWORD))
    version = version_for(resolve_procedure(PROCEDURE))
    heavy = cases // 2
    for first in range(0, cases, CHUNK):
        rows = []
        for n in range(first, min(first + CHUNK, cases)):
            raised = now - dt.timedelta(minutes=int(525_600 * (cases - n) / cases))  # oldest first, over a year
            status = STATUSES[n % len(STATUSES)]
            rows.append(
                dict(
                    reference=f"ESC-2026-{n + 1:06d}",
                    procedure_id=PROCEDURE,
                    procedure_version=version.id,
                    status=status,
                    child_name=f"Child {n}",
                    child_on_plan=n % 7 == 0,
                    raiser=raisers[n % len(raisers)].id,
                    raiser_role="Social worker",
                    raiser_agency=ours.id,
                    counterpart_name="Pat Counter",
                    counterpart_email=f"pat{n % 300}@police.example",
                    counterpart_agency=theirs.id,
                    categories=["communication"],
                    summary="Seeded for the benchmark",
                    outcome_sought="Seeded",
                    imminent_risk=n % 20 == 0,
                    stage_index=0 if n % 3 else 1,
                    stage_started_at=raised,
                    due_at=raised + dt.timedelta(days=7),
                    next_alert_at=raised + dt.timedelta(days=1) if status == "open" else None,
                    created_at=raised,
                    closed_at=None if status == "open" else raised + dt.timedelta(days=5),
                )
            )
        Escalation.insert_many(rows).execute()
    ids = list(Escalation.select(Escalation.id, Escalation.stage_started_at, Escalation.stage_index).tuples())
    heavy_id = ids[heavy][0]
    for first in range(0, len(ids), CHUNK):
        chunk = ids[first : first + CHUNK]
        StageRecord.insert_many(
            [
                dict(escalation=i, stage_index=s, stage_key=f"stage{s + 1}", started_at=t, due_at=t + dt.timedelta(7))
                for i, t, stage in chunk
                for s in range(stage + 1)
            ]
        ).execute()
    stages = list(StageRecord.select(StageRecord.id, StageRecord.escalation).tuples())
    for first in range(0, len(stages), CHUNK):
        StageParty.insert_many(
            [
                dict(stage=stage, party=party, name=party.title(), email=f"{party}{case % 300}@bench.example")
                for stage, case in stages[first : first + CHUNK]
                for party in ("raiser", "counterpart")
            ]
        ).execute()
    manager_id = User.get(User.email == MANAGER).id
    for first in range(0, len(ids), CHUNK):
        events, documents = [], []
        for i, raised, stage in ids[first : first + CHUNK]:
            acts = HEAVY_EVENTS if i == heavy_id else rng.randint(1, 6)  # raised, records, escalations, outcome
            views = HEAVY_VIEWS if i == heavy_id else rng.randint(0, 4)
            for k in range(acts):
                events.append(
                    dict(
                        escalation=i,
                        at=raised + dt.timedelta(hours=k),
                        kind="raised" if k == 0 else "record",
                        stage_index=stage,
                        actor=raisers[(i + k) % len(raisers)].id,
                        text="Seeded record of a discussion." if k else "Seeded",
                        data={},
                    )
                )
            for k in range(views):
                viewer = manager_id if k % 3 == 0 else raisers[(i + k) % len(raisers)].id
                events.append(
                    dict(
                        escalation=i,
                        at=raised + dt.timedelta(minutes=11 * (k + 1)),
                        kind="viewed",
                        stage_index=stage,
                        actor=viewer,
                        data={},
                    )
                )
            for k in range(stage + 1):  # each stage's record
                documents.append(
                    dict(
                        escalation=i,
                        kind="stage_record",
                        stage_index=k,
                        key=f"bench/{i}/{k}",
                        status="rendered",
                        filename=f"bench-{i}-{k}.pdf",
                        sha256="0" * 64,
                        content=PDF,
                        created_at=raised,
                        rendered_at=raised,
                    )
                )
        Event.insert_many(events).execute()
        Document.insert_many(documents).execute()
    database.execute_sql("ANALYZE")
    return f"ESC-2026-{heavy + 1:06d}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(app: str, env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn with 2 sync workers on a free port, as `flask serve` starts it; waits until it answers."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    command += ["--no-control-socket", app]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/robots.txt" if app == "wsgi:app" else base + "/", timeout=10)
            return process, base
        except OSError:  # not listening yet, or still loading
            if process.poll() is not None:
                sys.exit(f"{app} exited: see {log}")
            time.sleep(0.2)
    sys.exit(f"{app} did not answer within 60 s: see {log}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(base: str) -> str:
    """Through the form, as a browser does: the CSRF token read from the page. Returns the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/sign-in").read().decode()
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": MANAGER, "password": PASSWORD}).encode()
    landed = opener.open(base + "/sign-in", data=form)
    if "/sign-in" in landed.url:
        sys.exit("signing in failed: the sign-in page came back")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def fetch(url: str, cookie: str) -> tuple[int, str]:
    """Status and body, redirects not followed (a redirect to sign in is not the page)."""
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


NEXT = re.compile(r'<a\b[^>]*\brel="next"[^>]*>|<link\b[^>]*\brel="next"[^>]*>')


def deep_page(base: str, cookie: str, pages: int) -> str | None:
    """The inbox `pages` pages in, following the rel="next" links of the HTML (keyset: no page number to jump to)."""
    path = INBOX
    for _ in range(pages):
        code, html = fetch(base + path, cookie)
        link = NEXT.search(html) if code == 200 else None
        href = re.search(r'href="([^"]+)"', link.group(0)) if link else None
        if href is None:
            return None
        path = urllib.parse.urljoin(path, href.group(1).replace("&amp;", "&"))
    return path


def targets(base: str, plain: str, hello: str, cookie: str, heavy: str) -> list[tuple[str, str, str]]:
    """(name, URL, cookie) of each page to measure; the inbox's are skipped, saying so, while it is not there. Each
    signed-in page twice: as served again while nothing changed (`base`), and rendered every time (`plain`, the
    same portal with PAGE_REUSE_SECONDS=0)."""
    found = [("Flask hello (ceiling)", hello + "/", ""), ("start page (no query)", base + "/accessibility", "")]
    pages = []
    code, _ = fetch(base + INBOX, cookie)
    if code == 404:
        print(f"  {INBOX} answers 404: the inbox pages are skipped (adjust INBOX* at the top of bench/pages.py)")
    else:
        pages.append(("inbox, first page", INBOX))
        deep = deep_page(base, cookie, INBOX_DEEP_PAGES)
        if deep:
            pages.append((f"inbox, page {INBOX_DEEP_PAGES + 1}", deep))
        else:
            print(f'  no rel="next" link to follow {INBOX_DEEP_PAGES} pages into {INBOX}: the deep page is skipped')
        pages.append(("inbox, two filters and a search", INBOX_FILTERED))
    pages.append((f"case page ({HEAVY_EVENTS} events, {HEAVY_VIEWS} views)", f"/cases/{heavy}"))
    found += [(name, base + path, cookie) for name, path in pages]
    found += [(f"{name}, rendered every time", plain + path, cookie) for name, path in pages]
    for name, url, with_cookie in found:
        code, _ = fetch(url, with_cookie)
        if code != 200:
            sys.exit(f"{name}: {url} answered {code}, not 200; nothing measured")
    return found


def wrk(binary: str, url: str, cookie: str, seconds: int) -> dict:
    command = [binary, "-t2", "-c16", f"-d{seconds}s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p99": float(p99.group(1)) * scale[p99.group(2)],
        "bad": int(bad.group(1)) if bad else 0,
        "errors": errors.group(1) if errors else "",
    }


def measure(label: str, url: str, cases: int, seconds: int, rounds: int, binary: str) -> None:
    init_database(url)
    upgrade_database()
    now = dt.datetime.now(UTC).replace(microsecond=0)
    began = time.perf_counter()
    with database.connection_context():
        heavy = seed(cases, now)
    database.close()
    print(f"\n== {label}: {cases:,} cases seeded in {time.perf_counter() - began:.0f} s")
    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": uuid.uuid4().hex * 2, "PORTAL_PROCEDURE": PROCEDURE}
    env["SECOND_FACTOR_ROLES"] = ""  # the pages are measured, not the sign-in (a code would need an authenticator)
    env |= {"HUEY_URL": f"sqlite:///{folder}/huey.db", "INSTANCE_PATH": str(folder), "MAIL_FILE_DIR": str(folder)}
    servers = []
    try:
        portal, base = serve("wsgi:app", env, folder / "gunicorn.log")
        servers.append(portal)
        plain, plain_base = serve("wsgi:app", env | {"PAGE_REUSE_SECONDS": "0"}, folder / "gunicorn.log")
        servers.append(plain)
        hello, hello_base = serve("bench.hello:app", env, folder / "gunicorn.log")
        servers.append(hello)
        cookie = sign_in(base)  # sessions are in the database: the same cookie signs in to both portals
        pages = targets(base, plain_base, hello_base, cookie, heavy)
        results: dict[str, list[dict]] = {name: [] for name, _, _ in pages}
        for _ in range(rounds):  # alternating: each page once a round, so a busy moment spreads over all of them
            for name, page_url, with_cookie in pages:
                results[name].append(wrk(binary, page_url, with_cookie, seconds))
        report(results)
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def report(results: dict[str, list[dict]]) -> None:
    """Medians over the rounds; the ratio is to the start page's req/s in the same run."""
    rps = {name: statistics.median(r["rps"] for r in runs) for name, runs in results.items()}
    start = rps["start page (no query)"]
    print("| Page | req/s | p99 (ms) | req/s / start page's | rounds: req/s |\n|---|---|---|---|---|")
    for name, runs in results.items():
        p99 = statistics.median(r["p99"] for r in runs)
        each = ", ".join(f"{r['rps']:.0f}" for r in runs)
        print(f"| {name} | {rps[name]:.0f} | {p99:.1f} | {rps[name] / start:.0%} | {each} |")
        for run in runs:
            if run["bad"] or run["errors"]:
                print(f"  warning, {name}: {run['bad']} responses not 2xx/3xx; socket errors {run['errors'] or 0}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="times each page is measured, alternating")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--postgres", metavar="ADMIN_URL", default=POSTGRES)
    args = parser.parse_args()
    binary = need_wrk()
    print(f"{dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    if args.only != "postgres":
        folder = tempfile.mkdtemp(prefix="bench-pages-db-")
        try:
            url = f"sqlite:///{folder}/portal.db"
            measure("SQLite (WAL, synchronous=FULL)", url, args.cases, args.seconds, args.rounds, binary)
        finally:
            shutil.rmtree(folder)
    if args.only != "sqlite":
        name = f"bench_pages_{uuid.uuid4().hex[:8]}"
        admin = psycopg2.connect(args.postgres)
        admin.autocommit = True
        admin.cursor().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            version = admin.server_version
            url = args.postgres.rsplit("/", 1)[0] + "/" + name
            measure(f"PostgreSQL {version // 10000}", url, args.cases, args.seconds, args.rounds, binary)
        finally:
            database.close()
            admin.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.close()


if __name__ == "__main__":
    main()
