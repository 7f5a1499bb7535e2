"""Learning from a resolution or a final decision: asked (optionally), kept, shown and sent (issue 17 item 4)."""

from __future__ import annotations

import pytest

from portal import mail
from portal.db import database
from portal.learning import Lessons
from portal.models import Escalation, Learning, Outbox
from portal.procedure import ProcedureError, procedure_from_text
from portal.workflow import decide, escalate
from tests import factories
from tests.web.conftest import sign_in, text_of_page, token


def act(client, case, action, **data):
    url = f"/cases/{case.reference}/{action}"
    return client.post(url, data={"csrf_token": token(client, url), **data})


def learning_mail(case) -> dict[str, Outbox]:
    with database.connection_context():
        rows = Outbox.select().where((Outbox.escalation == case.id) & (Outbox.purpose == "learning"))
        return {row.recipient_email: row for row in rows}


def test_resolving_with_learning_keeps_it_shows_it_and_tells_the_partnership(client, people, case):
    sign_in(client, people["counterpart"])
    response = act(
        client,
        case,
        "resolve",
        statement="Assessment starts on Friday.",
        learning="yes",
        learning_details="Duty managers need the threshold guidance.",
        policy="Threshold document",
        policy_gap="It does not say who decides when two agencies disagree.",
        debrief="yes",
    )
    assert response.status_code == 302
    with database.connection_context():
        lesson = Learning.get(Learning.escalation == case.id)
    assert (lesson.points, lesson.policy, lesson.debrief, lesson.stage_index) == (
        "Duty managers need the threshold guidance.",
        "Threshold document",
        True,
        0,
    )
    page = text_of_page(client.get(f"/cases/{case.reference}").get_data(as_text=True))
    assert "Learning for the partnership" in page
    assert "Threshold document: It does not say who decides when two agencies disagree." in page
    assert "Debrief recommended Yes" in page
    # The Business Manager always; the procedure's policy_gaps_notify (the partnership's DCS) for a policy gap.
    sent = learning_mail(case)
    assert set(sent) == {"business_manager.3@agency.example", "dcs.3@agency.example"}


def test_learning_mail_carries_the_text_only_to_a_secure_address(app, people, case):
    with app.app_context(), database.connection_context():
        current = Escalation.get_by_id(case.id)
        escalate(factories.procedure(), current, factories.acting(current, "escalate"), "Stage one did not work.")
        escalate(factories.procedure(), current, factories.acting(current, "escalate"), "Stage two did not either.")
        lessons = Lessons("Name the child's chair early.", "Escalation policy", "No timescale for stage 3.", False)
        decider = factories.acting(current, "decide")
        decide(factories.procedure(), current, decider, "Assessment ordered.", None, lessons)
        rows = learning_mail(case)
        insecure = rows["business_manager.3@agency.example"]
        text = mail.build_message(insecure, app).get_body(("plain",)).get_content()
        assert "A gap or weakness in Escalation policy: recorded in the portal" in text
        assert "Name the child's chair early." not in text
        Outbox.update(context={**insecure.context, "secure": True}).where(Outbox.id == insecure.id).execute()
        text = mail.build_message(Outbox.get_by_id(insecure.id), app).get_body(("plain",)).get_content()
        assert "Learning points: Name the child's chair early." in text
        assert "No timescale for stage 3." in text
        assert Learning.get(Learning.escalation == case.id).stage_index == 2


def test_no_learning_records_nothing_and_tells_nobody(client, people, case):
    sign_in(client, people["counterpart"])
    assert act(client, case, "resolve", statement="Assessment starts on Friday.", learning="no").status_code == 302
    with database.connection_context():
        assert not Learning.select().where(Learning.escalation == case.id).exists()
    assert learning_mail(case) == {}


def test_a_policy_without_its_gap_is_asked_for(client, people, case):
    sign_in(client, people["counterpart"])
    response = act(
        client, case, "resolve", statement="Assessment starts on Friday.", learning="no", policy="Threshold document"
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter what the gap or weakness is" in page and 'value="Threshold document"' in page


def test_the_learning_table_is_read_and_checked():
    base = 'id = "x"\nname = "X"\n[[stages]]\nkey = "a"\nname = "A"\nparties = ["raiser"]\nresolve_within = "1 day"\n'
    table = '[learning]\nnotify = ["board_member"]\npolicy_gaps_notify = ["chair"]\nwho = 1\n'
    procedure = procedure_from_text(base + table, "x.toml")
    assert procedure.learning_notify == ("board_member",)
    assert procedure.policy_gaps_notify == ("independent_chair",)
    assert any("learning: unknown key 'who'" in w for w in procedure.warnings)
    with pytest.raises(ProcedureError, match="learning must be a table"):
        procedure_from_text('learning = "yes"\n' + base, "x.toml")


def test_procedure_check_names_a_learning_role_the_directory_lacks(runner, app):
    with app.app_context(), database.connection_context():
        factories.world()
    result = runner.invoke(args=["procedure", "check", "hounslow"])
    assert "learning policy_gaps_notify: partnership.independent_chair" in result.output
