"""A case keeps the procedure version it was raised under; a changed file applies to new cases only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from portal.db import database
from portal.models import Escalation, ProcedureVersion, StageParty, StageRecord
from portal.registry import registry
from portal.workflow import Actor, escalate
from tests import factories
from tests.conftest import TEST_PROCEDURE, test_app
from tests.web.conftest import sign_in

pytestmark = pytest.mark.both_engines

UTC = dt.UTC
RAISED = dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Tue 1 Dec 2026, 10:00 London
ESCALATED = dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # Wed 2 Dec
# Version 2 of the file: stage 2 gets 2 working days (not 5), and the safeguarding leads act (not line managers).
CHANGES = {
    'parties = ["raiser.line_manager", "counterpart.line_manager"]': (
        'parties = ["raiser.safeguarding_lead", "counterpart.safeguarding_lead"]'
    ),
    'escalate_within = "24 hours"\nresolve_within = "5 working days"': (
        'escalate_within = "24 hours"\nresolve_within = "2 working days"'
    ),
}


@pytest.fixture
def procedure_file(tmp_path):
    path = tmp_path / "partnership.toml"
    path.write_text(Path(TEST_PROCEDURE).read_text(encoding="utf-8"))
    return path


def start_portal(database_url, tmp_path, procedure_file):
    """The portal as a restart after editing its file would build it."""
    return test_app(database_url, tmp_path, PROCEDURE=str(procedure_file))


def edit(path) -> None:
    text = path.read_text()
    for old, new in CHANGES.items():
        assert old in text
        text = text.replace(old, new)
    path.write_text(text)


def stage_two(case: Escalation) -> tuple[dt.datetime, set[str]]:
    """Escalate at ESCALATED by the case's own procedure: stage 2's deadline and who acts."""
    case = Escalation.get_by_id(case.id)
    record = escalate(registry.of_case(case), case, Actor.of(case.raiser), "No reply.", now=ESCALATED)
    parties = {p.party for p in StageParty.select().where(StageParty.stage == record)}
    return StageRecord.get_by_id(record.id).due_at, parties


@pytest.fixture
def two_versions(database_url, tmp_path, procedure_file):
    """Case A raised under version 1; the file edited and the portal restarted; case B raised under version 2."""
    with start_portal(database_url, tmp_path, procedure_file).app_context(), database.connection_context():
        raiser, ours, theirs = factories.world()
        old_case = factories.escalation(raiser, theirs, RAISED, registry.current())
    edit(procedure_file)
    app = start_portal(database_url, tmp_path, procedure_file)
    with app.app_context(), database.connection_context():
        new_case = factories.escalation(raiser, theirs, RAISED, registry.current())
    yield app, old_case, new_case, raiser
    database.close()


def test_an_open_case_keeps_its_deadlines_and_parties_after_the_file_changes(two_versions):
    app, old_case, new_case, _ = two_versions
    with app.app_context(), database.connection_context():
        # Stage 2 starts when escalated, Wed 2 Dec 10:00. Version 1: 5 working days, Wed 9 Dec 17:00.
        assert stage_two(old_case) == (
            dt.datetime(2026, 12, 9, 17, 0, tzinfo=UTC),
            {"raiser.line_manager", "counterpart.line_manager"},
        )
        # Version 2: 2 working days, Fri 4 Dec 17:00, and the safeguarding leads act.
        assert stage_two(new_case) == (
            dt.datetime(2026, 12, 4, 17, 0, tzinfo=UTC),
            {"raiser.safeguarding_lead", "counterpart.safeguarding_lead"},
        )
        versions = list(ProcedureVersion.select().order_by(ProcedureVersion.id))
        assert [v.procedure_id for v in versions] == ["three-stage", "three-stage"]
        assert Escalation.get_by_id(old_case.id).procedure_version_id == versions[0].id
        assert Escalation.get_by_id(new_case.id).procedure_version_id == versions[1].id
        assert "2 working days" in versions[1].text and "2 working days" not in versions[0].text.split("[[stages]]")[2]


def test_the_case_page_says_which_version_applies(two_versions, clock):
    app, old_case, new_case, raiser = two_versions
    client = app.test_client()
    sign_in(client, raiser)
    with app.app_context(), database.connection_context():
        old_digest, new_digest = (v.digest[:12] for v in ProcedureVersion.select().order_by(ProcedureVersion.id))
    old_page = client.get(f"/cases/{old_case.reference}").get_data(as_text=True)
    assert f"version {old_digest}" in old_page
    assert "follow the new version; this one keeps its own" in old_page
    new_page = client.get(f"/cases/{new_case.reference}").get_data(as_text=True)
    assert f"version {new_digest}" in new_page
    assert "keeps its own" not in new_page


def test_procedure_check_lists_the_open_cases_on_an_older_version(two_versions, procedure_file):
    app, old_case, new_case, _ = two_versions
    result = app.test_cli_runner().invoke(args=["procedure", "check", str(procedure_file)])
    assert result.exit_code == 0, result.output
    assert "1 open case keeps an earlier version of three-stage" in result.output
    assert old_case.reference in result.output
    assert new_case.reference not in result.output


def test_a_case_whose_procedure_cannot_be_read_still_shows_its_record(app, client, people, case, clock, caplog):
    """One behaviour for an unreadable procedure: logged once, the case page shows the record, actions say why."""
    with app.app_context(), database.connection_context():
        ProcedureVersion.update(text="id = ", digest="f" * 64).execute()
    sign_in(client, people["raiser"])
    page = client.get(f"/cases/{case.reference}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cannot be loaded" in html and "Nothing can be done on this case" in html
    assert "Zzyzx Canaryson" in html and "Stage 1" in html
    assert "Mark as resolved" not in html
    action = client.get(f"/cases/{case.reference}/resolve")
    assert action.status_code == 503
    assert "This case cannot be acted on at the moment" in action.get_data(as_text=True)
    dashboard = client.get("/cases/")
    assert dashboard.status_code == 200 and case.reference in dashboard.get_data(as_text=True)
    logged = [r for r in caplog.records if r.name == "portal.registry" and "cannot be loaded" in r.getMessage()]
    assert len(logged) == 1
