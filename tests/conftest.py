"""Fixtures: a fresh database per test, tasks run in-process, PDFs made by a fast stand-in.

Which engines a test runs on. Every test that needs a database gets a fresh SQLite file. A test marked
`both_engines` (itself, or through its module's `pytestmark`) runs again on PostgreSQL when TEST_DATABASE_URL is
set. Mark a test when what it checks could come out differently on the two engines: concurrency, row locks and
SKIP LOCKED, transactions, upserts and unique keys (references, idempotency and submission keys), migrations,
stored times and bytes, SQL functions and ordering (LOWER, LENGTH, NULLs in ORDER BY), the sweeps, the outbox,
workflow state. Whole modules: tests/unit/test_database.py, test_reminders.py, test_workflow.py,
tests/web/test_outbox.py, test_procedure_versions.py; elsewhere the tests of those things by name. Pages, headers,
forms, sign-in, links' tokens, mail building and the command line run the same queries either way: SQLite only.
Redis, likewise: a test that runs a real consumer on a queue runs it on SqliteHuey, and on RedisHuey
(TEST_REDIS_URL) alongside PostgreSQL, as the portal is deployed on several machines; every other test runs huey
in immediate mode, with no queue at all.

SQLite. Each test process migrates one file once and each test starts from a copy of it.

PDFs. Rendering one takes WeasyPrint about a second in a child process, and every raised case asks for one.
Tests get a stand-in for `portal.pdf.render` that makes a one-page PDF in-process, so documents still go
through their templates and are stored and sent as `rendered`. tests/web/test_documents.py and the browser journey
that downloads the records are marked `real_pdf` and render for real: any test that reads a PDF's text or layout
must be.
"""

from __future__ import annotations

import html as html_lib
import os
import re
import shutil
import uuid
from pathlib import Path

import psycopg2
import pytest
from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from psycopg2 import sql

from portal import create_app, pdf
from portal.cli import upgrade_database
from portal.db import database, init_database
from portal.models import MODELS

DATA = Path(__file__).parent / "data"
TEST_PROCEDURE = str(DATA / "three_stage.toml")
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_engines` get `database_url` on SQLite and on PostgreSQL; the rest on SQLite only."""
    if "database_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_engines"):
        metafunc.parametrize("database_url", ENGINES, indirect=True)


@pytest.fixture(scope="session")
def postgres_url():
    """One scratch PostgreSQL database for the session, migrated once, dropped at the end."""
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("TEST_DATABASE_URL is not set: the PostgreSQL runs are skipped")
    name = f"escalation_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    admin.cursor().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    init_database(url)
    upgrade_database()
    yield url
    database.close()
    admin.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


def _empty_postgres(url: str) -> None:
    init_database(url)
    tables = ", ".join(f'"{m._meta.table_name}"' for m in MODELS)
    with database.connection_context():
        database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """One SQLite file migrated once per test process: each test starts from a copy (migrating takes 100 ms, a
    copy 1 ms). Closed before copying, so the copy carries no write-ahead log."""
    path = tmp_path_factory.mktemp("migrated") / "portal.db"
    init_database(f"sqlite:///{path}")
    upgrade_database()
    database.close()
    return path


@pytest.fixture
def database_url(request, tmp_path):
    """A migrated, empty database for this test: SQLite, or PostgreSQL for the `both_engines` repeat."""
    if getattr(request, "param", "sqlite") == "postgres":
        url = request.getfixturevalue("postgres_url")
        _empty_postgres(url)
        return url
    path = tmp_path / "portal.db"
    shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
    url = f"sqlite:///{path}"
    init_database(url)
    return url


@pytest.fixture
def db(database_url):
    init_database(database_url)
    database.connect(reuse_if_open=True)
    yield database
    database.close()


@pytest.fixture
def app(database_url, tmp_path):
    yield test_app(database_url, tmp_path, MAIL_FILE_DIR=str(tmp_path / "outbox"))
    database.close()


def test_app(database_url: str, folder: Path, **settings):
    """The portal as the tests build it: on `database_url`, its instance under `folder`, the test procedure and
    secret, and any other settings given."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(folder / "instance"),
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
            "PROCEDURE": TEST_PROCEDURE,
            **settings,
        }
    )


test_app.__test__ = False  # a helper, not a test, despite its name


class CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory for the session, by name and source checksum."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture(scope="session", autouse=True)
def templates_compiled_once():
    """Each test makes its own app, and each app's Jinja would compile every template again (GOV.UK Frontend's
    macros are large: over half of a web test's time): they all share one bytecode cache instead."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Flask, "jinja_options", {**Flask.jinja_options, "bytecode_cache": CompiledTemplates()})
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- Tasks and mail ------------------------------------------------------------------------------

# The test process never touches the developer's instance/huey.db: tasks run in immediate mode (in memory),
# and this file only receives huey's empty schema when `tasks` is imported.
os.environ.setdefault(
    "HUEY_URL", f"sqlite:///{Path(os.environ.get('TMPDIR', '/tmp')) / 'escalation-portal-test-huey.db'}"
)


# No test signs in with a second factor unless it asks for one (SECOND_FACTOR_ROLES in its app's settings): the
# portal's default requires it of the Business Manager and administrators, whom most tests sign in as.
os.environ.setdefault("SECOND_FACTOR_ROLES", "")


@pytest.fixture(autouse=True)
def huey_immediate():
    """Tasks run in the caller (huey's immediate mode), so enqueueing after a commit sends at once, in-process."""
    from portal import mail
    from portal.documents import wake_renderer
    from tasks import huey

    huey.immediate = True
    yield huey
    mail.set_waker(None)  # create_app installed them for that test's app; the next test starts without
    wake_renderer.install(None)


class SMTPServer:
    """aiosmtpd on a free loopback port, collecting what it accepts; tests switch how it answers.

    accept(): 250. temporary(times): 451 at DATA for the next `times` messages (None: until switched).
    permanent(): 550 at RCPT. block(): keep the next message (`held`), then hold its 250 until `release` is set;
    later messages are accepted.
    stop() / start(): no server listening on the port, then one again.
    hang(): a relay that accepts connections and never says a word (a bare listener on the port); start() ends it,
    closing the connections it took, and answers again.
    """

    def __init__(self) -> None:
        import logging
        import socket
        import threading

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd narrates every connection at INFO
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.host = "127.0.0.1"
        self.messages: list = []  # email.message.EmailMessage, in the order accepted
        self.envelopes: list[tuple[str, list[str]]] = []
        self.data_commands = 0
        self.mode, self.temporary_left = "accept", None
        self.blocked, self.release = threading.Event(), threading.Event()
        self.held = None  # the message whose 250 block() holds back
        self._controller = None
        self._silent = None  # hang()'s listener: the kernel completes each connection, no one reads or writes

    def accept(self) -> None:
        self.mode = "accept"

    def temporary(self, times: int | None = None) -> None:
        self.mode, self.temporary_left = "temporary", times

    def permanent(self) -> None:
        self.mode = "permanent"

    def block(self) -> None:
        self.mode = "block"
        self.blocked.clear()
        self.release.clear()

    def hang(self) -> None:
        import socket

        self.stop()
        self._silent = socket.create_server((self.host, self.port), backlog=64)

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._end_hang()
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self.release.set()
        self._end_hang()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _end_hang(self) -> None:
        if self._silent is not None:
            self._silent.close()  # connections still waiting in its backlog are reset
            self._silent = None

    def by_message_id(self) -> dict[str, int]:
        from collections import Counter

        return dict(Counter(message["Message-ID"] for message in self.messages))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "permanent":
            return "550 5.1.1 Mailbox unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        import email
        from email import policy

        self.data_commands += 1
        if self.mode == "temporary":
            if self.temporary_left is not None:
                self.temporary_left -= 1
                if self.temporary_left <= 0:
                    self.mode = "accept"
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.mode == "block":  # the relay has the message; the sender has not had the 250 (RFC 1047)
            self.mode, self.held = "accept", self.messages[-1]
            self.blocked.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        return "250 OK"


@pytest.fixture
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_mail(app, smtp_server):
    """The test app sending through `smtp_server`, no automatic wake-up, no context pushed (for a test client,
    whose requests would otherwise share one `g`)."""
    from portal import mail
    from portal.documents import wake_renderer

    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST=smtp_server.host, SMTP_PORT=smtp_server.port, SMTP_TIMEOUT=5.0)
    mail.set_waker(None)  # tests call the tasks themselves, step by step
    wake_renderer.install(None)
    return smtp_server


@pytest.fixture
def smtp_app(app, smtp_mail):
    """The test app sending through `smtp_server`, with its context pushed; no automatic wake-up."""
    with app.app_context():
        yield app


# --- PDFs ----------------------------------------------------------------------------------------------


def stand_in_pdf(html: str, seconds: float | None = None) -> bytes:
    """A valid one-page PDF titled as the HTML is, with no layout: what storing and sending a document needs.
    Called as `portal.pdf.render` is; there is no child process to time out."""
    found = re.search(r"<title>(.*?)</title>", html, re.DOTALL | re.IGNORECASE)
    title = " ".join(html_lib.unescape(found.group(1)).split()) if found else ""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Title <FEFF%s> /Producer (escalation portal tests: stand-in) >>"
        % title.encode("utf-16-be").hex().encode(),
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


WEASYPRINT_RENDER = pdf.render  # for a test that seeds with the stand-in, then reads one PDF back


@pytest.fixture(autouse=True)
def pdf_stand_in(request, monkeypatch):
    """`portal.pdf.render` replaced by `stand_in_pdf`, unless the test is marked `real_pdf`."""
    if request.node.get_closest_marker("real_pdf") is None:
        monkeypatch.setattr(pdf, "render", stand_in_pdf)
