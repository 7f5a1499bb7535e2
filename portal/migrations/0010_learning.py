"""Learning from resolutions and final decisions, as rows the quarterly report counts (issue 17 item 4); a row per
quarterly report made, so each quarter's is mailed once (issue 12)."""

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

    class Document(Model):  # noqa: F405
        class Meta:
            database = db
            table_name = "document"

    class QuarterlyReport(Model):  # noqa: F405
        quarter = CharField(max_length=10, unique=True)  # noqa: F405
        made_at = DateTimeField()  # noqa: F405
        document = ForeignKeyField(Document, null=True, backref="+", on_delete="SET NULL")  # noqa: F405

        class Meta:
            database = db
            table_name = "quarterly_report"

    db.create_tables([Learning, QuarterlyReport])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("quarterly_report"), migrator.drop_table("learning"))
