"""A party typed in by the person escalating (the directory had nobody for that role) is marked unverified."""

from peewee import BooleanField


def up(migrator, db):
    migrator.migrate(migrator.add_column("stage_party", "verified", BooleanField(default=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("stage_party", "verified"))
