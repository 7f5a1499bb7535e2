"""A resolution the other side may contest until a deadline (the procedure's contest_within)."""

from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(migrator.add_column("escalation", "contest_until", DateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("escalation", "contest_until"))
