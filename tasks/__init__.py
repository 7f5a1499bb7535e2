"""The two huey queues, built from settings, and every task module.

`huey` carries the work: sending mail and rendering PDFs, one task per row. `schedule` carries the minute sweeps
(reminders, outbox replay, pending documents) and is served by a consumer of its own, so a sweep never waits behind
a send to a relay that hangs or a slow render. Both live in the same storage (`HUEY_URL`), under `HUEY_NAME` and
`HUEY_NAME`-schedule. huey only wakes things up; the database is the source of truth
(docs/security.md, 'Task queue delivery').
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context
from huey import RedisHuey, SqliteHuey

from portal.config import queue_settings
from portal.db import database
from portal.file_modes import PRIVATE_UMASK


def make_huey(url: str, name: str) -> SqliteHuey | RedisHuey:
    """SqliteHuey in its own file by default (never the case database), RedisHuey from redis:// URLs.

    `name` (HUEY_NAME) separates queues sharing one Redis database, e.g. concurrent test runs.
    """
    if url.startswith("redis://"):
        return RedisHuey(name, url=url, results=False)
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        os.umask(PRIVATE_UMASK)  # the queue holds row ids only, but lives with the database: private too
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return SqliteHuey(name, filename=path, results=False)
    raise ValueError(f"unsupported HUEY_URL scheme: {url.split(':', 1)[0]!r}")


def make_queues(url: str, name: str) -> tuple[SqliteHuey | RedisHuey, SqliteHuey | RedisHuey]:
    """The work queue and the schedule queue, in one storage."""
    return make_huey(url, name), make_huey(url, f"{name}-schedule")


_settings = queue_settings()
huey, schedule = make_queues(_settings["HUEY_URL"], _settings["HUEY_NAME"])

_app: Flask | None = None
_app_lock = threading.Lock()  # thread workers: build the app once, not once per thread


@contextmanager
def app_context() -> Iterator[Flask]:
    """The app a task runs in: the pushed one when there is one (tests, immediate mode), else one per process."""
    global _app
    if has_app_context():
        yield current_app._get_current_object()
        return
    with _app_lock:
        if _app is None:
            from portal import create_app

            _app = create_app()
    with _app.app_context():
        yield _app


@contextmanager
def task_context() -> Iterator[Flask]:
    """The app (the pushed one in tests) and a database connection (the caller's, if it has one open)."""
    with app_context() as app:
        if database.is_closed():
            with database.connection_context():
                yield app
        else:
            yield app


from tasks import documents, mail, reminders  # noqa: E402, F401  (every task module registers with huey)
