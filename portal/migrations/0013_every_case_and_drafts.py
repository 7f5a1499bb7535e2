"""Every case the procedures allow (no particular child, an unborn baby, an agency not in the directory), and a
raise draft per browser tab, each with a version that Check your answers shows."""

from peewee import CharField, DateField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    class Agency(Model):
        class Meta:
            database = db
            table_name = "agency"

    class Escalation(Model):
        class Meta:
            database = db
            table_name = "escalation"

    class JointRaiser(Model):
        escalation = ForeignKeyField(Escalation, on_delete="CASCADE")
        name = CharField(max_length=200)
        email = CharField(max_length=254, index=True)
        agency = ForeignKeyField(Agency, null=True, on_delete="SET NULL")

        class Meta:
            database = db
            table_name = "joint_raiser"

    db.create_tables([JointRaiser])
    migrator.migrate(
        migrator.add_column("escalation", "subject", CharField(max_length=10, default="child")),
        migrator.add_column("escalation", "child_due", DateField(null=True)),
        migrator.add_column("escalation", "counterpart_agency_other", CharField(max_length=200, default="")),
        migrator.add_column("draft", "version", IntegerField(default=0)),
        migrator.drop_index("draft", "draft_user_id_kind"),
        migrator.add_index("draft", ("user_id", "kind"), unique=False),
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_table("joint_raiser"))
    migrator.migrate(
        migrator.drop_index("draft", "draft_user_id_kind"),
        migrator.drop_column("draft", "version"),
        migrator.drop_column("escalation", "counterpart_agency_other"),
        migrator.drop_column("escalation", "child_due"),
        migrator.drop_column("escalation", "subject"),
    )
    # Rows made while a user could keep several drafts keep the newest only, so the unique index fits again.
    db.execute_sql("DELETE FROM draft WHERE id NOT IN (SELECT MAX(id) FROM draft GROUP BY user_id, kind)")
    migrator.migrate(migrator.add_index("draft", ("user_id", "kind"), unique=True))
