"""The version a served-again page is keyed on (portal/data_version.py): one row, moved by a trigger on every
table but the few written on every request. Later upgrades add the triggers to any table without them."""

from portal.data_version import TABLE, create_version, is_postgres, unwatch_table, watch_every_table, watched_tables


def up(migrator, db):
    create_version(db)
    watch_every_table(db)


def down(migrator, db):
    for table in watched_tables(db):
        unwatch_table(db, table)
    db.execute_sql(f"DROP TABLE {TABLE}")
    if is_postgres():
        db.execute_sql(f"DROP FUNCTION {TABLE}_move()")
