"""The database stops under a signed-in user: the portal's own error page, with a reference, and one log line.

The test starts a PostgreSQL server of its own (Debian's initdb and pg_ctl, as the `postgres` user when run as
root), so that it can stop it; the shared test server must keep running for everyone else.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from portal.cli import upgrade_database
from portal.db import database, init_database
from tests import factories
from tests.conftest import test_app
from tests.web.conftest import check_page, sign_in

pytestmark = pytest.mark.slow
REFERENCE = re.compile(r"quote error reference <strong>([0-9a-f]{8})</strong>")


@pytest.fixture
def private_postgres() -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A PostgreSQL server on a free port in a temporary directory: its URL, and functions that stop and start it."""
    pg_ctls = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not pg_ctls:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    bindir = pg_ctls[-1].parent
    as_owner: list[str] = []
    if os.geteuid() == 0:  # initdb and the server refuse to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser to start PostgreSQL as postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    home = Path(tempfile.mkdtemp(prefix="portal-pg-"))  # not under pytest's tmp_path, which only root may enter
    if as_owner:
        shutil.chown(home, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = home / "data"
    pg_ctl = [*as_owner, str(bindir / "pg_ctl"), "-D", str(data)]
    stopped = False

    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            subprocess.run([*pg_ctl, "stop", "-m", "fast", "-w"], check=True, capture_output=True, timeout=60)
            stopped = True

    def start() -> None:
        nonlocal stopped
        command = [*pg_ctl, "-o", options, "-l", str(home / "server.log"), "-w", "start"]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        stopped = False

    try:
        subprocess.run(
            [*as_owner, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        start()
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", stop, start
    finally:
        database.close()
        if (data / "postmaster.pid").exists():
            stop()
        shutil.rmtree(home, ignore_errors=True)


def test_with_the_database_stopped_a_signed_in_page_gets_the_portals_error_page(private_postgres, tmp_path, caplog):
    url, stop_database, start_database = private_postgres
    init_database(url)
    upgrade_database()
    app = test_app(url, tmp_path)
    with app.app_context(), database.connection_context():
        user = factories.user()
    client = app.test_client()
    assert sign_in(client, user).status_code == 302
    assert client.get("/cases/").status_code == 200

    stop_database()
    with caplog.at_level(logging.INFO):
        response = client.get("/cases/")

    assert response.status_code == 503
    html = response.get_data(as_text=True)
    check_page(html)
    assert "Sorry, the service is unavailable" in html
    assert "Test Safeguarding Children Partnership" in html  # the portal's own page, with the partnership's name
    reference = REFERENCE.search(html).group(1)
    lines = [record for record in caplog.records if reference in record.getMessage()]
    assert len(lines) == 1, caplog.text
    assert (lines[0].levelname, lines[0].name, lines[0].exc_info) == ("ERROR", "portal.errors", None)
    assert "OperationalError" in lines[0].getMessage()

    # Started again, the next page works: the pool's connections died with the server, and each is checked
    # (SELECT 1) before it is handed out, so a dead one is replaced rather than failing a request.
    start_database()
    assert client.get("/cases/").status_code == 200
    stop_database()
    start_database()  # a restart between two requests: the pooled connection is dead, nothing has noticed yet
    assert client.get("/cases/").status_code == 200
