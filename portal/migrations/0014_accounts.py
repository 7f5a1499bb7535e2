"""Accounts: throttling replaces the account lock, emailed set-password links, and the second factor."""

from peewee import *  # noqa: F403


def _tables(db):
    class User(Model):
        class Meta:
            database = db
            table_name = "user"

    class ThrottleCount(Model):
        key = CharField(max_length=200, unique=True)
        count = IntegerField(default=0)
        expires_at = DateTimeField(index=True)

        class Meta:
            database = db
            table_name = "throttle_count"

    class AccountLink(Model):
        token_hash = CharField(max_length=64, unique=True)
        salt = CharField(max_length=64)
        user = ForeignKeyField(User, on_delete="CASCADE")
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "account_link"

    class RecoveryCode(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        code_hash = CharField(max_length=64)
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "recovery_code"

    return [ThrottleCount, AccountLink, RecoveryCode]


def up(migrator, db):
    db.create_tables(_tables(db))
    migrator.migrate(
        migrator.drop_column("user", "failed_logins"),
        migrator.drop_column("user", "locked_until"),
        migrator.add_column("user", "totp_secret", CharField(max_length=64, default="")),
        migrator.add_column("user", "totp_last_step", IntegerField(default=0)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("user", "totp_last_step"),
        migrator.drop_column("user", "totp_secret"),
        migrator.add_column("user", "failed_logins", IntegerField(default=0)),
        migrator.add_column("user", "locked_until", DateTimeField(null=True)),
    )
    db.drop_tables(list(reversed(_tables(db))))
