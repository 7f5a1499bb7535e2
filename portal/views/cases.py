"""My escalations, the case page and the actions on it."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from peewee import fn

from forms.case_actions import DecideForm, EscalateForm, RecordForm, ResolveForm, WithdrawForm
from portal import procedure_of
from portal.access import allowed_actions, case_for, visible_cases
from portal.auth import signed_in
from portal.models import Document, Escalation, StageRecord, utcnow
from portal.routing import named_recipient, resolve_parties
from portal.views.errors import keeps_answers
from portal.views.raising import has_unsent_draft
from portal.workdays import london
from portal.workflow import Actor, WorkflowError, add_record, decide, escalate, record_view, resolve, withdraw

bp = Blueprint("cases", __name__, url_prefix="/cases")

ACTION_PAGES = {
    "record": (RecordForm, "Add a record of a discussion"),
    "resolve": (ResolveForm, "Mark as resolved"),
    "escalate": (EscalateForm, "Escalate to the next stage"),
    "withdraw": (WithdrawForm, "Withdraw the escalation"),
    "decide": (DecideForm, "Record the final decision"),
}


def _deadline_tag(case: Escalation, now) -> dict | None:
    """Overdue, or due before the end of today (London), for an open case."""
    if case.status != "open" or case.due_at is None:
        return None
    if case.due_at < now:
        return {"text": "Overdue", "classes": "govuk-tag--red"}
    if london(case.due_at).date() == london(now).date():
        return {"text": "Due today", "classes": "govuk-tag--orange"}
    return None


@bp.get("/")
@signed_in
def dashboard():
    now = utcnow()
    cases = list(visible_cases(current_user).order_by(Escalation.status != "open", Escalation.due_at, Escalation.id))
    rows = [
        {
            "case": case,
            "stage": procedure_of(current_app, case.procedure_id).stage(case.stage_index).name,
            "tag": _deadline_tag(case, now),
        }
        for case in cases
    ]
    rows.sort(key=lambda r: (r["case"].status != "open", not (r["tag"] and r["tag"]["text"] == "Overdue")))
    return render_template("cases/dashboard.html", rows=rows, unsent=has_unsent_draft())


def _load(reference: str) -> Escalation:
    case = case_for(reference, current_user)
    if case is None:
        abort(404)
    return case


@bp.get("/<reference>")
@signed_in
def case(reference: str):
    case = _load(reference)
    record_view(case, Actor.of(current_user._get_current_object()))
    procedure = procedure_of(current_app, case.procedure_id)
    stages = list(StageRecord.select().where(StageRecord.escalation == case).order_by(StageRecord.stage_index))
    events = list(case.events.order_by(-case.events.model.id))
    return render_template(
        "cases/case.html",
        case=case,
        procedure=procedure,
        stages=stages,
        events=[e for e in events if e.kind != "viewed"],
        views=[e for e in events if e.kind == "viewed"],
        documents=list(  # without the PDFs themselves: only their sizes
            Document.select(
                Document.id,
                Document.kind,
                Document.stage_index,
                Document.status,
                fn.LENGTH(Document.content).coerce(False).alias("size"),
            )
            .where(Document.escalation == case)
            .order_by(Document.id)
        ),
        actions=allowed_actions(case, current_user, procedure),
        tag=_deadline_tag(case, utcnow()),
    )


@bp.get("/<reference>/documents/<int:document_id>")
@signed_in
def document(reference: str, document_id: int):
    """A rendered PDF record of a case the user may see; opening it is recorded like viewing the case."""
    case = _load(reference)
    record = Document.get_or_none(
        (Document.id == document_id) & (Document.escalation == case) & (Document.status == "rendered")
    )
    if record is None:
        abort(404)
    record_view(case, Actor.of(current_user._get_current_object()), document=record.kind)
    response = send_file(
        BytesIO(record.content),
        mimetype="application/pdf",
        as_attachment=True,  # saved, never rendered in the portal's origin (docs/security.md, 'The PDF sandbox')
        download_name=record.filename,
        etag=record.sha256,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def why_not(case: Escalation, action: str, procedure) -> str:
    """Why this user cannot take this action on a case they can see."""
    if case.status != "open":
        return f"{case.reference} is {case.status}: nothing more can be done on it."
    stage = procedure.stage(case.stage_index).name
    return {
        "withdraw": "Only the person who raised the escalation can withdraw it.",
        "decide": f"The final decision is made at {procedure.stages[-1].name}, by the people named for it.",
        "escalate": f"{case.reference} is at {stage}: it cannot be escalated further."
        if case.stage_index >= procedure.last_index
        else f"Only the person who raised it, the people named for {stage} or the Business Manager can escalate it.",
    }.get(action, f"Only the person who raised it, the people named for {stage} or the Business Manager can do this.")


def escalation_choices(case: Escalation, procedure) -> list[tuple[str, str]]:
    """The directory's people for the next stage, as checkbox choices `party|email`."""
    nxt = procedure.stage(case.stage_index + 1)
    people = resolve_parties(procedure, nxt.parties, case)
    return [(f"{p.party}|{p.email}", f"{p.name} ({p.email})") for p in people]


@bp.route("/<reference>/<action>", methods=["GET", "POST"])
@signed_in
@keeps_answers
def act(reference: str, action: str):
    if action not in ACTION_PAGES:
        abort(404)
    case = _load(reference)
    procedure = procedure_of(current_app, case.procedure_id)
    form_class, title = ACTION_PAGES[action]
    refused = None if action in allowed_actions(case, current_user, procedure) else why_not(case, action, procedure)
    if refused and request.method == "GET":
        flash(refused)
        return redirect(url_for("cases.case", reference=case.reference))
    form = form_class()
    at_last = case.stage_index >= procedure.last_index
    choices = escalation_choices(case, procedure) if action == "escalate" and not at_last else []
    if action == "escalate":
        form.contacts.choices = choices
        if request.method == "GET":
            form.contacts.data = [value for value, _ in choices]
    if refused:  # the case moved on while they were writing: say so, and keep what they wrote
        form.submit.errors = [f"{refused} Nothing was saved; what you wrote is below."]
    elif form.validate_on_submit():
        actor = Actor.of(current_user._get_current_object())
        try:
            if action == "record":
                add_record(case, actor, form.text.data)
                flash("Your record was added.")
            elif action == "resolve":
                learning = form.learning_details.data if form.learning.data == "yes" else ""
                resolve(procedure, case, actor, form.statement.data, learning=learning)
                flash("The escalation is resolved. Everyone involved has been told.")
            elif action == "escalate":
                escalate(procedure, case, actor, form.reason.data, named=named_from(form, case, procedure, choices))
                stage = procedure.stage(case.stage_index).name
                flash(f"Escalated to {stage}. The people at this stage have been emailed.")
            elif action == "withdraw":
                withdraw(procedure, case, actor, form.reason.data)
                flash("The escalation is withdrawn.")
            else:
                decide(procedure, case, actor, form.decision.data)
                flash("The final decision is recorded and the case is closed.")
            return redirect(url_for("cases.case", reference=case.reference))
        except WorkflowError as error:
            form.submit.errors.append(str(error))
    status = 409 if refused else 400 if form.errors or form.timed_out else 200
    return render_template(
        f"cases/{action}.html", form=form, case=case, procedure=procedure, title=title, action=action
    ), status


def named_from(form: EscalateForm, case: Escalation, procedure, choices) -> list:
    """The people ticked or typed on an escalate form, as recipients for the next stage."""
    nxt = procedure.stage(case.stage_index + 1)
    offered = dict(choices)
    people = []
    for value in form.contacts.data or []:
        if value in offered:
            party, email = value.split("|", 1)
            name = offered[value].rsplit(" (", 1)[0]
            people.append(named_recipient(procedure, party, name, email))
    if form.other_email.data:
        party = nxt.parties[0] if nxt.parties else "named"
        people.append(
            named_recipient(procedure, party, form.other_name.data.strip(), form.other_email.data.strip().lower())
        )
    return people
