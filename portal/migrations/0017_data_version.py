"""The counter a served-again page is keyed on (portal/data_version.py): on SQLite, one row raised by a trigger
on every table but the few written on every request; PostgreSQL keys on its snapshot and needs neither."""

from portal.data_version import OPERATIONS, TABLE, UNWATCHED, is_postgres, watch_table

MIGRATIONS_TABLE = "schema_migration"  # the runner's own (playhouse.migrations.Runner)


def up(migrator, db):
    if is_postgres():
        return
    db.execute_sql(f"CREATE TABLE {TABLE} (version INTEGER NOT NULL)")
    db.execute_sql(f"INSERT INTO {TABLE} (version) VALUES (0)")
    ours = {table for table in db.get_tables() if not table.startswith("sqlite_")}  # not SQLite's own statistics
    for table in sorted(ours - UNWATCHED - {TABLE, MIGRATIONS_TABLE}):
        watch_table(db, table)


def down(migrator, db):
    if is_postgres():
        return
    for table in db.get_tables():
        for operation in OPERATIONS:
            db.execute_sql(f'DROP TRIGGER IF EXISTS "{TABLE}_{table}_{operation}"')
    db.execute_sql(f"DROP TABLE {TABLE}")
