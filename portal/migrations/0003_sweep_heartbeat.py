"""A heartbeat row per periodic job: the reminder sweep records when it last ran, so a stalled consumer shows."""

from peewee import *  # noqa: F403


def up(migrator, db):
    class Heartbeat(Model):  # noqa: F405
        name = CharField(unique=True, max_length=40)  # noqa: F405
        beat_at = DateTimeField()  # noqa: F405
        handled = IntegerField(default=0)  # noqa: F405

        class Meta:
            database = db
            table_name = "heartbeat"

    db.create_tables([Heartbeat])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("heartbeat"))
