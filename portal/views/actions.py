"""Emailed Resolve / Escalate / Decide links, for people who may have no account.

GET only shows the case summary and a form (mail scanners open every link); the
POST, with its CSRF token and a written record, acts once.
"""

from __future__ import annotations

import logging
from io import BytesIO

from flask import Blueprint, current_app, redirect, render_template, request, send_file, session, url_for

from forms.case_actions import AddressForm, AgreeForm, ContestForm, DecideForm, EscalateForm, ResolveForm
from portal.access import stage_party
from portal.addresses import normalise_address
from portal.auth import public
from portal.case_actions import Actor, answer
from portal.links import LinkRefused, find_link
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
def link(token: str):
    try:
        link = find_link(token)
    except LinkRefused as refused:
        return _refused(refused)
    case = link.escalation
    if link.action == "document":
        return _copy_of_document(link, case)
    procedure = registry.of_case(case)
    form = FORMS[link.action]()
    missing = prepare_escalate_form(form, case, procedure) if link.action == "escalate" else ()
    if request.method == "GET":
        record_view(
            case,
            Actor(email=link.recipient_email, name=link.recipient_name),
            via="emailed link",
            may_be_automated=True,  # mail scanners open links too
            user_agent=(request.user_agent.string or "")[:200],
        )
    refusal = answer(case, procedure, Actor.via_link(link), link.action)
    if not refusal:  # the procedure does not let this recipient do this now (e.g. a link left from another stage)
        form.submit.errors = [f"{refusal.reason} Nothing was saved; what you wrote is below."]
    elif form.validate_on_submit():
        actor = Actor.via_link(link)
        try:
            if link.action == "resolve":
                learning = form.learning_details.data if form.learning.data == "yes" else ""
                resolve(procedure, case, actor, form.statement.data, learning, outstanding=form.outstanding.data)
            elif link.action == "agree":
                agree(procedure, case, actor, form.note.data)
            elif link.action == "contest":
                contest(procedure, case, actor, form.reason.data)
            elif link.action == "escalate":
                escalate(procedure, case, actor, form.reason.data, named=named_from(form, procedure, missing))
            else:
                decide(procedure, case, actor, form.decision.data)
            session["acted_link"] = link.id  # only this browser sees the confirmation
            return redirect(url_for("actions.done", token=token))
        except LinkRefused as refused:
            return _refused(refused)
        except WorkflowError as error:
            form.submit.errors.append(str(error))
    response = current_app.make_response(
        (
            render_template(
                "actions/act.html",
                form=form,
                link=link,
                case=case,
                procedure=procedure,
                stage=procedure.stage(case.stage_index),
                secure=_secure_recipient(link),
            ),
            409 if not refusal else 400 if form.errors or form.timed_out else 200,
        )
    )
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/<token>/done")
@public
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
        if normalise_address(form.email.data) == link.recipient_email.lower():
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
