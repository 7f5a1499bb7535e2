"""The database handle: SQLite (WAL, IMMEDIATE writes) by default, PostgreSQL from DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect as connect_url

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: a committed escalation survives power loss
    "foreign_keys": 1,
    "cache_size": -16000,
}


def make_database(url: str) -> SqliteDatabase | PostgresqlDatabase:
    """A database for `url`: `sqlite:///path` or `postgresql://...`."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path in {"", ":memory:"}:
            raise ValueError("use a file for SQLite: an in-memory database is lost at every close")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE: a deferred read-then-write fails at once under contention, whatever the timeout.
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE")
    if url.startswith(("postgres://", "postgresql://")):
        return connect_url(url)
    raise ValueError(f"unsupported DATABASE_URL scheme: {url.split(':', 1)[0]!r}")


def init_database(url: str) -> None:
    database.initialize(make_database(url))


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)
