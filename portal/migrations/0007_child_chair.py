"""The child's own child protection chair or IRO, named by the raiser (never every chair in the directory)."""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("escalation", "child_chair_name", CharField(max_length=200, default="")),
        migrator.add_column("escalation", "child_chair_email", CharField(max_length=254, default="")),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("escalation", "child_chair_name"),
        migrator.drop_column("escalation", "child_chair_email"),
    )
