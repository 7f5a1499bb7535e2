"""The schema the migrations build matches the models; times are stored as UTC only."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from peewee import SqliteDatabase
from playhouse.schema_diff import diff_models

from portal.cli import migration_runner
from portal.db import database, init_database, make_database
from portal.models import MODELS, Agency, Escalation, ProcedureVersion
from portal.procedure import PRESETS_DIR, resolve_procedure
from tests import factories

pytestmark = pytest.mark.both_engines


def test_migrations_build_exactly_the_models(db):
    assert not diff_models(database.obj, MODELS), diff_models(database.obj, MODELS)


def test_sqlite_settings_protect_every_commit(db):
    if not isinstance(database.obj, SqliteDatabase):
        pytest.skip("SQLite pragmas only")
    pragmas = {
        name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "foreign_keys")
    }
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}
    assert database.obj._lock_type == "IMMEDIATE"


def test_in_memory_sqlite_is_refused():
    with pytest.raises(ValueError, match="in-memory"):
        make_database("sqlite:///:memory:")


def test_a_london_time_is_stored_as_utc_and_found_by_a_utc_query(db):
    raiser, _, theirs = factories.world()
    summer_morning = dt.datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Europe/London"))  # 09:00Z
    case = factories.escalation(raiser, theirs, dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC))
    Escalation.update(next_alert_at=summer_morning).where(Escalation.id == case.id).execute()
    due = Escalation.select().where(Escalation.next_alert_at <= dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC))
    assert [c.id for c in due] == [case.id]
    assert Escalation.get_by_id(case.id).next_alert_at == dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def test_naive_times_are_refused_by_the_database_layer(db):
    agency = Agency.create(name="Somewhere")
    user = factories.user(agency_=agency)
    with pytest.raises(ValueError, match="naive"):
        user.created_at = dt.datetime(2026, 1, 1, 12, 0)
        user.save()


def insert_as_of_today(table: str, model, **values) -> None:
    """A row written as the schema stands now (an older migration): the columns it has, with the models' defaults."""
    existing = {column.name for column in database.get_columns(table)}
    for field in model._meta.sorted_fields:
        if field.column_name in existing and field.column_name not in values and field.default is not None:
            values[field.column_name] = field.default() if callable(field.default) else field.default
    row = {name: model._meta.columns[name].db_value(value) for name, value in values.items()}
    marks = ", ".join(database.param for _ in row)
    sql = f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})"  # noqa: S608 (names from the models)
    database.execute_sql(sql, list(row.values()))


def test_cases_raised_before_versions_are_pinned_to_their_preset_by_the_upgrade(tmp_path):
    """Migration 0004 on a database that already holds a Hounslow case: the case keeps today's preset text."""
    init_database(f"sqlite:///{tmp_path / 'old.db'}")
    with database.connection_context():
        runner = migration_runner()
        runner.up(target="0003_sweep_heartbeat")
        database.execute_sql(
            'INSERT INTO "user" (email, name, role, password_hash, job_title, phone, active, failed_logins, created_at)'
            " VALUES ('a@b.example', 'A', 'practitioner', '', '', '', TRUE, 0, '2026-01-01 00:00:00')"
        )
        raiser = database.execute_sql('SELECT id FROM "user"').fetchone()[0]
        for n, procedure_id in enumerate(("hounslow", "retired-file"), start=1):
            insert_as_of_today(
                "escalation",
                Escalation,
                reference=f"ESC-2026-000{n}",
                procedure_id=procedure_id,
                child_name="C",
                raiser_id=raiser,
                stage_started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
        runner.up()
        hounslow, retired = Escalation.select().order_by(Escalation.id)
        version = ProcedureVersion.get_by_id(hounslow.procedure_version_id)
        assert version.text == (PRESETS_DIR / "hounslow.toml").read_text(encoding="utf-8")
        assert version.digest == resolve_procedure("hounslow").digest
        assert retired.procedure_version_id is None  # no file to pin it to: it follows the procedure loaded by id
        assert ProcedureVersion.select().count() == 1
    database.close()
