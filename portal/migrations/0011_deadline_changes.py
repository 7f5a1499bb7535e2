"""Deadline changes: an earlier date agreed at a stage, an extension, a pause of the clock until a date."""

from peewee import *  # noqa: F403


def up(migrator, db):
    class Escalation(Model):  # noqa: F405
        class Meta:
            database = db
            table_name = "escalation"

    class User(Model):  # noqa: F405
        class Meta:
            database = db
            table_name = "user"

    class DeadlineChange(Model):  # noqa: F405
        escalation = ForeignKeyField(Escalation, on_delete="RESTRICT")  # noqa: F405
        stage_index = IntegerField()  # noqa: F405
        kind = CharField(max_length=10)  # noqa: F405
        made_at = DateTimeField()  # noqa: F405
        made_by = ForeignKeyField(User, null=True, on_delete="RESTRICT")  # noqa: F405
        made_by_email = CharField(max_length=254, default="")  # noqa: F405
        made_by_name = CharField(max_length=200, default="")  # noqa: F405
        reason = TextField()  # noqa: F405
        due_at = DateTimeField(null=True)  # noqa: F405
        until = DateTimeField(null=True)  # noqa: F405
        ended_at = DateTimeField(null=True)  # noqa: F405

        class Meta:
            database = db
            table_name = "deadline_change"
            indexes = ((("escalation", "stage_index"), False),)

    db.create_tables([DeadlineChange])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("deadline_change"))
