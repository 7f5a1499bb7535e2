"""flask commands: db, procedure, users, demo."""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from peewee import JOIN, PeeweeException

from portal import accounts
from portal.config import ROOT
from portal.data_version import watch_every_table
from portal.db import database
from portal.deadlines import timeline
from portal.demo import seed_demo
from portal.demo_history import write_history
from portal.directory import directory_gaps, import_rows, parse_csv
from portal.documents import retry_failed
from portal.governance_commands import COMMANDS
from portal.models import Agency, User
from portal.procedure import ProcedureError, preset_ids, resolve_procedure
from portal.registry import cases_on_other_versions
from portal.users import ROLES, UserError, create_user
from portal.workdays import LONDON, london

MIGRATIONS = Path(__file__).parent / "migrations"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STABLE_AFTER = 60.0  # seconds: a consumer that ran this long before dying is restarted after the shortest wait
RESTART_MAX = 60.0  # seconds: the longest wait before restarting a consumer that keeps dying
log = logging.getLogger(__name__)

db_cli = AppGroup("db", help="The database schema.")
procedure_cli = AppGroup("procedure", help="Partnership procedures: list, check, timeline.")
users_cli = AppGroup("users", help="User accounts.")
demo_cli = AppGroup("demo", help="The demo partnership.")
directory_cli = AppGroup("directory", help="The directory of named contacts.")
documents_cli = AppGroup("documents", help="The cases' PDF records.")


def migration_runner():
    from playhouse.migrations import Runner

    return Runner(database.obj, directory=str(MIGRATIONS))


def upgrade_database() -> list[str]:
    """Apply every pending migration, in order; a deployed database is upgraded in place, never dropped."""
    with database.connection_context():
        applied = migration_runner().up()
        watch_every_table(database.obj)  # portal/data_version.py
        return applied


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    applied = upgrade_database()
    click.echo("\n".join(f"applied {name}" for name in applied) or "database is up to date")


@db_cli.command("status")
def db_status() -> None:
    """List migrations; exit 1 if any is pending."""
    with database.connection_context():
        rows = migration_runner().status()
    for row in rows:
        click.echo(f"[{'x' if row.applied else ' '}] {row.name}")
    if any(not row.applied for row in rows):
        sys.exit(1)


@procedure_cli.command("list")
def procedure_list() -> None:
    """The preset procedures shipped with the portal."""
    for pid in preset_ids():
        procedure = resolve_procedure(pid)
        click.echo(f"{pid:<12} {len(procedure.stages)} stages  {procedure.partnership}: {procedure.name}")


def _load_or_exit(file_or_id: str):
    try:
        return resolve_procedure(file_or_id)
    except ProcedureError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


@procedure_cli.command("check")
@click.argument("file_or_id")
def procedure_check(file_or_id: str) -> None:
    """Validate a procedure file (or preset); non-zero exit naming the file, stage and value at fault."""
    procedure = _load_or_exit(file_or_id)
    for warning in procedure.warnings:
        click.echo(f"warning: {warning}", err=True)
    for key, named in (
        ("imminent_risk_notify", procedure.imminent_risk_notify),
        ("specific_circumstances notify", procedure.specific_circumstances_notify),
    ):
        if not named:
            click.echo(
                f"warning: {key} names nobody: nobody is emailed, and the pages tell the practitioner to phone",
                err=True,
            )
    stages = f"{len(procedure.stages)} stage{'s' if len(procedure.stages) != 1 else ''}"
    click.echo(f"{file_or_id}: ok: {procedure.id}, {stages}, version {procedure.digest[:12]}")
    now = dt.datetime.now(LONDON)
    click.echo(f"Timeline for a case raised now ({_human(now)}), every stage run to its limit:")
    for s in timeline(procedure, now):
        click.echo(f"{s.stage.name}: due {_human(s.due)}")
        _echo_limits(s, explain=False)
    _report_against_database(procedure)


def _report_against_database(procedure) -> None:
    """Open cases that keep an earlier version of this procedure (a changed file does not apply to them), and
    roles the directory cannot supply."""
    try:
        with database.connection_context():
            count, cases = cases_on_other_versions(procedure)
            gaps = directory_gaps(procedure)
    except PeeweeException:  # no database yet (make run checks the file before the first upgrade)
        return
    for gap in gaps:
        click.echo(f"warning: directory: {gap}", err=True)
    if not count:
        return
    cases_keep = "1 open case keeps" if count == 1 else f"{count} open cases keep"
    click.echo(f"{cases_keep} an earlier version of {procedure.id}:")
    for case in cases:
        version = case.procedure_version.digest[:12] if case.procedure_version_id else "from before versions"
        click.echo(f"  {case.reference}  version {version}  raised {_human(case.created_at)}")
    if count > len(cases):
        click.echo(f"  and {count - len(cases)} more")


def parse_start(value: str) -> dt.datetime:
    """ISO 8601; a time without an offset is Europe/London time, a bare date is midnight London."""
    moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment


def _iso(moment: dt.datetime) -> str:
    return london(moment).isoformat()


def _human(moment: dt.datetime) -> str:
    local = london(moment)
    return local.strftime("%a %d %b %Y %H:%M ") + local.tzname()


@procedure_cli.command("timeline")
@click.argument("file_or_id")
@click.option("--start", "start", required=True, help="ISO 8601 date-time; without an offset it is London time.")
@click.option("--imminent", is_flag=True, help="The child is at imminent risk of significant harm.")
@click.option("--explain", is_flag=True, help="How each date was worked out: the rule, each day counted or skipped.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def procedure_timeline(file_or_id: str, start: str, imminent: bool, explain: bool, as_json: bool) -> None:
    """When each stage starts, its reminders and its deadline, if every stage runs to its limit."""
    procedure = _load_or_exit(file_or_id)
    try:
        begin = parse_start(start)
    except ValueError:
        click.echo(f"error: --start {start!r} is not an ISO 8601 date-time, e.g. 2026-12-24T09:30", err=True)
        sys.exit(2)
    stages = timeline(procedure, begin, imminent=imminent)
    if as_json:
        payload = {"procedure": procedure.id, "stages": [_stage_json(s, explain) for s in stages]}
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"{procedure.partnership}: {procedure.name} ({procedure.id})")
    click.echo(f"Start: {_human(begin)}{'  (imminent risk)' if imminent else ''}")
    for s in stages:
        click.echo(f"\n{s.stage.name}")
        click.echo(f"  starts    {_human(s.starts)}")
        for reminder, worked, moved in s.reminder_why:
            click.echo(f"  reminder  {_human(reminder)}")
            if explain:
                _echo_working(worked.lines() + ([moved] if moved else []))
        _echo_limits(s, explain)
        click.echo(f"  due       {_human(s.due)}")


def _stage_json(s, explain: bool) -> dict:
    stage = {
        "key": s.stage.key,
        "name": s.stage.name,
        "starts": _iso(s.starts),
        "reminders": [_iso(r) for r in s.reminders],
        "due": _iso(s.due),
        "limits": [{"label": limit.label, "at": _iso(limit.at)} for limit in s.limits],
    }
    if explain:
        stage["reminders_explained"] = [
            {"at": _iso(at), "worked": worked.as_json(), "moved": moved} for at, worked, moved in s.reminder_why
        ]
        for limit, shown in zip(s.limits, stage["limits"], strict=True):
            shown["worked"] = limit.worked.as_json() if limit.worked else None
    return stage


def _echo_limits(s, explain: bool) -> None:
    """The procedure's limits on the stage's deadline when there are several (the earliest applies), or asked."""
    if len(s.limits) < 2 and not explain:
        return
    for limit in s.limits:
        chosen = "  <- the earliest: the deadline" if len(s.limits) > 1 and limit.at == s.due else ""
        click.echo(f"  limit     {_human(limit.at)}  {limit.label}{chosen}")
        if explain and limit.worked:
            _echo_working(limit.worked.lines())


def _echo_working(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"              {line}")


def _account_or_exit(email: str):
    try:
        return accounts.find_user(email)
    except UserError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


@users_cli.command("list")
def users_list() -> None:
    """Every account: email, role, agency, status."""
    with database.connection_context():
        for user in User.select(User, Agency).join(Agency, join_type=JOIN.LEFT_OUTER).order_by(User.email):
            status = "disabled" if not user.active else "no password yet" if not user.password_hash else "active"
            second = ", second factor" if user.totp_secret else ""
            agency = user.agency.name if user.agency_id else "-"
            click.echo(f"{user.email:<40} {user.role:<17} {agency:<30} {status}{second}")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="practitioner", show_default=True)
@click.option("--name", default="", help="Full name (defaults to the part of the address before @).")
@click.option("--agency", default="", help="Agency name (created if new).")
@click.option("--password", default=None, help="Set this password instead of emailing a set-password link.")
def users_create(email: str, role: str, name: str, agency: str, password: str | None) -> None:
    """Create an account and email its owner a link to set their password (single use, 24 hours)."""
    try:
        with database.connection_context():
            if password is None:
                user = accounts.create_account(email, name, role, agency)
            else:
                user = create_user(email, password, role=role, name=name, agency_name=agency)
    except UserError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"created {user.role} {user.email}" + ("" if password else "; a set-password link was emailed"))


@users_cli.command("change")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default=None, help="The new role (unchanged if not given).")
@click.option("--agency", default=None, help="The new agency's name (created if new; '' for none).")
def users_change(email: str, role: str | None, agency: str | None) -> None:
    """Change an account's role or agency."""
    with database.connection_context():
        user = _account_or_exit(email)
        new_agency = (user.agency.name if user.agency_id else "") if agency is None else agency
        accounts.change_account(user, role or user.role, new_agency)
        click.echo(f"{user.email}: {role or user.role}, {new_agency or 'no agency'}")


@users_cli.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Disable an account: its sessions end at once and it cannot sign in."""
    with database.connection_context():
        accounts.set_active(_account_or_exit(email), False)
    click.echo(f"disabled {email.strip().lower()}; its sessions have ended")


@users_cli.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Enable a disabled account again."""
    with database.connection_context():
        accounts.set_active(_account_or_exit(email), True)
    click.echo(f"enabled {email.strip().lower()}")


@users_cli.command("reset")
@click.argument("email")
def users_reset(email: str) -> None:
    """Email the account's owner a link to set a new password (single use, 24 hours)."""
    with database.connection_context():
        user = _account_or_exit(email)
        if not user.active:
            click.echo(f"error: {user.email} is disabled: enable it first", err=True)
            sys.exit(1)
        accounts.send_password_link(user, "reset")
    click.echo(f"a set-password link was emailed to {user.email}")


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create the demo partnership's agencies, directory and users (once; a second run changes nothing)."""
    partnership = resolve_procedure(current_app.config["PROCEDURE"]).partnership
    with database.connection_context():
        created = seed_demo(partnership)
    click.echo("demo data created" if created else "demo data already present")
    _history()


@demo_cli.command("history")
def demo_history() -> None:
    """Give the demo partnership a year of past cases, made through the workflow with the clock moved (once)."""
    _history()


def _history() -> None:
    with database.connection_context():
        made = write_history(current_app._get_current_object(), dt.datetime.now(dt.UTC))
    click.echo(f"demo history: {made} past cases" if made else "demo history already present")


@directory_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
def directory_import(file) -> None:
    """Import contacts from CSV (agency, role, name, job_title, email, secure); all rows or none."""
    rows, errors = parse_csv(file.read())
    if errors:
        for error in errors:
            click.echo(f"error: {file.name}: {error}", err=True)
        click.echo(f"nothing imported: {len(errors)} bad row(s)", err=True)
        sys.exit(1)
    with database.connection_context():
        result = import_rows(rows)
    click.echo(f"imported {len(rows)} contact(s): {result.created} new, {result.updated} updated")
    if result.new_agencies:
        click.echo(result.agencies_note)


@dataclass
class Child:
    """A process `flask serve` runs, and the signal that stops it gracefully."""

    name: str
    command: list[str]
    stop_signal: int
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_deaths: int = 0  # deaths in a row, each within STABLE_AFTER of its start
    restart_at: float | None = None

    def start(self) -> None:
        # Its own session: the one signal it gets is ours, not the terminal's Ctrl-C.
        self.process = subprocess.Popen(self.command, cwd=ROOT, start_new_session=True)
        self.started_at, self.restart_at = time.monotonic(), None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def schedule_restart(self, now: float) -> float:
        """After a death: wait 1 s, then 2, 4 ... up to RESTART_MAX while it keeps dying soon after each start."""
        self.quick_deaths = self.quick_deaths + 1 if now - self.started_at < STABLE_AFTER else 1
        delay = min(2.0 ** (self.quick_deaths - 1), RESTART_MAX)
        self.restart_at = now + delay
        return delay


def serve_children(host: str, port: int, workers: int) -> tuple[Child, list[Child]]:
    """The web server, and the two task consumers (docs/operations.md).

    Each with the signal that stops it gracefully: huey finishes its running task on SIGINT (SIGTERM abandons it);
    gunicorn finishes its requests on SIGTERM (SIGINT is its quick shutdown).
    """
    python, bindir = sys.executable, Path(sys.executable).parent
    consumer = [python, "-m", "tasks.consumer"]
    # No control socket: gunicorn's default is one fixed path in the home folder, which two portals on one host
    # would share; nothing here uses it.
    web = [str(bindir / "gunicorn"), "--config", "python:portal.gunicorn_conf", "--workers", str(workers)]
    web += ["--bind", f"{host}:{port}", "--no-control-socket"]
    web.append("wsgi:app")
    return Child("web server", web, signal.SIGTERM), [
        Child("task consumer", [*consumer, "tasks.huey", "-w", "2", "-k", "thread", "-n"], signal.SIGINT),
        Child("sweep consumer", [*consumer, "tasks.schedule", "-w", "2", "-k", "thread"], signal.SIGINT),
    ]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Run the web server and the task consumers together; a consumer that dies is restarted.

    Ctrl-C or SIGTERM stops them all gracefully. If the web server itself dies, everything stops (exit 1), for
    the service manager to restart.
    """
    stop_requested: list[int] = []

    def request_stop(signum: int, _frame) -> None:
        stop_requested.append(signum)

    # Ctrl-C at a terminal, or SIGTERM from systemd or `docker stop`: either only asks the loop below to stop.
    previous = {sig: signal.signal(sig, request_stop) for sig in STOP_SIGNALS}
    web, consumers = serve_children(host, port, workers)
    children = [web, *consumers]
    try:
        for child in children:
            child.start()
        click.echo(f"Portal on http://{host}:{port}/ with its task consumers. Ctrl-C stops them all.")
        while not stop_requested and web.running():
            _supervise(consumers, time.monotonic())
            time.sleep(0.2)
    finally:
        for child in children:
            if child.running():
                child.process.send_signal(child.stop_signal)
        for child in children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not stop_requested:
        click.echo("error: the web server stopped; the task consumers are stopped too", err=True)
        sys.exit(1)


def _supervise(consumers: list[Child], now: float) -> None:
    """Restart each consumer that has died, once its backoff has passed; the web server keeps serving meanwhile."""
    for child in consumers:
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.start()
                log.info("%s restarted (pid %s)", child.name, child.process.pid)
        elif not child.running():
            code = child.process.returncode
            how = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
            log.warning("%s %s; restarting it in %g s", child.name, how, child.schedule_restart(now))


@documents_cli.command("retry")
def documents_retry() -> None:
    """Render again every document that failed (after fixing its cause); the minute sweep picks them up."""
    with database.connection_context():
        count = retry_failed()
    click.echo(f"{count} failed document{'s' if count != 1 else ''} will be rendered again within a minute")


def register(app: Flask) -> None:
    for group in (db_cli, procedure_cli, users_cli, demo_cli, directory_cli, documents_cli):
        app.cli.add_command(group)
    app.cli.add_command(serve)
    for command in COMMANDS:
        app.cli.add_command(command)
