"""The data version moves with every committed change to what a page shows, and only then."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from portal.cli import upgrade_database
from portal.data_version import UNWATCHED, data_version, watched_tables
from portal.db import database
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


def test_a_change_moves_it_when_it_commits_and_a_rollback_not_at_all(db):
    before = data_version()
    with database.atomic() as transaction:
        Agency.create(name="Never kept")
        transaction.rollback()
    assert data_version() == before
    with database.atomic():
        Agency.create(name="Kept")
        Agency.create(name="Kept too")
    assert data_version() != before


def test_a_change_not_yet_committed_does_not_move_it_for_others(db, database_url):
    """Another connection reads the old version until the writer commits (PostgreSQL: the row is written at
    commit; SQLite: in the writer's transaction, invisible to readers until it commits)."""
    before, seen = data_version(), {}
    writing, read = threading.Event(), threading.Event()

    def reader():
        writing.wait(10)
        with database.connection_context():
            seen["during"] = data_version()
        read.set()

    other = threading.Thread(target=reader)
    other.start()
    with database.atomic():
        Agency.create(name="Being written")
        writing.set()
        read.wait(10)
    other.join(10)
    assert seen["during"] == before
    assert data_version() != before


def test_every_table_a_page_shows_is_watched(db):
    """A table a migration adds without portal.data_version.watch_table fails here."""
    tables = {model._meta.table_name for model in MODELS}
    assert watched_tables() == tables - UNWATCHED


def test_the_busy_bookkeeping_tables_do_not_move_it(db):
    before = data_version()
    Heartbeat.create(name="reminders", beat_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    ThrottleCount.create(key="k" * 64, count=1, expires_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert data_version() == before


def test_a_table_added_later_is_watched_after_the_next_upgrade(db):
    database.execute_sql("CREATE TABLE later_table (id INTEGER PRIMARY KEY, note TEXT)")
    assert "later_table" not in watched_tables()
    upgrade_database()
    database.connect(reuse_if_open=True)
    assert "later_table" in watched_tables()
    before = data_version()
    database.execute_sql("INSERT INTO later_table (id, note) VALUES (1, 'watched')")
    assert data_version() != before
    database.execute_sql("DROP TABLE later_table")
