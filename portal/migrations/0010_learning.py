"""Learning from resolutions and final decisions, as rows the quarterly report counts (issue 17 item 4)."""

from peewee import *  # noqa: F403


def up(migrator, db):
    class Escalation(Model):  # noqa: F405
        class Meta:
            database = db
            table_name = "escalation"

    class Event(Model):  # noqa: F405
        class Meta:
            database = db
            table_name = "event"

    class Learning(Model):  # noqa: F405
        escalation = ForeignKeyField(Escalation, backref="+", on_delete="RESTRICT")  # noqa: F405
        event = ForeignKeyField(Event, backref="+", on_delete="RESTRICT")  # noqa: F405
        stage_index = IntegerField()  # noqa: F405
        at = DateTimeField(index=True)  # noqa: F405
        points = TextField(default="")  # noqa: F405
        policy = CharField(max_length=200, default="")  # noqa: F405
        policy_gap = TextField(default="")  # noqa: F405
        debrief = BooleanField(default=False)  # noqa: F405

        class Meta:
            database = db
            table_name = "learning"

    db.create_tables([Learning])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("learning"))
