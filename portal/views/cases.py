"""My escalations, the case page and the actions on it."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from peewee import JOIN, Case, fn

from forms.case_actions import (
    DecideForm,
    EscalateForm,
    FlagForm,
    RecordForm,
    ResolveForm,
    WithdrawForm,
    lessons_from,
    stage_answers,
    with_stage_records,
)
from portal.access import case_for, visible_cases
from portal.addresses import normalise_address
from portal.auth import signed_in
from portal.case_actions import Actor, allowed_actions, answer, describe_parties
from portal.deadline_changes import current_schedule, running_pause
from portal.history import stage_history
from portal.inbox import mark_case_read, mark_read
from portal.mail import told
from portal.models import Agency, Document, Escalation, Event, JointRaiser, Learning, ProcedureVersion, User, utcnow
from portal.page_reuse import served_again
from portal.pagination import InvalidCursor, Order, paginate
from portal.prepared import Prepared, Slot
from portal.registry import ProcedureUnavailable, registry
from portal.routing import named_recipient, next_stage_people
from portal.viewers import viewers
from portal.views.display import stage_name
from portal.views.errors import keeps_answers
from portal.views.raising import has_unsent_draft
from portal.workdays import london
from portal.workflow import (
    WorkflowError,
    add_record,
    decide,
    escalate,
    flag_circumstance,
    record_view,
    resolve,
    withdraw,
)

bp = Blueprint("cases", __name__, url_prefix="/cases")

ACTION_PAGES = {
    "record": (RecordForm, "Add a record of a discussion"),
    "resolve": (ResolveForm, "Mark as resolved"),
    "escalate": (EscalateForm, "Escalate to the next stage"),
    "withdraw": (WithdrawForm, "Withdraw the escalation"),
    "decide": (DecideForm, "Record the final decision"),
    "flag": (FlagForm, "Flag a specific circumstance"),
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


# Open cases first, soonest deadline first (so overdue ones lead); the id breaks ties for keyset pages.
DASHBOARD_ORDER = Order(
    (
        ("closed_rank", Case(None, [(Escalation.status == "open", 0)], 1)),
        ("due_at", Escalation.due_at),
        ("id", Escalation.id),
    )
)


@bp.get("/")
@signed_in
def dashboard():
    now = utcnow()
    counterpart = Agency.alias()  # each row names it: in the page's query, not loaded row by row
    query = (
        visible_cases(current_user)
        .select_extend(DASHBOARD_ORDER.keys[0][1].alias("closed_rank"), counterpart)
        .join_from(Escalation, counterpart, JOIN.LEFT_OUTER, on=Escalation.counterpart_agency)
    )
    try:
        page, bad_cursor = paginate(query, DASHBOARD_ORDER, request.args.get("cursor") or None), False
    except InvalidCursor:
        page, bad_cursor = paginate(query, DASHBOARD_ORDER), True
    procedures = registry.of_cases(page.rows)
    rows = [
        {
            "case": case,
            "stage": stage_name(procedures[case.id], case.stage_index),
            "tag": _deadline_tag(case, now),
        }
        for case in page.rows
    ]
    return render_template(
        "cases/dashboard.html",
        rows=rows,
        unsent=has_unsent_draft(),
        bad_cursor=bad_cursor,
        next_url=url_for("cases.dashboard", cursor=page.next_cursor) if page.next_cursor else None,
        prev_url=url_for("cases.dashboard", cursor=page.prev_cursor) if page.prev_cursor else None,
    )


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
    return served_again(lambda: _case_page(case))


def _case_page(case: Escalation) -> str:
    """The page itself; with the Business Manager's marks, which a page served again has already written."""
    lessons = list(_LESSONS.run(case_id=case.id))
    if current_user.role == "business_manager":
        mark_case_read(current_user, case, lessons)
    try:
        procedure, unavailable = registry.of_case(case), ""
    except ProcedureUnavailable as error:  # the record can still be read; nothing can be done on it
        procedure, unavailable = None, str(error)
    return render_template(
        "cases/case.html",
        case=case,
        procedure=procedure,
        stages=stage_history(case, procedure),
        events=list(_TIMELINE.run(case_id=case.id)),
        viewers=viewers(case),
        documents=list(_DOCUMENTS.run(case_id=case.id)),
        actions=allowed_actions(case, procedure, Actor.of(current_user._get_current_object())) if procedure else set(),
        tag=_deadline_tag(case, utcnow()),
        unavailable=unavailable,
        joint_raisers=list(_JOINT_RAISERS.run(case_id=case.id)),
        version=_version_note(case),
        lessons=lessons,
        told_imminent=told(case, "imminent_risk") if case.imminent_risk else [],
        told_circumstance=told(case, "specific_circumstance") if case.specific_circumstance else [],
        schedule=current_schedule(procedure, case) if procedure else None,
        paused=running_pause(case),
    )


# The case page's own queries, of a fixed shape: their SQL is written once (portal/prepared.py)
_LESSONS = Prepared(lambda: Learning.select().where(Learning.escalation == Slot("case_id")).order_by(Learning.id))
_DOCUMENTS = Prepared(  # without the PDFs themselves: only their sizes
    lambda: (
        Document.select(
            Document.id,
            Document.kind,
            Document.stage_index,
            Document.status,
            fn.LENGTH(Document.content).coerce(False).alias("size"),
        )
        .where(Document.escalation == Slot("case_id"))
        .order_by(Document.id)
    )
)
_JOINT_RAISERS = Prepared(
    lambda: (
        JointRaiser.select(JointRaiser, Agency)
        .join(Agency, JOIN.LEFT_OUTER)
        .where(JointRaiser.escalation == Slot("case_id"))
    )
)
# The case's acts, the latest first, each with its actor's name in the same query; views are summarised apart
_TIMELINE = Prepared(
    lambda: (
        Event.select(Event, User.id, User.name)
        .join(User, JOIN.LEFT_OUTER, on=(Event.actor == User.id))
        .where((Event.escalation == Slot("case_id")) & (Event.kind != "viewed"))
        .order_by(Event.id.desc())
    )
)
_VERSION = Prepared(lambda: ProcedureVersion.select().where(ProcedureVersion.id == Slot("version_id")))


def _version_note(case: Escalation) -> str:
    """Which version of the procedure applies, and whether newer cases follow another."""
    version = _VERSION.first(version_id=case.procedure_version_id) if case.procedure_version_id else None
    if version is None:
        return f"{case.procedure_id}, as loaded by the portal (raised before versions were kept)"
    note = f"{version.name}, version {version.digest[:12]}, in use from {london(version.first_used_at):%-d %B %Y}"
    current = registry.current()
    if current.id == version.procedure_id and current.digest != version.digest:
        note += ". Cases raised since the procedure file changed follow the new version; this one keeps its own"
    return note


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
    if current_user.role == "business_manager":
        mark_read(current_user, "document", record.id)
    response = send_file(
        BytesIO(record.content),
        mimetype="application/pdf",
        as_attachment=True,  # saved, never rendered in the portal's origin (docs/security.md, 'The PDF sandbox')
        download_name=record.filename,
        etag=record.sha256,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def prepare_escalate_form(form: EscalateForm, case: Escalation, procedure) -> tuple[str, ...]:
    """The next stage's people from the directory as checkboxes `party|email`, ticked on first view; a typed
    name only for a party the directory cannot supply (its fields are removed otherwise). Returns those parties."""
    people, missing = next_stage_people(procedure, case)
    form.contacts.choices = [(f"{p.party}|{p.email}", f"{p.name} ({p.email})") for p in people]
    if request.method == "GET" and not form.restored:
        form.contacts.data = [value for value, _ in form.contacts.choices]
    if missing:
        who = describe_parties(missing[:1])
        form.other_name.label.text = f"Name of {who} (not in the directory)"
        form.other_name.description = (
            f"The directory has nobody for {describe_parties(missing)}. Someone you name here is marked as not "
            "checked on the case, and the Business Manager is told so the directory can be completed"
        )
        form.other_email.label.text = "Their email address"
    else:
        del form.other_name
        del form.other_email
    return missing


@bp.route("/<reference>/<action>", methods=["GET", "POST"])
@signed_in
@keeps_answers
def act(reference: str, action: str):
    if action not in ACTION_PAGES:
        abort(404)
    case = _load(reference)
    procedure = registry.of_case(case)
    form_class, title = ACTION_PAGES[action]
    actor = Actor.of(current_user._get_current_object())
    reply = answer(case, procedure, actor, action)
    refused = None if reply else reply.reason
    if refused and request.method == "GET":
        flash(refused)
        return redirect(url_for("cases.case", reference=case.reference))
    form = with_stage_records(form_class, procedure.stage(case.stage_index), action)()
    records = stage_answers(form)
    at_last = case.stage_index >= procedure.last_index
    missing = prepare_escalate_form(form, case, procedure) if action == "escalate" and not at_last else ()
    if refused:  # the case moved on while they were writing: say so, and keep what they wrote
        form.submit.errors = [f"{refused} Nothing was saved; what you wrote is below."]
    elif form.validate_on_submit():
        try:
            if action == "record":
                add_record(procedure, case, actor, form.text.data, records=records)
                flash("Your record was added.")
            elif action == "resolve":
                resolve(
                    procedure,
                    case,
                    actor,
                    form.statement.data,
                    lessons_from(form),
                    outstanding=form.outstanding.data,
                    records=records,
                )
                flash("The escalation is resolved. Everyone involved has been told.")
            elif action == "escalate":
                named = named_from(form, procedure, missing)
                escalate(procedure, case, actor, form.reason.data, named=named, records=records)
                stage = procedure.stage(case.stage_index).name
                flash(f"Escalated to {stage}. The people at this stage have been emailed.")
            elif action == "withdraw":
                withdraw(procedure, case, actor, form.reason.data)
                flash("The escalation is withdrawn.")
            elif action == "flag":
                flag_circumstance(procedure, case, actor, form.circumstance.data, form.reason.data)
                who = told(case, "specific_circumstance")
                flash(
                    f"Flagged. {', '.join(who)} {'has' if len(who) == 1 else 'have'} been emailed to act on it now."
                    if who
                    else "Flagged. The procedure names nobody to tell: phone the Director of Children's Services' "
                    "office and the partnership now."
                )
            else:
                decide(procedure, case, actor, form.decision.data, records=records, learning=lessons_from(form))
                flash("The final decision is recorded and the case is closed.")
            return redirect(url_for("cases.case", reference=case.reference))
        except WorkflowError as error:
            form.submit.errors.append(str(error))
    status = 409 if refused else 400 if form.errors or form.timed_out else 200
    return render_template(
        f"cases/{action}.html", form=form, case=case, procedure=procedure, title=title, action=action
    ), status


def named_from(form: EscalateForm, procedure, missing: tuple[str, ...]) -> list:
    """The people ticked on an escalate form (only those offered), and the one typed for a missing party."""
    offered = dict(form.contacts.choices)
    people = []
    for value in form.contacts.data or []:
        if value in offered:
            party, email = value.split("|", 1)
            name = offered[value].rsplit(" (", 1)[0]
            people.append(named_recipient(procedure, party, name, email))
    typed = getattr(form, "other_email", None)
    if missing and typed is not None and typed.data:
        name, email = form.other_name.data.strip(), normalise_address(typed.data)
        people.append(named_recipient(procedure, missing[0], name, email, verified=False))
    return people
