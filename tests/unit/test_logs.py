"""The log format: one line per record, UTC time, level and logger; the queue's failures without tracebacks."""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys

from portal.logs import LineFormatter, configure_logging

AT = dt.datetime(2026, 12, 1, 10, 0, 0, 123000, tzinfo=dt.UTC).timestamp()


def record(name: str, message: str, *args, exc_info=None, level: int = logging.WARNING) -> logging.LogRecord:
    made = logging.LogRecord(name, level, __file__, 1, message, args, exc_info)
    made.created, made.msecs = AT, 123.0
    return made


def failure() -> tuple:
    try:
        raise ConnectionError("Redis is down")
    except ConnectionError:
        return sys.exc_info()


def test_a_record_is_one_line_and_a_value_cannot_start_another():
    line = LineFormatter().format(record("portal.mail", "outbox %s to %s", 7, "Eve\r\nBcc: x@evil.example"))
    assert line == "2026-12-01T10:00:00.123Z WARNING portal.mail: outbox 7 to Eve\\r\\nBcc: x@evil.example"


def test_the_queues_failures_are_one_line_and_the_portals_own_keep_their_traceback():
    error = failure()
    queue = record("huey.consumer.Worker-1", "Error reading from queue", exc_info=error, level=logging.ERROR)
    line = LineFormatter().format(queue)
    assert line.endswith("ERROR huey.consumer.Worker-1: Error reading from queue (ConnectionError: Redis is down)")
    assert "\n" not in line
    assert queue.exc_info is error  # other handlers (a test's) still get the traceback

    bug = LineFormatter().format(record("portal.errors", "unhandled error ref=%s", "1a2b3c4d", exc_info=error))
    assert bug.splitlines()[1] == "Traceback (most recent call last):"


def test_logging_is_configured_once_and_shows_info(capsys):
    configure_logging()
    configure_logging()
    handlers = [h for h in logging.getLogger().handlers if isinstance(h.formatter, LineFormatter)]
    assert len(handlers) == 1
    logging.getLogger("portal.test").info("outbox %s sent", 3)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO portal\.test: outbox 3 sent", lines[0])
