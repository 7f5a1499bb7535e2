"""The database handle: SQLite (WAL, IMMEDIATE writes) by default, PostgreSQL from DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect as connect_url
from playhouse.pool import PooledPostgresqlDatabase

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: a committed escalation survives power loss
    "foreign_keys": 1,
    "cache_size": -16000,
}
POOL_SIZE = 20  # per process: a gunicorn worker uses one, a task consumer one per thread


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
        # Pooled: opening a connection is most of a short page on PostgreSQL (docs/performance.md). The pool runs
        # SELECT 1 on each connection it hands out, so one that a server restart broke is replaced, not used.
        scheme, rest = url.split("://", 1)
        return connect_url(f"{scheme}+pool://{rest}", max_connections=POOL_SIZE, stale_timeout=300)
    raise ValueError(f"unsupported DATABASE_URL scheme: {url.split(':', 1)[0]!r}")


def init_database(url: str) -> None:
    if isinstance(database.obj, PooledPostgresqlDatabase):
        database.obj.close_all()  # the pool being replaced gives its connections back to the server
    database.initialize(make_database(url))


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)
