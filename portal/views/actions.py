"""Emailed Resolve / Escalate / Decide links, for people who may have no account.

GET only shows the case summary and a form (mail scanners open every link); the
POST, with its CSRF token and a written record, acts once.
"""

from __future__ import annotations

import logging
from io import BytesIO

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, session, url_for
from peewee import fn
from werkzeug.datastructures import MultiDict

from forms.case_actions import (
    AddressForm,
    AgreeForm,
    ContestForm,
    DecideForm,
    EscalateForm,
    ResolveForm,
    lessons_from,
    stage_answers,
    with_stage_records,
)
from portal import throttle
from portal.access import stage_party
from portal.auth import public
from portal.case_actions import Actor, answer
from portal.history import stage_history
from portal.links import LinkRefused, address_matches, find_link
from portal.models import ActionLink, Document, Outbox
from portal.registry import registry
from portal.views.cases import named_from, prepare_escalate_form
from portal.views.errors import keeps_answers
from portal.workflow import WorkflowError, agree, contest, decide, escalate, record_view, resolve

bp = Blueprint("actions", __name__, url_prefix="/a")
log = logging.getLogger(__name__)

FORMS = {
    "resolve": ResolveForm,
    "escalate": EscalateForm,
    "decide": DecideForm,
    "agree": AgreeForm,
    "contest": ContestForm,
}
REFUSED_STATUS = {"unknown": 404, "used": 410, "expired": 410, "superseded": 410}


def _secure_recipient(link: ActionLink) -> bool:
    """The child's details are shown only to addresses the procedure or directory marks secure."""
    party = stage_party(link.escalation_id, link.stage_index, link.recipient_email)
    return bool(party and party.secure)


def address_confirmed(link: ActionLink) -> bool:
    """A secure address sees the record at once; any other after typing the address the link was sent to, which
    this browser session then remembers."""
    return _secure_recipient(link) or link.id in session.get("confirmed_links", [])


def _page(html: str, status: int = 200):
    response = current_app.make_response((html, status))
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _typed(link: ActionLink | None) -> list[tuple[str, str]]:
    """What someone wrote on a link page that was refused when they sent it (another party acted first): shown
    back to them so that nothing typed is lost. Only for a real link's own form, only its text fields."""
    if link is None or request.method != "POST" or link.action not in FORMS:
        return []
    form = FORMS[link.action](formdata=request.form, meta={"csrf": False})
    return [
        (field.label.text.removesuffix(" (optional)"), field.data.strip())
        for field in form
        if field.type in {"StringField", "EmailField"} and isinstance(field.data, str) and field.data.strip()
    ]


def _refused(refused: LinkRefused):
    if refused.reason == "unknown":  # a guessed or mistyped token: guessing is throttled per client address
        throttle.failed("link-address", throttle.client_address())
    link = refused.link
    case = link.escalation if link else None
    procedure = registry.of_case(case) if case else None
    response = current_app.make_response(
        (
            render_template(
                "actions/refused.html",
                reason=refused.reason,
                link=link,
                case=case,
                procedure=procedure,
                typed=_typed(link),
            ),
            REFUSED_STATUS[refused.reason],
        )
    )
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/<token>", methods=["GET", "POST"])
@public
@keeps_answers
@throttle.guarded("link-address")
def link(token: str):
    try:
        link = find_link(token)
    except LinkRefused as refused:
        return _refused(refused)
    case = link.escalation
    if link.action == "document":
        return _copy_of_document(link, case)
    procedure = registry.of_case(case)
    if request.method == "GET":
        record_view(
            case,
            Actor(email=link.recipient_email, name=link.recipient_name),
            via="emailed link",
            may_be_automated=True,  # mail scanners open links too
            user_agent=(request.user_agent.string or "")[:200],
        )
    if not address_confirmed(link):  # first visit, or the session that confirmed it ended while they typed
        carried = _carried(request.form) if request.method == "POST" else []
        return _address_page(link, AddressForm(formdata=None), procedure, carried=carried)
    form, missing = _action_form(link, case, procedure)
    records = stage_answers(form)
    refusal = answer(case, procedure, Actor.via_link(link), link.action)
    if not refusal:  # the procedure does not let this recipient do this now (e.g. a link left from another stage)
        form.submit.errors = [f"{refusal.reason} Nothing was saved; what you wrote is below."]
    elif form.validate_on_submit():
        actor = Actor.via_link(link)
        try:
            if link.action == "resolve":
                lessons = lessons_from(form)
                outstanding = form.outstanding.data
                resolve(procedure, case, actor, form.statement.data, lessons, outstanding=outstanding, records=records)
            elif link.action == "agree":
                agree(procedure, case, actor, form.note.data)
            elif link.action == "contest":
                contest(procedure, case, actor, form.reason.data)
            elif link.action == "escalate":
                named = named_from(form, procedure, missing)
                escalate(procedure, case, actor, form.reason.data, named=named, records=records)
            else:
                decide(procedure, case, actor, form.decision.data, records=records, learning=lessons_from(form))
            session["acted_link"] = link.id  # only this browser sees the confirmation
            return redirect(url_for("actions.done", token=token))
        except LinkRefused as refused:
            return _refused(refused)
        except WorkflowError as error:
            form.submit.errors.append(str(error))
    status = 409 if not refusal else 400 if form.errors or form.timed_out else 200
    return _page(_link_html(link, case, procedure, form), status)


def _action_form(link: ActionLink, case, procedure, formdata=None):
    """The form for the link's action at its stage (with the stage's records), and for escalating who is missing."""
    form_class = with_stage_records(FORMS[link.action], procedure.stage(link.stage_index), link.action)
    form = form_class() if formdata is None else form_class(formdata=formdata)
    missing = prepare_escalate_form(form, case, procedure) if link.action == "escalate" else ()
    return form, missing


def _link_html(link: ActionLink, case, procedure, form) -> str:
    return render_template(
        "actions/act.html",
        form=form,
        link=link,
        case=case,
        procedure=procedure,
        stage=procedure.stage(case.stage_index),
        stages=stage_history(case, procedure),
        documents=_documents_of(case),
    )


def _carried(formdata) -> list[tuple[str, str]]:
    """What was typed on a link's form when the address had to be confirmed again: carried through the address
    page as hidden fields and given back on the form, never stored."""
    kept = formdata.items(multi=True)
    return [(name, value) for name, value in kept if name not in ("csrf_token", "email", "submit")]


def _documents_of(case) -> list[Document]:
    """The case's rendered PDFs, without their content: what the link page lists."""
    return list(
        Document.select(
            Document.id, Document.kind, Document.stage_index, fn.LENGTH(Document.content).coerce(False).alias("size")
        )
        .where((Document.escalation == case) & (Document.status == "rendered"))
        .order_by(Document.id)
    )


def _address_page(link: ActionLink, form: AddressForm, procedure, status: int = 200, carried=()):
    form.submit.label.text = "Continue"
    case = link.escalation
    html = render_template(
        "actions/confirm_address.html", form=form, link=link, case=case, procedure=procedure, carried=carried
    )
    return _page(html, status)


def _right_address(link: ActionLink, typed: str) -> bool:
    """The typed address checked against the link's; wrong tries slow down this link and this client (429),
    never the real recipient typing the right address from their own mail."""
    throttle.check("link-check", str(link.id))
    if address_matches(link, typed):
        return True
    throttle.failed("link-check", str(link.id))
    throttle.failed("link-address", throttle.client_address())
    return False


@bp.post("/<token>/address")
@public
@keeps_answers
@throttle.guarded("link-address")
def confirm_address(token: str):
    """The address the link was sent to, typed before the record is shown to an address not approved for a child's
    details (as GOV.UK Notify asks before a document download). Wrong tries are refused and counted."""
    try:
        link = find_link(token)
    except LinkRefused as refused:
        return _refused(refused)
    if link.action == "document":
        abort(404)
    form = AddressForm()
    if form.validate_on_submit():
        if _right_address(link, form.email.data):
            session["confirmed_links"] = [*session.get("confirmed_links", [])[-19:], link.id]
            if carried := _carried(request.form):  # typed before the session ended: back on the form, not lost
                case = link.escalation
                procedure = registry.of_case(case)
                action_form, _missing = _action_form(link, case, procedure, MultiDict(carried))
                return _page(_link_html(link, case, procedure, action_form), 200)
            return redirect(url_for("actions.link", token=token))
        log.warning("emailed link: an address that is not the recipient's was typed for link %s", link.id)
        form.email.errors = ["Enter the email address this link was sent to"]
    return _address_page(link, form, registry.of_case(link.escalation), 400, carried=_carried(request.form))


@bp.get("/<token>/documents/<int:document_id>")
@public
def document(token: str, document_id: int):
    """A PDF of the case, opened from its link page: for this link's case only, once the address is confirmed."""
    try:
        link = find_link(token)
    except LinkRefused as refused:
        return _refused(refused)
    if link.action == "document" or not address_confirmed(link):
        abort(404)
    record = Document.get_or_none(
        (Document.id == document_id) & (Document.escalation == link.escalation_id) & (Document.status == "rendered")
    )
    if record is None:
        abort(404)
    record_view(link.escalation, Actor.via_link(link), document=record.kind, via="emailed link")
    response = send_file(
        BytesIO(record.content), mimetype="application/pdf", as_attachment=True, download_name=record.filename
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/<token>/done")
@public
@throttle.guarded("link-address")
def done(token: str):
    """The confirmation for the person who has just acted; for anyone else, the link's own page."""
    try:
        find_link(token)
    except LinkRefused as refused:
        link = refused.link
        if link is None or link.used_at is None or session.get("acted_link") != link.id:
            return _refused(refused)
        case = link.escalation
        response = current_app.make_response(
            render_template("actions/done.html", link=link, case=case, procedure=registry.of_case(case))
        )
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        return response
    return redirect(url_for("actions.link", token=token))


def _copy_of_document(link: ActionLink, case):
    """A copy the procedure asked for, sent to an address not approved for a child's details: the PDF is given
    once the person types the address the link was sent to (a GET, as a mail scanner makes, gives nothing)."""
    copies = Outbox.select(Outbox.context).where(
        (Outbox.escalation == case) & (Outbox.purpose == "copy") & (Outbox.recipient_email == link.recipient_email)
    )
    ids = [row.context["document_id"] for row in copies if (row.context or {}).get("document_id")]
    document = Document.get_or_none((Document.id.in_(ids or [0])) & (Document.status == "rendered"))
    if document is None:
        return _refused(LinkRefused("unknown", link))
    form = AddressForm()
    if form.validate_on_submit():
        if _right_address(link, form.email.data):
            record_view(case, Actor.via_link(link), document=document.kind, via="emailed link")
            response = send_file(
                BytesIO(document.content),
                mimetype="application/pdf",
                as_attachment=True,
                download_name=document.filename,
            )
            response.headers["Cache-Control"] = "private, no-store"
            return response
        log.warning("copy link: an address that is not the recipient's was typed for document %s", document.id)
        form.email.errors = ["Enter the email address this link was sent to"]
    response = current_app.make_response(
        (
            render_template("actions/document.html", form=form, case=case, document=document, link=link),
            400 if form.errors or form.timed_out else 200,
        )
    )
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
