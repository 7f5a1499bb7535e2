"""The portal's log format, set once per process: by create_app (web, flask commands) and by the task consumers.

One line per record: UTC time, level, logger, message. Line breaks inside a message are escaped, so a value
cannot forge a record. The task queue's own failures (a queue that is down, a task that raised) are logged by huey
with a traceback each time it retries; here they become one line naming the error, so an outage reads as a few
lines a minute. Tracebacks are kept for the portal's own `log.exception` calls: those are bugs, and rare.
What a message may hold is the caller's business: ids and references, never link tokens, children's details or
email bodies (docs/security.md).
"""

from __future__ import annotations

import logging
import re
import sys
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ONE_LINE_LOGGERS = ("huey",)  # their exceptions are summarised, not traced
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def _escape(text: str) -> str:
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


class LineFormatter(logging.Formatter):
    """`2026-12-01T10:00:00.123Z WARNING portal.mail: outbox 7 (reminder) attempt 2 not delivered: ...`."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line = logging.makeLogRecord(record.__dict__)  # a copy: other handlers (a test's) see the record as made
        message = line.getMessage()
        if line.exc_info and line.name.split(".")[0] in ONE_LINE_LOGGERS:
            error = line.exc_info[1]
            message += f" ({type(error).__name__}: {error})"
            line.exc_info, line.exc_text = None, None
        line.msg, line.args = _escape(message), None
        return super().format(line)


class _StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is when the record is emitted (a test runner replaces it between tests)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def configure_logging(level: int = logging.INFO) -> None:
    """Send every record at `level` and above to stderr in the portal's format; a second call changes nothing."""
    root = logging.getLogger()
    if any(isinstance(handler, _StderrHandler) for handler in root.handlers):
        return
    handler = _StderrHandler()
    handler.setFormatter(LineFormatter())
    root.addHandler(handler)
    root.setLevel(level)
