"""Count the SQL statements a block runs, from peewee's query log, so a test can hold a page's query count constant."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class QueryLog(logging.Handler):
    """Each statement peewee sends to the database, as logged at DEBUG before it runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        sql = record.msg[0] if isinstance(record.msg, tuple) else record.getMessage()
        self.statements.append(str(sql))

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries() -> Iterator[QueryLog]:
    """`with count_queries() as log: ...` then `log.count` (and `log.statements` to say which when it grows)."""
    logger = logging.getLogger("peewee")
    log = QueryLog()
    previous_level, previous_propagate = logger.level, logger.propagate
    logger.addHandler(log)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # the statements are for this count, not the test's log output
    try:
        yield log
    finally:
        logger.removeHandler(log)
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate
