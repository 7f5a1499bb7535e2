"""Changing a stage's deadline from the case page or an emailed link: an earlier date agreed by the people acting
at the stage; an extension, a pause and its early end by the Business Manager (portal.deadline_changes)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from forms.deadline import EarlierForm, ExtendForm, PauseForm, RestartForm
from portal.access import case_for
from portal.auth import public, signed_in
from portal.case_actions import Actor, answer
from portal.deadline_changes import (
    DateRefused,
    agree_earlier,
    current_schedule,
    extend,
    pause,
    restart,
    running_pause,
)
from portal.links import LinkRefused, find_link
from portal.models import Escalation
from portal.registry import registry
from portal.views.actions import _refused, address_confirmed
from portal.views.errors import keeps_answers
from portal.workdays import format_london
from portal.workflow import WorkflowError

bp = Blueprint("deadline", __name__)

PAGES = {
    "earlier": (EarlierForm, "Agree an earlier deadline"),
    "extend": (ExtendForm, "Extend the deadline"),
    "pause": (PauseForm, "Pause the clock"),
    "restart": (RestartForm, "Restart the clock"),
}
DONE = {
    "earlier": "The earlier deadline is recorded. The reminders follow it, and everyone at this stage has been told.",
    "extend": "The deadline is extended. The reminders follow it, and everyone at this stage has been told.",
    "pause": "The clock is paused. It restarts by itself on the date you gave; everyone at this stage has been told.",
    "restart": "The clock has restarted. Everyone at this stage has been told.",
}


def _apply(change: str, procedure, case: Escalation, actor: Actor, form) -> None:
    if change == "restart":
        restart(procedure, case, actor)
    elif change == "pause":
        pause(procedure, case, actor, form.until.data, form.reason.data)
    else:
        due = procedure.calendar.close_of_business(form.due.data)
        (agree_earlier if change == "earlier" else extend)(procedure, case, actor, due, form.reason.data)


def _handle(change: str, procedure, case: Escalation, actor: Actor, form) -> bool:
    """Validate and apply; a refused date goes next to its field, anything else by the button."""
    if not form.validate_on_submit():
        return False
    try:
        _apply(change, procedure, case, actor, form)
        return True
    except DateRefused as error:
        (form.until if change == "pause" else form.due).errors.append(str(error))
    except WorkflowError as error:
        form.submit.errors.append(str(error))
    return False


def _page(change: str, form, case: Escalation, procedure, back: str, status: int, paused=None):
    schedule = current_schedule(procedure, case)
    return render_template(
        "cases/deadline_change.html",
        form=form,
        case=case,
        procedure=procedure,
        title=PAGES[change][1],
        change=change,
        back=back,
        schedule=schedule,
        paused=paused,
    ), status


@bp.route("/cases/<reference>/deadline/<change>", methods=["GET", "POST"])
@signed_in
@keeps_answers
def change(reference: str, change: str):
    if change not in PAGES:
        abort(404)
    case = case_for(reference, current_user)
    if case is None:
        abort(404)
    procedure = registry.of_case(case)
    actor = Actor.of(current_user._get_current_object())
    reply = answer(case, procedure, actor, change)
    paused = running_pause(case)
    refusal = "" if reply else reply.reason
    if not refusal and change == "pause" and paused is not None:
        refusal = f"The clock is already paused until {format_london(paused.until)}."
    if not refusal and change == "restart" and paused is None:
        refusal = "The clock is not paused."
    if refusal and request.method == "GET":
        flash(refusal)
        return redirect(url_for("cases.case", reference=case.reference))
    form = PAGES[change][0]()
    if refusal:  # the case moved on while they were writing: say so, and keep what they wrote
        form.submit.errors = [f"{refusal} Nothing was saved; what you wrote is below."]
    elif _handle(change, procedure, case, actor, form):
        flash(DONE[change])
        return redirect(url_for("cases.case", reference=case.reference))
    status = 409 if refusal else 400 if form.errors or form.timed_out else 200
    return _page(change, form, case, procedure, url_for("cases.case", reference=case.reference), status, paused)


@bp.route("/a/<token>/earlier", methods=["GET", "POST"])
@public
@keeps_answers
def earlier_by_link(token: str):
    """The people acting at a stage, through the link they were emailed: the link is not used up by this."""
    try:
        link = find_link(token)
    except LinkRefused as refused:
        return _refused(refused)
    if link.action not in ("resolve", "escalate", "decide"):
        return _refused(LinkRefused("unknown", link))
    if not address_confirmed(link):  # the link's own page asks for the address first
        return redirect(url_for("actions.link", token=token))
    case = link.escalation
    procedure = registry.of_case(case)
    actor = Actor.via_link(link)
    reply = answer(case, procedure, actor, "earlier")
    form = EarlierForm()
    if not reply:
        form.submit.errors = [f"{reply.reason} Nothing was saved; what you wrote is below."]
    elif _handle("earlier", procedure, case, actor, form):
        flash(DONE["earlier"])
        return redirect(url_for("actions.link", token=token))
    status = 409 if not reply else 400 if form.errors or form.timed_out else 200
    response = current_app.make_response(
        _page("earlier", form, case, procedure, url_for("actions.link", token=token), status)
    )
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
