"""The Business Manager's inbox: their marks on cases and documents, each case's last activity and the child's
name normalised for search, and the indexes the inbox, the dashboard and
the Sent mail page filter and sort on."""

from peewee import *  # noqa: F403

ESCALATION_INDEXES = {
    "escalation_created_at_id": ("created_at", "id"),
    "escalation_last_activity_at_id": ("last_activity_at", "id"),
    "escalation_due_at_id": ("due_at", "id"),
    "escalation_child_name_key": ("child_name_key",),
    "escalation_child_surname_key": ("child_surname_key",),
}


def _backfill(db) -> None:
    """Existing cases: their latest event other than a view, and their children's names as search keys."""
    from portal.name_search import name_keys

    db.execute_sql(
        "UPDATE escalation SET last_activity_at = COALESCE((SELECT MAX(e.at) FROM event e "
        "WHERE e.escalation_id = escalation.id AND e.kind <> 'viewed'), created_at)"
    )
    rows = db.execute_sql("SELECT id, child_name FROM escalation").fetchall()
    for case_id, child_name in rows:
        full, surname = name_keys(child_name)
        db.execute_sql(
            "UPDATE escalation SET child_name_key = %s, child_surname_key = %s WHERE id = %s".replace(
                "%s", db.param
            ),
            (full, surname, case_id),
        )


def up(migrator, db):
    class User(Model):  # noqa: F405
        class Meta:
            database = db
            table_name = "user"

    class InboxMark(Model):  # noqa: F405
        user = ForeignKeyField(User, on_delete="CASCADE")  # noqa: F405
        kind = CharField(max_length=20)  # noqa: F405
        item_id = IntegerField()  # noqa: F405
        read_at = DateTimeField(null=True)  # noqa: F405
        reviewed_at = DateTimeField(null=True)  # noqa: F405
        note = TextField(default="")  # noqa: F405

        class Meta:
            database = db
            table_name = "inbox_mark"
            indexes = ((("user", "kind", "item_id"), True),)

    db.create_tables([InboxMark])
    migrator.migrate(
        migrator.add_column("escalation", "last_activity_at", DateTimeField(null=True)),  # noqa: F405
        migrator.add_column("escalation", "child_name_key", CharField(max_length=200, default="")),  # noqa: F405
        migrator.add_column("escalation", "child_surname_key", CharField(max_length=200, default="")),  # noqa: F405
    )
    _backfill(db)
    migrator.migrate(migrator.add_not_null("escalation", "last_activity_at"))
    for name, columns in ESCALATION_INDEXES.items():
        migrator.migrate(migrator.add_index("escalation", columns, False))
    migrator.migrate(migrator.add_index("document", ("created_at", "id"), False))
    migrator.migrate(migrator.add_index("outbox", ("created_at", "id"), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("outbox", "outbox_created_at_id"))
    migrator.migrate(migrator.drop_index("document", "document_created_at_id"))
    for name in ESCALATION_INDEXES:
        migrator.migrate(migrator.drop_index("escalation", name))
    for column in ("last_activity_at", "child_name_key", "child_surname_key"):
        migrator.migrate(migrator.drop_column("escalation", column))
    migrator.migrate(migrator.drop_table("inbox_mark"))
