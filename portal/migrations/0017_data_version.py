"""The version a served-again page is keyed on (portal/data_version.py): one row, moved by a trigger on every
table but the few written on every request."""

from portal.data_version import TABLE, UNWATCHED, create_version, is_postgres, unwatch_table, watch_table

MIGRATIONS_TABLE = "schema_migration"  # the runner's own (playhouse.migrations.Runner)


def _watched(db) -> list[str]:
    ours = {table for table in db.get_tables() if not table.startswith("sqlite_")}  # not SQLite's statistics
    return sorted(ours - UNWATCHED - {TABLE, MIGRATIONS_TABLE})


def up(migrator, db):
    create_version(db)
    for table in _watched(db):
        watch_table(db, table)


def down(migrator, db):
    for table in _watched(db):
        unwatch_table(db, table)
    db.execute_sql(f"DROP TABLE {TABLE}")
    if is_postgres():
        db.execute_sql(f"DROP FUNCTION {TABLE}_move()")
