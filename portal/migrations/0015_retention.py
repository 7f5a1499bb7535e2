"""Retention: a closed case's details are erased after its retention period; the row stays as a tombstone.

Events stay append-only, with one exception the database itself enforces: the events of a case already marked
erased may be deleted (portal/retention.py marks the case, then deletes them, in one transaction).
"""

from peewee import CharField, DateTimeField, SqliteDatabase

REFUSE = "SELECT RAISE(ABORT, 'events are append-only')"
SQLITE_UP = [
    "DROP TRIGGER event_append_only_delete",
    "CREATE TRIGGER event_append_only_delete BEFORE DELETE ON event "
    "WHEN (SELECT erased_at FROM escalation WHERE id = OLD.escalation_id) IS NULL "
    f"BEGIN {REFUSE}; END",
]
SQLITE_DOWN = [
    "DROP TRIGGER event_append_only_delete",
    f"CREATE TRIGGER event_append_only_delete BEFORE DELETE ON event BEGIN {REFUSE}; END",
]
POSTGRES_UP = [
    "CREATE OR REPLACE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'DELETE' AND EXISTS "
    "(SELECT 1 FROM escalation WHERE id = OLD.escalation_id AND erased_at IS NOT NULL) THEN RETURN OLD; END IF; "
    "RAISE EXCEPTION 'events are append-only'; END $$"
]
POSTGRES_DOWN = [
    "CREATE OR REPLACE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$"
]


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("escalation", "erased_at", DateTimeField(null=True)),
        migrator.add_column("escalation", "erased_by", CharField(max_length=200, default="")),
    )
    for sql in SQLITE_UP if isinstance(db, SqliteDatabase) else POSTGRES_UP:
        db.execute_sql(sql)


def down(migrator, db):
    for sql in SQLITE_DOWN if isinstance(db, SqliteDatabase) else POSTGRES_DOWN:
        db.execute_sql(sql)
    migrator.migrate(
        migrator.drop_column("escalation", "erased_at"),
        migrator.drop_column("escalation", "erased_by"),
    )
