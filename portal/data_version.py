"""A value that changes whenever anything a page shows changes in the database: the key under which a rendered
page may be served again (portal/page_reuse.py; docs/performance.md, "Serving a page again").

PostgreSQL: the current snapshot. Two statements that see the same snapshot see the same committed rows, so it
moves with every committed write, needs no trigger and takes no lock.
SQLite: one counter row, raised by a trigger on every insert, update and delete of every table but UNWATCHED,
inside the writing transaction (SQLite has one writer at a time, so the row is never a point of contention).

Read it before the page's own rows: a write committed in between makes the page newer than its key, never older,
and the next request sees the new value."""

from __future__ import annotations

from portal.db import database, is_postgres

TABLE = "data_version"
# Written on requests and by the sweep, shown on no page that is served again: a signed-in session's last use,
# the sign-in throttle's counts and the sweep's heartbeat (its red banner follows the clock: REUSE_SECONDS).
UNWATCHED = frozenset({"user_session", "throttle_count", "heartbeat"})
OPERATIONS = ("insert", "update", "delete")
_SQLITE_READ = f"SELECT version FROM {TABLE}"  # noqa: S608 (a constant)


def watch_table(db, table: str) -> None:
    """The SQLite triggers that raise the counter on every change to `table` (a migration adding a table calls
    this for it; tests/unit/test_data_version.py fails for a table left out)."""
    if is_postgres():
        return
    for operation in OPERATIONS:
        name, event = f"{TABLE}_{table}_{operation}", operation.upper()
        raise_it = f"UPDATE {TABLE} SET version = version + 1"  # noqa: S608 (names from the schema)
        db.execute_sql(f'CREATE TRIGGER IF NOT EXISTS "{name}" AFTER {event} ON "{table}" BEGIN {raise_it}; END')


def data_version() -> str:
    if is_postgres():
        return database.execute_sql("SELECT pg_current_snapshot()::text").fetchone()[0]
    return str(database.execute_sql(_SQLITE_READ).fetchone()[0])
