"""`flask demo history` (run by `flask demo seed`): a year of varied past cases, made through the workflow with
the clock moved, sending nothing."""

from __future__ import annotations

import datetime as dt

import time_machine

from portal.db import database
from portal.models import Escalation, Event, Learning, Outbox, StageRecord
from tests.conftest import test_app

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def test_demo_seed_writes_a_varied_year_once_and_leaves_nothing_to_send(database_url, tmp_path):
    app = test_app(database_url, tmp_path, PROCEDURE="hounslow")
    runner = app.test_cli_runner()
    with time_machine.travel(NOW, tick=False):
        output = runner.invoke(args=["demo", "seed"]).output
        assert "demo history: " in output
        assert "demo history already present" in runner.invoke(args=["demo", "history"]).output
    with app.app_context(), database.connection_context():
        cases = list(Escalation.select())
        assert len(cases) >= 25
        assert {c.status for c in cases} == {"open", "resolved", "closed", "withdrawn"}
        resolved_at = {c.stage_index for c in cases if c.status == "resolved"}
        assert resolved_at == {0, 1, 2, 3}  # every stage but the last, which ends by decision
        assert {c.stage_index for c in cases if c.status == "closed"} == {4}
        assert min(c.created_at for c in cases) < NOW - dt.timedelta(days=300)
        assert max(c.created_at for c in cases) < NOW
        assert len({c.raiser_agency_id for c in cases}) == 4 and len({c.counterpart_agency_id for c in cases}) == 4
        assert len({tuple(c.categories) for c in cases}) >= 6
        assert any(c.imminent_risk for c in cases) and any(c.specific_circumstance for c in cases)
        assert any(c.child_on_plan or c.child_looked_after for c in cases)
        late = StageRecord.select().where(StageRecord.ended_at > StageRecord.due_at).count()
        overdue_open = [c for c in cases if c.status == "open" and c.due_at < NOW]
        assert late >= 5 and overdue_open
        assert Event.select().where(Event.kind == "contested").count() == 2
        assert Learning.select().where(Learning.policy_gap != "").exists()
        assert Learning.select().where(Learning.debrief).exists()
        # Every event at its own past time, in the order the cases lived it.
        for case in cases:
            times = [e.at for e in case.events.order_by(Event.id) if e.kind != "viewed"]
            assert times == sorted(times) and times[0] == case.created_at
        assert Outbox.select().count() == 0
