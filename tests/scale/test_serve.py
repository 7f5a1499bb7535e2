"""`flask serve` as a real process tree: a task consumer that dies is restarted while the web server keeps answering,
and SIGTERM stops everything the way systemd and `docker stop` expect (docs/operations.md)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portal.cli import upgrade_database
from portal.config import ROOT
from portal.db import database, init_database
from tests.conftest import TEST_PROCEDURE
from tests.processes import command_line, descendants, running, wait_for

pytestmark = pytest.mark.slow
FLASK = Path(sys.executable).parent / "flask"
WORK, SWEEPS = "tasks.consumer tasks.huey", "tasks.consumer tasks.schedule"


@dataclass
class Serve:
    process: subprocess.Popen
    port: int
    log: Path
    seen: dict[int, int] = field(default_factory=dict)  # every process of its tree met so far, with its start time

    def children(self) -> dict[int, str]:
        """Its processes now, by pid, with their command lines."""
        tree = descendants(self.process.pid)
        self.seen.update(tree)
        return {pid: command_line(pid) for pid in tree}

    def consumers(self, queue: str) -> list[int]:
        return [pid for pid, command in self.children().items() if queue in command]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def serves_http(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=2).close()
    except urllib.error.HTTPError:
        return True  # an answer from the app all the same
    except OSError:
        return False
    return True


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def serve(tmp_path):
    """`flask serve` on a free port with a temporary instance, once the web and both consumers are up."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database_url = f"sqlite:///{tmp_path / 'portal.db'}"
    init_database(database_url)
    upgrade_database()
    database.close()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HUEY_URL": f"sqlite:///{tmp_path / 'huey.db'}",
        "HUEY_NAME": f"escalation-portal-test-{uuid.uuid4().hex[:12]}",
        "PORTAL_INSTANCE": str(tmp_path / "instance"),
        "PORTAL_PROCEDURE": TEST_PROCEDURE,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "MAIL_FILE_DIR": str(tmp_path / "outbox"),
        "PYTHONUNBUFFERED": "1",
        "HOME": str(tmp_path / "home"),  # gunicorn would put a control socket here, shared by every portal on the host
    }
    env.pop("FLASK_APP", None)  # the project's wsgi.py, found from the working directory
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(FLASK), "serve", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    serve = Serve(process, port, log)
    try:
        wait_for(lambda: serves_http(port), "the portal to answer", log)
        wait_for(lambda: serve.output().count("Huey consumer started") == 2, "both consumers", log)
        yield serve
    finally:
        for pid, started in {**serve.seen, **descendants(process.pid)}.items():  # only what this test started
            if running(pid, started):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_killed_task_consumer_is_restarted_with_growing_waits_and_the_web_keeps_answering(serve):
    (first,) = serve.consumers(WORK)
    (sweeps,) = serve.consumers(SWEEPS)
    os.kill(first, signal.SIGKILL)
    answered: list[bool] = []

    def replaced(old: int) -> bool:
        answered.append(serves_http(serve.port))
        return [pid for pid in serve.consumers(WORK) if pid != old] != []

    wait_for(lambda: replaced(first), "a new task consumer", serve.log, timeout=30)
    (second,) = serve.consumers(WORK)
    os.kill(second, signal.SIGKILL)  # dies again soon after its start: the next wait is longer
    wait_for(lambda: replaced(second), "another task consumer", serve.log, timeout=30)

    assert answered and all(answered), "the web server stopped answering while a consumer was down"
    assert serve.consumers(SWEEPS) == [sweeps]  # the other consumer was left alone
    assert serve.process.poll() is None
    output = serve.output()
    assert "task consumer killed by signal 9; restarting it in 1 s" in output
    assert "task consumer killed by signal 9; restarting it in 2 s" in output
    assert output.count("task consumer restarted (pid") == 2


def test_sigterm_stops_the_web_server_and_both_consumers_gracefully(serve):
    tree = {pid: serve.seen[pid] for pid in serve.children()}
    commands = list(serve.children().values())
    assert sum(WORK in c for c in commands) == 1 and sum(SWEEPS in c for c in commands) == 1, commands
    assert sum("gunicorn" in c for c in commands) == 2, commands  # the master and its worker
    assert not (serve.log.parent / "home" / ".gunicorn").exists()  # two portals on one host share nothing

    serve.process.send_signal(signal.SIGTERM)  # to `flask serve` alone, as systemd (KillMode=mixed) or docker would

    wait_for(lambda: not answers(serve.port), "the port to close", serve.log)
    wait_for(lambda: not any(running(pid, t) for pid, t in tree.items()), "every child to exit", serve.log)
    assert serve.process.wait(timeout=60) == 0, serve.output()
    output = serve.output()
    assert output.count("Received SIGINT") == 2  # each consumer let its running task finish
    assert output.count("Consumer exiting.") == 2
    assert "Handling signal: term" in output  # gunicorn's graceful shutdown (SIGINT would be its quick one)
    assert "error:" not in output and "restarting" not in output
