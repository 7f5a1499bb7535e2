"""The initial schema (generated from the models, then frozen: later changes are new migrations)."""
from peewee import *  # noqa: F403


def up(migrator, db):  # noqa: C901
    class Agency(Model):
        name = CharField(unique=True, max_length=200)
        kind = CharField(max_length=60, default='')
        active = BooleanField(default=True)
        class Meta:
            database = db
            table_name = 'agency'
    db.create_tables([Agency])

    class User(Model):
        email = CharField(unique=True, max_length=254)
        name = CharField(max_length=200)
        role = CharField(max_length=30, default='practitioner')
        password_hash = CharField(default='')
        agency = ForeignKeyField(Agency, null=True, on_delete='SET NULL')
        job_title = CharField(max_length=200, default='')
        phone = CharField(max_length=60, default='')
        active = BooleanField(default=True)
        failed_logins = IntegerField(default=0)
        locked_until = DateTimeField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class Escalation(Model):
        reference = CharField(unique=True, max_length=20)
        procedure_id = CharField(max_length=60)
        status = CharField(index=True, max_length=20, default='open')
        child_name = CharField(max_length=200)
        child_dob = DateField(null=True)
        child_identifier = CharField(max_length=60, default='')
        child_on_plan = BooleanField(default=False)
        child_looked_after = BooleanField(default=False)
        raiser = ForeignKeyField(User, on_delete='RESTRICT')
        raiser_role = CharField(max_length=200, default='')
        raiser_agency = ForeignKeyField(Agency, null=True, on_delete='SET NULL')
        raiser_contact_details = CharField(max_length=300, default='')
        counterpart_name = CharField(max_length=200, default='')
        counterpart_email = CharField(max_length=254, default='')
        counterpart_agency = ForeignKeyField(Agency, null=True, on_delete='SET NULL')
        categories = TextField(default=list)
        category_other = CharField(max_length=200, default='')
        summary = TextField(default='')
        action_taken = TextField(default='')
        outcome_sought = TextField(default='')
        lead_aware = BooleanField(default=False)
        lead_name = CharField(max_length=200, default='')
        imminent_risk = BooleanField(default=False)
        specific_circumstance = CharField(null=True, max_length=40)
        requested_due_at = DateTimeField(null=True)
        stage_index = IntegerField(default=0)
        stage_started_at = DateTimeField()
        due_at = DateTimeField(index=True, null=True)
        next_alert_at = DateTimeField(index=True, null=True)
        outcome = TextField(default='')
        version = IntegerField(default=0)
        created_at = DateTimeField()
        closed_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'escalation'
    db.create_tables([Escalation])

    class ActionLink(Model):
        token_hash = CharField(unique=True, max_length=64)
        salt = CharField(max_length=64)
        escalation = ForeignKeyField(Escalation, on_delete='CASCADE')
        stage_index = IntegerField()
        recipient_email = CharField(max_length=254)
        recipient_name = CharField(max_length=200, default='')
        action = CharField(max_length=20)
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)
        superseded_at = DateTimeField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'action_link'
    db.create_tables([ActionLink])

    class Contact(Model):
        agency = ForeignKeyField(Agency, on_delete='CASCADE')
        role = CharField(max_length=40)
        name = CharField(max_length=200)
        job_title = CharField(max_length=200, default='')
        email = CharField(max_length=254)
        secure = BooleanField(default=False)
        active = BooleanField(default=True)
        class Meta:
            database = db
            table_name = 'contact'
            indexes = ((('agency', 'role'), False), (('agency', 'role', 'email'), True))
    db.create_tables([Contact])

    class Counter(Model):
        name = CharField(unique=True, max_length=40)
        value = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'counter'
    db.create_tables([Counter])

    class Document(Model):
        escalation = ForeignKeyField(Escalation, null=True, on_delete='RESTRICT')
        kind = CharField(max_length=40)
        stage_index = IntegerField(null=True)
        key = CharField(unique=True)
        status = CharField(max_length=20, default='pending')
        filename = CharField(max_length=200, default='')
        sha256 = CharField(max_length=64, default='')
        content = BlobField(null=True)
        created_at = DateTimeField()
        rendered_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'document'
    db.create_tables([Document])

    class Event(Model):
        escalation = ForeignKeyField(Escalation, on_delete='RESTRICT')
        at = DateTimeField(index=True)
        kind = CharField(max_length=40)
        stage_index = IntegerField(null=True)
        actor = ForeignKeyField(User, null=True, on_delete='RESTRICT')
        actor_email = CharField(max_length=254, default='')
        text = TextField(default='')
        data = TextField(default=dict)
        class Meta:
            database = db
            table_name = 'event'
    db.create_tables([Event])

    class Outbox(Model):
        idempotency_key = CharField(unique=True)
        escalation = ForeignKeyField(Escalation, null=True, on_delete='RESTRICT')
        purpose = CharField(max_length=40)
        recipient_email = CharField(max_length=254)
        recipient_name = CharField(max_length=200, default='')
        context = TextField(default=dict)
        status = CharField(max_length=20, default='pending')
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        lease_until = DateTimeField(null=True)
        last_error = TextField(default='')
        message_id = CharField(default='')
        created_at = DateTimeField()
        sent_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'outbox'
            indexes = ((('status', 'next_attempt_at'), False),)
    db.create_tables([Outbox])

    class Reminder(Model):
        key = CharField(unique=True)
        escalation = ForeignKeyField(Escalation, on_delete='CASCADE')
        stage_index = IntegerField()
        kind = CharField(max_length=30)
        due_at = DateTimeField()
        sent_at = DateTimeField(null=True)
        cancelled_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'reminder'
            indexes = ((('escalation', 'sent_at', 'due_at'), False),)
    db.create_tables([Reminder])

    class StageRecord(Model):
        escalation = ForeignKeyField(Escalation, on_delete='CASCADE')
        stage_index = IntegerField()
        stage_key = CharField(max_length=60)
        started_at = DateTimeField()
        due_at = DateTimeField()
        ended_at = DateTimeField(null=True)
        ending = CharField(null=True, max_length=20)
        statement = TextField(default='')
        class Meta:
            database = db
            table_name = 'stage_record'
            indexes = ((('escalation', 'stage_index'), True),)
    db.create_tables([StageRecord])

    class StageParty(Model):
        stage = ForeignKeyField(StageRecord, on_delete='CASCADE')
        party = CharField(max_length=80)
        name = CharField(max_length=200)
        email = CharField(max_length=254)
        secure = BooleanField(default=False)
        contact = ForeignKeyField(Contact, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'stage_party'
            indexes = ((('stage', 'email'), True),)
    db.create_tables([StageParty])
    _add_triggers(db)


def down(migrator, db):
    if not isinstance(db, SqliteDatabase):  # noqa: F405
        db.execute_sql("DROP FUNCTION IF EXISTS event_append_only() CASCADE")
    migrator.migrate(migrator.drop_table('stage_party'))
    migrator.migrate(migrator.drop_table('stage_record'))
    migrator.migrate(migrator.drop_table('reminder'))
    migrator.migrate(migrator.drop_table('outbox'))
    migrator.migrate(migrator.drop_table('event'))
    migrator.migrate(migrator.drop_table('document'))
    migrator.migrate(migrator.drop_table('counter'))
    migrator.migrate(migrator.drop_table('contact'))
    migrator.migrate(migrator.drop_table('action_link'))
    migrator.migrate(migrator.drop_table('escalation'))
    migrator.migrate(migrator.drop_table('user'))
    migrator.migrate(migrator.drop_table('agency'))


# Events are the case's record: the database itself refuses to change or remove one.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER event_append_only_update BEFORE UPDATE ON event "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER event_append_only_delete BEFORE DELETE ON event "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$",
    "CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event "
    "FOR EACH ROW EXECUTE FUNCTION event_append_only()",
]


def _add_triggers(db):
    for sql in SQLITE_TRIGGERS if isinstance(db, SqliteDatabase) else POSTGRES_TRIGGERS:  # noqa: F405
        db.execute_sql(sql)
