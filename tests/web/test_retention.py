"""Retention: what is due is listed without change; erasure needs a named person; a tombstone stays for reports."""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import DatabaseError, ModelDelete

from portal.db import database
from portal.learning import Lessons
from portal.models import (
    ActionLink,
    Document,
    Escalation,
    Event,
    InboxMark,
    Learning,
    Outbox,
    StageParty,
    StageRecord,
)
from portal.procedure import ProcedureError, procedure_from_text
from portal.reports import date_range, figures
from portal.workflow import Actor, resolve, withdraw
from tests import factories
from tests.conftest import TEST_PROCEDURE, test_app
from tests.web.conftest import START

pytestmark = pytest.mark.both_engines
SIX_YEARS_ON = START.replace(year=START.year + 6) + dt.timedelta(days=1)


def _cases() -> tuple[Escalation, Escalation, Escalation]:
    """One closed at START (due six years on), one closed a year later (not yet), one still open."""
    raiser, _ours, theirs = factories.world()
    procedure = factories.procedure()
    old, recent, still_open = (factories.escalation(raiser, theirs, START) for _ in range(3))
    withdraw(procedure, old, Actor.of(raiser), "Resolved informally.", now=START)
    withdraw(procedure, recent, Actor.of(raiser), "Resolved informally.", now=START + dt.timedelta(days=366))
    return old, recent, still_open


def test_retention_lists_what_is_due_and_erases_only_when_a_named_person_confirms(app, runner, clock):
    with app.app_context(), database.connection_context():
        old, recent, still_open = _cases()
        assert Event.select().where(Event.escalation == old).count() > 0
        assert Document.select().where(Document.escalation == old).count() > 0
    clock.move_to(SIX_YEARS_ON)

    listed = runner.invoke(args=["retention"])
    assert listed.exit_code == 0, listed.output
    assert "kept 6 years after closure. 1 due" in listed.output and old.reference in listed.output
    assert recent.reference not in listed.output and still_open.reference not in listed.output
    assert "Nothing was erased" in listed.output and old.child_name not in listed.output
    unnamed = runner.invoke(args=["retention", "--erase", "--yes"])
    assert unnamed.exit_code == 2 and "--confirmed-by" in unnamed.output
    declined = runner.invoke(args=["retention", "--erase", "--confirmed-by", "Jo Governance"], input="n\n")
    assert declined.exit_code != 0
    with app.app_context(), database.connection_context():
        assert Escalation.get_by_id(old.id).child_name == old.child_name  # the dry run and refusals changed nothing

    erased = runner.invoke(args=["retention", "--erase", "--confirmed-by", "Jo Governance"], input="y\n")

    assert erased.exit_code == 0, erased.output
    with app.app_context(), database.connection_context():
        tomb = Escalation.get_by_id(old.id)
        assert (tomb.erased_at, tomb.erased_by) == (SIX_YEARS_ON, "Jo Governance")
        assert (tomb.child_name, tomb.child_dob, tomb.summary, tomb.outcome, tomb.counterpart_email) == (
            "",
            None,
            "",
            "",
            "",
        )
        assert (tomb.reference, tomb.status, tomb.created_at, tomb.closed_at) == (
            old.reference,
            "withdrawn",
            START,
            START,
        )
        assert (tomb.categories, tomb.counterpart_agency_id, tomb.raiser_agency_id) == (
            old.categories,
            old.counterpart_agency_id,
            old.raiser_agency_id,
        )
        for model in (Event, Document, Outbox, ActionLink):
            assert model.select().where(model.escalation == old).count() == 0, model
        stages = list(StageRecord.select().where(StageRecord.escalation == old))
        assert stages and {s.statement for s in stages} == {""}
        assert StageParty.select().where(StageParty.stage.in_([s.id for s in stages])).count() == 0
        # The reports' counts: every case raised, and every case closed, still counts the erased one.
        assert Escalation.select().count() == 3
        assert Escalation.select().where(Escalation.status == "withdrawn").count() == 2
        untouched = Escalation.get_by_id(recent.id)
        assert untouched.child_name == recent.child_name and untouched.erased_at is None
        assert Event.select().where(Event.escalation == recent).count() > 0
        with pytest.raises(DatabaseError, match="append-only"), database.atomic():  # the database still refuses
            ModelDelete(Event).where(Event.escalation == recent).execute()
    again = runner.invoke(args=["retention"])
    assert "0 due" in again.output


def test_a_procedure_file_sets_its_own_retention(database_url, tmp_path, clock):
    with open(TEST_PROCEDURE) as source:
        text = source.read()
    shorter = tmp_path / "short.toml"
    shorter.write_text("retention_years = 2\n" + text)
    app = test_app(database_url, tmp_path, PROCEDURE=str(shorter))
    with app.app_context(), database.connection_context():
        old, _recent, _open = _cases()
    clock.move_to(START.replace(year=START.year + 2) + dt.timedelta(days=1))

    listed = app.test_cli_runner().invoke(args=["retention"])

    assert "kept 2 years after closure. 1 due" in listed.output and old.reference in listed.output
    database.close()


@pytest.mark.parametrize("value", ["0", "'six'", "6.5", "true"])
def test_a_retention_that_is_not_whole_years_is_refused_naming_the_key(value):
    with open(TEST_PROCEDURE) as source:
        text = source.read()
    with pytest.raises(ProcedureError, match="retention_years"):
        procedure_from_text(f"retention_years = {value}\n" + text, "p.toml")


def test_erasing_a_resolved_case_removes_its_learning_and_marks_and_the_reports_still_count_it(app, runner, clock):
    """Learning can name the child, so it goes with the case; the resolution itself still counts."""
    with app.app_context(), database.connection_context():
        raiser, _ours, theirs = factories.world()
        procedure = factories.procedure()
        case = factories.escalation(raiser, theirs, START)
        lessons = Lessons(points="Zzyzx's school was not told of the plan.", policy="Information sharing")
        resolve(procedure, case, factories.acting(case, "resolve"), "Agreed to convene a meeting.", lessons, now=START)
        manager = factories.user("business_manager")
        InboxMark.create(user=manager, kind="case", item_id=case.id, read_at=START)
        lesson = Learning.get(Learning.escalation == case)
        InboxMark.create(user=manager, kind="learning", item_id=lesson.id, read_at=START)
        period = date_range(START.date(), START.date())
        before = figures(procedure, period, START)
        assert Learning.select().where(Learning.escalation == case).count() == 1 and before.learning_count == 1
    clock.move_to(SIX_YEARS_ON)

    erased = runner.invoke(args=["retention", "--erase", "--confirmed-by", "Jo Governance", "--yes"])

    assert erased.exit_code == 0, erased.output
    with app.app_context(), database.connection_context():
        assert Learning.select().where(Learning.escalation == case).count() == 0
        assert InboxMark.select().where(InboxMark.item_id == case.id).count() == 0
        assert InboxMark.select().where((InboxMark.kind == "learning") & (InboxMark.item_id == lesson.id)).count() == 0
        after = figures(procedure, period, SIX_YEARS_ON)
        assert (after.raised, after.resolved) == (before.raised, before.resolved) == (1, 1)
