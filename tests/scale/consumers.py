"""Task consumers as real processes, configured only through the environment, and the queues they serve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from huey.storage import RedisStorage

from portal.config import ROOT
from tasks import make_queues, schedule
from tests.conftest import TEST_PROCEDURE


class Consumer:
    """`python -m tasks.consumer <queue> [options]`: `tasks.huey` sends and renders, `tasks.schedule` sweeps."""

    def __init__(self, queue: str, env: dict[str, str], log: Path, *options: str) -> None:
        self.command = [sys.executable, "-m", "tasks.consumer", queue, "--worker-type", "thread", *options]
        self.env, self.log, self.process = env, log, None

    def start(self) -> Consumer:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def kill(self) -> None:
        """kill -9: no signal handler runs; the task in flight is lost with the process."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # graceful: running tasks finish first
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


class Queues:
    """The two queues consumers with HUEY_URL=`url` and HUEY_NAME=`name` serve, as the test process sees them."""

    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name
        self.work, self.schedule = make_queues(url, name)

    def environment(self, database_url: str, instance: Path, secret: str, smtp, **settings: str) -> dict[str, str]:
        """What a consumer on these queues is started with: the test database and procedure, the app's secret (the
        links in its mail must match) and the loopback relay; `settings` add or override."""
        return {
            **os.environ,
            "DATABASE_URL": database_url,
            "HUEY_URL": self.url,
            "HUEY_NAME": self.name,
            "PORTAL_INSTANCE": str(instance),
            "PORTAL_PROCEDURE": TEST_PROCEDURE,
            "SECRET_KEY": secret,
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": smtp.host,
            "SMTP_PORT": str(smtp.port),
            **settings,
        }

    def put(self, task_wrapper, *args) -> None:
        """Enqueue as the portal does (the test process's own huey runs in immediate mode, so not through it)."""
        queue = self.schedule if task_wrapper.huey is schedule else self.work
        task = task_wrapper.s(*args)
        queue.storage.enqueue(task_wrapper.huey.serialize_task(task), task.priority)

    def remove(self) -> None:
        for queue in (self.work, self.schedule):
            queue.storage.flush_all()
            if isinstance(queue.storage, RedisStorage):  # and the keys it made under its name
                for key in queue.storage.conn.scan_iter(match=f"*{queue.storage.name}*"):
                    queue.storage.conn.delete(key)
