"""Server-side sessions, drafts of unfinished forms, answers kept across an expired session,
and the submission key that makes a double-submitted raise create one case."""

from peewee import *  # noqa: F403


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = "user"

    class UserSession(Model):
        token_hash = CharField(unique=True, max_length=64)
        user = ForeignKeyField(User, on_delete="CASCADE")
        created_at = DateTimeField()
        last_seen_at = DateTimeField()

        class Meta:
            database = db
            table_name = "user_session"

    class Draft(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        kind = CharField(max_length=40)
        answers = TextField()
        submission_key = CharField(max_length=64, default="")
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "draft"
            indexes = ((("user", "kind"), True),)

    class FormStash(Model):
        token_hash = CharField(unique=True, max_length=64)
        path = CharField(max_length=500)
        answers = TextField()
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "form_stash"

    db.create_tables([UserSession, Draft, FormStash])
    migrator.migrate(
        migrator.add_column("escalation", "submission_key", CharField(max_length=64, null=True)),
        migrator.add_index("escalation", ("submission_key",), unique=True),
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_index("escalation", "escalation_submission_key"))
    migrator.migrate(migrator.drop_column("escalation", "submission_key"))
    for table in ("form_stash", "draft", "user_session"):
        migrator.migrate(migrator.drop_table(table))
