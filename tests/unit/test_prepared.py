"""A prepared query gives what peewee's own query gives, for each run's values, with its SQL written once."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.models import Heartbeat, User, UserSession
from portal.prepared import Prepared, Slot
from tests.query_counter import count_queries

pytestmark = pytest.mark.both_engines
UTC = dt.UTC


def test_each_run_binds_its_own_values_and_reads_models_with_their_joins(db):
    one = User.create(email="one@council.example", name="One")
    two = User.create(email="two@council.example", name="Two")
    start = dt.datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
    for user, token in ((one, "a" * 64), (two, "b" * 64)):
        UserSession.create(token_hash=token, user=user, created_at=start, last_seen_at=start)
    builds = []

    def build():
        builds.append(1)
        return UserSession.select(UserSession, User).join(User).where(UserSession.token_hash == Slot("token"))

    prepared = Prepared(build)
    first, second = prepared.first(token="a" * 64), prepared.first(token="b" * 64)

    assert (first.user.name, second.user.name) == ("One", "Two")
    assert first.created_at == start and first.created_at.tzinfo is not None
    assert prepared.first(token="c" * 64) is None
    assert len(builds) == 1


def test_a_slot_converts_its_value_as_its_field_does(db):
    """An aware time is stored as naive UTC: the slot must convert it the same way, or SQLite compares text that
    does not match."""
    beat = dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    Heartbeat.create(name="reminders", beat_at=beat, handled=0)
    since = Prepared(lambda: Heartbeat.select(Heartbeat.name).where(Heartbeat.beat_at >= Slot("at", Heartbeat.beat_at)))
    london_summer_time = dt.timezone(dt.timedelta(hours=1))

    assert [h.name for h in since.run(at=beat.astimezone(london_summer_time))] == ["reminders"]
    assert list(since.run(at=beat + dt.timedelta(microseconds=1))) == []


def test_a_run_is_one_statement_in_the_query_log(db):
    prepared = Prepared(lambda: Heartbeat.select().where(Heartbeat.name == Slot("name")))
    prepared.first(name="reminders")
    with count_queries() as log:
        prepared.first(name="reminders")
    assert log.count == 1 and "heartbeat" in log.statements[0]
