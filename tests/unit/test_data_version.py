"""The data version moves with every committed change to what a page shows, and only then."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.data_version import TABLE, UNWATCHED, data_version
from portal.db import database, is_postgres
from portal.models import MODELS, Agency, Heartbeat, ThrottleCount, User

pytestmark = pytest.mark.both_engines


def test_every_insert_update_and_delete_moves_it(db):
    before = data_version()
    agency = Agency.create(name="Children's social care")
    inserted = data_version()
    Agency.update(name="Children's services").where(Agency.id == agency.id).execute()
    updated = data_version()
    agency.delete_instance()

    assert len({before, inserted, updated, data_version()}) == 4


def test_reading_does_not_move_it(db):
    User.create(email="reader@council.example", name="Reader")
    before = data_version()
    list(User.select())
    assert data_version() == before


def test_every_table_a_page_shows_is_watched(db):
    """On SQLite by a trigger for each change (PostgreSQL's snapshot sees every table): a table a migration adds
    without portal.data_version.watch_table fails here."""
    if is_postgres():
        pytest.skip("PostgreSQL keys on its snapshot: no triggers")
    triggers = {name for (name,) in database.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    for model in MODELS:
        table = model._meta.table_name
        expected = {f"{TABLE}_{table}_{operation}" for operation in ("insert", "update", "delete")}
        if table in UNWATCHED:
            assert not expected & triggers, table
        else:
            assert expected <= triggers, f"{table} has no data-version triggers"


def test_the_busy_bookkeeping_tables_do_not_move_it_on_sqlite(db):
    if is_postgres():
        pytest.skip("PostgreSQL's snapshot moves with every write, these too")
    before = data_version()
    Heartbeat.create(name="reminders", beat_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    ThrottleCount.create(key="k" * 64, count=1, expires_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert data_version() == before
