"""A value that changes whenever anything a page shows changes in this database: the key under which a rendered
page may be served again (portal/page_reuse.py; docs/performance.md, "Serving a page again").

One row, `data_version`, moved by a trigger on every insert, update and delete of every table but UNWATCHED, in
the writing transaction, so the new value commits with the change or not at all:
- SQLite adds one to it (one writer at a time: the row is never contended);
- PostgreSQL sets it to the writing transaction's id, at commit (a deferred constraint trigger): the row is
  locked only while its transaction commits, when it waits on nothing else, so it cannot take part in a deadlock,
  and a transaction that changes many rows moves it once.

Read it before the page's own rows: a write committed in between makes the page newer than its key, never older,
and the next request sees the new value."""

from __future__ import annotations

import secrets

from portal.db import database, is_postgres

TABLE = "data_version"
# Written on requests and by the sweep, shown on no page that is served again: a signed-in session's last use,
# the sign-in throttle's counts and the sweep's heartbeat (its red banner follows the clock: PAGE_REUSE_SECONDS).
UNWATCHED = frozenset({"user_session", "throttle_count", "heartbeat"})
OPERATIONS = ("insert", "update", "delete")
_READ = f"SELECT version FROM {TABLE}"  # noqa: S608 (a constant)
# Once a transaction: its later rows' calls return at once, so the row is locked only for the commit itself.
_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION data_version_move() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF current_setting('portal.data_version_moved', true) IS DISTINCT FROM 'yes' THEN
        UPDATE data_version SET version = txid_current();
        PERFORM set_config('portal.data_version_moved', 'yes', true);
    END IF;
    RETURN NULL;
END $$"""
MIGRATIONS_TABLE = "schema_migration"  # the migration runner's own (playhouse.migrations.Runner)


def create_version(db) -> None:
    """The row, from a random value: a database made again (a downgrade and upgrade) does not repeat old values."""
    db.execute_sql(f"CREATE TABLE {TABLE} (version BIGINT NOT NULL)")
    db.execute_sql(f"INSERT INTO {TABLE} (version) VALUES (%s)" % db.param, (secrets.randbelow(2**62),))  # noqa: S608
    if is_postgres():
        db.execute_sql(_POSTGRES_FUNCTION)


def watch_every_table(db) -> None:
    """Triggers on every table that lacks them: after each upgrade, so a table a migration adds, or one SQLite
    rebuilt to change a column (which drops its triggers), is watched without anyone remembering to."""
    if TABLE not in db.get_tables():
        return
    ours = {table for table in db.get_tables() if not table.startswith("sqlite_")}  # not SQLite's statistics
    for table in sorted(ours - UNWATCHED - {TABLE, MIGRATIONS_TABLE} - watched_tables(db)):
        watch_table(db, table)


def watch_table(db, table: str) -> None:
    """The triggers that move the version on every change to `table`."""
    if is_postgres():
        db.execute_sql(
            f'CREATE CONSTRAINT TRIGGER "{TABLE}_{table}" AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {TABLE}_move()"
        )
        return
    for operation in OPERATIONS:
        name, event = f"{TABLE}_{table}_{operation}", operation.upper()
        move = f"UPDATE {TABLE} SET version = version + 1"  # noqa: S608 (names from the schema)
        db.execute_sql(f'CREATE TRIGGER IF NOT EXISTS "{name}" AFTER {event} ON "{table}" BEGIN {move}; END')


def unwatch_table(db, table: str) -> None:
    if is_postgres():
        db.execute_sql(f'DROP TRIGGER IF EXISTS "{TABLE}_{table}" ON "{table}"')
        return
    for operation in OPERATIONS:
        db.execute_sql(f'DROP TRIGGER IF EXISTS "{TABLE}_{table}_{operation}"')


def watched_tables(db=database) -> set[str]:
    """The tables with the version's triggers, as the database lists them."""
    if is_postgres():
        rows = db.execute_sql(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = %s || c.relname",
            (f"{TABLE}_",),
        )
        return {name for (name,) in rows}
    names = {name for (name,) in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    return {
        name.removeprefix(f"{TABLE}_").removesuffix("_insert")
        for name in names
        if name.endswith("_insert")
        and all(name.removesuffix("_insert") + f"_{operation}" in names for operation in OPERATIONS)
    }


def data_version() -> str:
    return str(database.execute_sql(_READ).fetchone()[0])
