"""The record travels with the case: each preset's stage records are asked on the emailed-link forms and the case
page's, and every later stage's recipient (no account, no sign-in, an address not approved for a child's details)
reads them on their link page after confirming their address; the case page and the final PDF show them; every
resolution leaves a resolution record PDF, copied to everyone told of the outcome."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from pypdf import PdfReader

from forms.case_actions import RecordForm, with_stage_records
from portal import links, stage_records
from portal.db import database
from portal.models import ActionLink, Document, Escalation, Outbox
from portal.procedure import PRESETS_DIR, ROLES, resolve_procedure
from portal.workflow import escalate, resolve
from tasks.documents import render_pending_documents
from tests import factories
from tests.web.conftest import sign_in, text_of_page

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)  # a Tuesday
PRESETS = sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def full_world():
    """Two agencies and the partnership with a contact for every role, so every stage of every preset has people
    from the directory; none of their addresses is approved for a child's details."""
    links.init_secret("test-secret")
    ours = factories.agency("Children's Social Care", roles=tuple(ROLES))
    theirs = factories.agency("Police", "police", roles=tuple(ROLES))
    factories.agency("The Partnership", "partnership", roles=tuple(ROLES))
    return factories.user(agency_=ours), theirs


def typed(preset: str, stage: int, key: str) -> str:
    return f"{preset} stage {stage + 1} {key.replace('_', ' ')} in words of its own"


def open_link(client, link: ActionLink) -> str:
    """The link page as its recipient sees it: the address confirmed first when the page asks for it."""
    url = f"/a/{links.token_of(link)}"
    page = client.get(url).get_data(as_text=True)
    if "Confirm your email address" in page:
        response = client.post(
            f"{url}/address", data={"csrf_token": CSRF.search(page)[1], "email": link.recipient_email}
        )
        assert response.status_code == 302
        page = client.get(url).get_data(as_text=True)
    return page


def stage_link(case: Escalation, action: str) -> ActionLink:
    return (
        ActionLink.select()
        .where(
            (ActionLink.escalation == case.id)
            & (ActionLink.stage_index == case.stage_index)
            & (ActionLink.action == action)
            & ActionLink.superseded_at.is_null()
        )
        .order_by(ActionLink.id)
        .first()
    )


def walk_by_email(app, preset: str) -> tuple[Escalation, list[str]]:
    """Raise a case under the preset, then at every stage a recipient of the emailed links, in a browser of their
    own, confirms their address, reads what every earlier stage wrote, and types this stage's records."""
    procedure = resolve_procedure(preset)
    with app.app_context(), time_machine.travel(START, tick=False):
        raiser, theirs = full_world()
        case = factories.escalation(raiser, theirs, START, procedure)
    written: list[str] = []
    for stage in procedure.stages:
        last = stage.index == procedure.last_index
        action = "decide" if last else "escalate"
        client = app.test_client()  # a new browser: no sign-in, nothing confirmed
        with app.app_context(), time_machine.travel(START + dt.timedelta(hours=stage.index + 1), tick=False):
            case = Escalation.get_by_id(case.id)
            link = stage_link(case, action)
            assert link is not None, f"{preset}: nobody at {stage.name} has a {action} link"
            page = open_link(client, link)
            seen = text_of_page(page)
            assert "Zzyzx Canaryson" in seen and "The referral was closed without an assessment." in seen
            missing = [text for text in written if text not in seen]
            assert not missing, f"{preset}, {stage.name}: the link page lacks {missing}"
            if stage.description:
                assert " ".join(stage.description.split()) in seen
            data = {"csrf_token": CSRF.search(page)[1]}
            for key in stage_records.asked_at(stage.records):
                assert stage_records.ASKED[key].label.removesuffix(" (optional)") in seen, (preset, stage.name, key)
                data[stage_records.FORM_PREFIX + key] = typed(preset, stage.index, key)
            main = "decision" if last else "reason"
            data[main] = typed(preset, stage.index, main)
            data["contacts"] = re.findall(r'name="contacts" type="checkbox" value="([^"]+)" checked', page)
            response = client.post(f"/a/{links.token_of(link)}", data=data)
            assert response.status_code == 302, text_of_page(response.get_data(as_text=True))[:2000]
            written += [text for name, text in data.items() if name not in ("csrf_token", "contacts")]
    return case, written


@pytest.mark.real_pdf
@pytest.mark.parametrize("preset", PRESETS)
def test_each_stage_reads_every_earlier_record_and_the_case_page_and_pdf_keep_them(app, preset):
    case, written = walk_by_email(app, preset)
    with app.app_context():
        assert Escalation.get_by_id(case.id).status == "closed"
        manager = factories.user("business_manager")
    client = app.test_client()
    sign_in(client, manager)
    page = text_of_page(client.get(f"/cases/{case.reference}").get_data(as_text=True))
    assert not [text for text in written if text not in page]
    with app.app_context(), database.connection_context():
        render_pending_documents.call_local()
        notice = Document.get((Document.escalation == case.id) & (Document.kind == "final_decision_notice"))
        assert notice.status == "rendered"
        text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(notice.content)).pages).split())
    assert not [t for t in written if t not in text], f"{preset}: the final decision notice lacks some records"


def test_a_missing_stage_record_is_refused_like_the_raise_pages(app):
    """Hounslow stage 2 asks for the discussion: left empty, the error summary and the field say so, and nothing
    typed is lost."""
    with app.app_context(), time_machine.travel(START, tick=False):
        raiser, theirs = full_world()
        procedure = resolve_procedure("hounslow")
        case = factories.escalation(raiser, theirs, START, procedure)
        escalate(procedure, case, factories.acting(case, "escalate"), "Stage 1 could not agree.")
        link = stage_link(Escalation.get_by_id(case.id), "resolve")
    client = app.test_client()
    with time_machine.travel(START + dt.timedelta(hours=1), tick=False):
        page = open_link(client, link)
        data = {
            "csrf_token": CSRF.search(page)[1],
            "statement": "Agreed a strategy meeting on Friday.",
            "learning": "no",
        }
        response = client.post(f"/a/{links.token_of(link)}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert html.count("Enter the summary of the discussion at this stage") == 2  # summary and field
    assert "Agreed a strategy meeting on Friday." in html


def test_the_record_form_asks_the_stage_records_as_optional():
    stage = resolve_procedure("birmingham").stage(1)
    form = with_stage_records(RecordForm, stage, "record")
    names = [name for name in form.__dict__ if name.startswith(stage_records.FORM_PREFIX)]
    assert names == ["record_areas_of_agreement", "record_areas_of_disagreement", "record_relevance_to_risk"]


def stages_to_resolve():
    for preset in PRESETS:
        procedure = resolve_procedure(preset)
        for index in range(procedure.last_index):  # the last stage ends by a final decision, not a resolution
            yield preset, index


@pytest.mark.parametrize(("preset", "index"), list(stages_to_resolve()))
def test_a_resolution_at_every_stage_leaves_its_record_for_everyone_told(app, preset, index):
    procedure = resolve_procedure(preset)
    with app.app_context(), time_machine.travel(START, tick=False):
        raiser, theirs = full_world()
        case = factories.escalation(raiser, theirs, START, procedure)
        for _ in range(index):
            escalate(procedure, case, factories.acting(case, "escalate"), "Not agreed at this stage.")
        answers = {key: typed(preset, index, key) for key in stage_records.asked_at(procedure.stage(index).records)}
        resolve(
            procedure,
            case,
            factories.acting(case, "resolve"),
            "Agreed: a strategy discussion on Friday.",
            learning="Thresholds guidance is read differently by the two agencies.",
            outstanding="The police will share the log by Monday.",
            records=answers,
        )
        render_pending_documents.call_local()
        documents = {d.kind: d for d in Document.select().where(Document.escalation == case.id)}
        assert documents["resolution_record"].status == "rendered"
        for kind in procedure.stage(index).resolve_documents:  # the procedure's own (Wirral's, Bury's proformas)
            assert documents[kind].status == "rendered"
        copies = Outbox.select().where((Outbox.escalation == case.id) & (Outbox.purpose == "copy"))
        carried = {row.recipient_email for row in copies if row.context.get("document") == "resolution_record"}
        told = {row.recipient_email for row in Outbox.select().where(Outbox.purpose == "resolved")}
        managers = {row.recipient_email for row in Outbox.select().where(Outbox.purpose == "document")}
        assert carried and carried == told - managers
        assert {row.status for row in copies} <= {"pending", "sent"}  # released, carrying the rendered PDF


@pytest.mark.real_pdf
def test_the_resolution_record_says_who_agreed_what_when_and_what_is_outstanding(app):
    procedure = resolve_procedure("salford")
    with app.app_context(), time_machine.travel(START, tick=False):
        raiser, theirs = full_world()
        case = factories.escalation(raiser, theirs, START, procedure)
        escalate(procedure, case, factories.acting(case, "escalate"), "Not agreed between the practitioners.")
        resolver = factories.acting(case, "resolve")
        resolve(
            procedure,
            case,
            resolver,
            "Agreed: a strategy discussion on Friday.",
            learning="Thresholds guidance is read differently by the two agencies.",
            outstanding="The police will share the log by Monday.",
            records={"discussion": "The line managers met on Tuesday.", "unasked": "never kept"},
        )
        render_pending_documents.call_local()
        record = Document.get((Document.escalation == case.id) & (Document.kind == "resolution_record"))
        text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(record.content)).pages).split())
    for expected in (
        "Resolution record",
        procedure.stage(1).name,
        "Agreed: a strategy discussion on Friday.",
        "The police will share the log by Monday.",
        "Thresholds guidance is read differently by the two agencies.",
        "The line managers met on Tuesday.",
        "Summary of the discussion at this stage",
        resolver.name,
        "Zzyzx Canaryson",
    ):
        assert expected in text, expected
    assert "never kept" not in text
