"""Raise an escalation: question pages, check your answers, confirmation.

Answers are saved server-side after every page (a Draft), so leaving mid-way or
a session that times out loses nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from forms.confirm import ConfirmForm
from forms.raise_escalation import CATEGORIES, PAGES, CheckAnswersForm
from portal.auth import restored_answers, role_required
from portal.db import database
from portal.deadlines import schedule_stage
from portal.mail import told
from portal.models import Agency, Draft, Escalation, utcnow
from portal.procedure import SPECIFIC_CIRCUMSTANCES
from portal.registry import registry
from portal.views.display import break_addresses
from portal.views.errors import keeps_answers
from portal.workflow import EscalationDetails, WorkflowError, raise_escalation, urgent_parties

raisers = role_required("practitioner", "business_manager")  # administrators manage accounts, not cases
bp = Blueprint("raise", __name__, url_prefix="/raise")
FORMS = dict(PAGES)
ORDER = [name for name, _ in PAGES]
DRAFT = "raise"


def has_unsent_draft() -> bool:
    """Whether the signed-in user left the raise journey with answers not yet sent."""
    draft = _draft()
    return bool(draft and draft.answers)


def _draft(create: bool = False) -> Draft | None:
    draft = Draft.get_or_none(Draft.user == current_user.id, Draft.kind == DRAFT)
    if draft is None and create:
        with database.atomic():
            draft = Draft.create(user=current_user.id, kind=DRAFT, answers={}, submission_key=secrets.token_hex(16))
    return draft


def _agency_choices() -> list[tuple[str, str]]:
    agencies = Agency.select().where(Agency.active).order_by(Agency.name)
    return [("", "Select an agency")] + [(str(a.id), a.name) for a in agencies]


def _form(page: str, formdata=None, answers: dict | None = None):
    form_class = FORMS[page]
    data = {}
    for field in form_class():
        value = (answers or {}).get(field.name)
        if value and field.type == "ThreePartDateField":
            value = dt.date.fromisoformat(value)
        if value is not None:
            data[field.name] = value
    form = form_class(formdata=formdata, data=data) if formdata is not None else form_class(data=data)
    for field in form:
        if field.type == "SelectField":
            field.choices = _agency_choices()
    if page == "you" and not form.raiser_agency.data and current_user.agency_id:
        form.raiser_agency.data = str(current_user.agency_id)
    return form


def _answers_of(form) -> dict:
    answers = {}
    for field in form:
        if field.type in {"CSRFTokenField", "SubmitField"}:
            continue
        value = field.data
        answers[field.name] = value.isoformat() if isinstance(value, dt.date) else value
    return answers


def _next_page(page: str) -> str:
    index = ORDER.index(page)
    return url_for("raise.question", page=ORDER[index + 1]) if index + 1 < len(ORDER) else url_for("raise.check")


def _missing_pages(answers: dict) -> list[str]:
    return [
        name
        for name, form_class in PAGES
        if not all(f.name in answers for f in form_class() if f.type not in {"CSRFTokenField", "SubmitField"})
    ]


@bp.get("/")
@raisers
def start():
    draft = _draft()
    resume = None
    if draft and draft.answers:
        missing = _missing_pages(draft.answers)
        resume = url_for("raise.question", page=missing[0]) if missing else url_for("raise.check")
    return render_template("raising/start.html", procedure=registry.current(), resume=resume)


@bp.post("/discard")
@raisers
@keeps_answers
def discard():
    if ConfirmForm().validate_on_submit():
        with database.atomic():
            Draft.delete().where(Draft.user == current_user.id, Draft.kind == DRAFT).execute()
    return redirect(url_for("raise.start"))


@bp.route("/<page>", methods=["GET", "POST"])
@raisers
@keeps_answers
def question(page: str):
    if page not in FORMS:
        abort(404)
    draft = _draft()
    answers = draft.answers if draft else {}
    if request.method == "POST":
        form = _form(page, request.form, answers)
        if form.validate_on_submit():
            draft = draft or _draft(create=True)
            with database.atomic():
                Draft.update(answers={**draft.answers, **_answers_of(form)}, updated_at=utcnow()).where(
                    Draft.id == draft.id
                ).execute()
            if request.args.get("change"):
                return redirect(url_for("raise.check"))
            return redirect(_next_page(page))
    else:
        restored = restored_answers()
        form = _form(page, restored, answers) if restored is not None else _form(page, answers=answers)
    index = ORDER.index(page)
    back = (
        url_for("raise.check")
        if request.args.get("change")
        else (url_for("raise.question", page=ORDER[index - 1]) if index else url_for("raise.start"))
    )
    return render_template(
        "raising/question.html", form=form, page=page, back=back, step=index + 1, steps=len(ORDER)
    ), (400 if form.timed_out else 200)


def _details(answers: dict) -> EscalationDetails:
    procedure = registry.current()
    due = answers.get("requested_due")
    return EscalationDetails(
        child_name=answers["child_name"],
        child_dob=dt.date.fromisoformat(answers["child_dob"]),
        child_identifier=answers.get("child_identifier") or "",
        child_on_plan=answers["child_on_plan"] == "yes",
        child_looked_after=answers["child_looked_after"] == "yes",
        child_chair_name=answers.get("chair_name") or "",
        child_chair_email=answers.get("chair_email") or "",
        raiser_role=answers["raiser_role"],
        raiser_agency_id=int(answers["raiser_agency"]),
        raiser_contact_details=answers["raiser_contact_details"],
        counterpart_name=answers["counterpart_name"],
        counterpart_email=answers["counterpart_email"],
        counterpart_agency_id=int(answers["counterpart_agency"]),
        categories=answers["categories"],
        category_other=(answers.get("category_other") or "") if "other" in answers["categories"] else "",
        summary=answers["summary"],
        action_taken=answers["action_taken"],
        outcome_sought=answers["outcome_sought"],
        lead_aware=answers["lead_aware"] == "yes",
        lead_name=(answers.get("lead_name") or "") if answers["lead_aware"] == "yes" else "",
        imminent_risk=answers["imminent_risk"] == "yes",
        specific_circumstance=None if answers["specific_circumstance"] == "none" else answers["specific_circumstance"],
        requested_due_at=procedure.calendar.close_of_business(dt.date.fromisoformat(due)) if due else None,
    )


def _summary(answers: dict) -> list[dict]:
    """Rows for the check-your-answers summary list, each with a Change link."""
    agencies = dict(_agency_choices())
    categories = dict(CATEGORIES)
    circumstances = {"none": "None of these", **SPECIFIC_CIRCUMSTANCES}

    def show(name: str) -> str:
        value = answers.get(name)
        if value in (None, ""):
            return "Not given"
        if name in {"raiser_agency", "counterpart_agency"}:
            return agencies.get(value, "Unknown agency")
        if name == "categories":
            return "; ".join(categories.get(v, v) for v in value)
        if name == "specific_circumstance":
            return circumstances.get(value, value)
        if name in {"child_dob", "requested_due"}:
            return dt.date.fromisoformat(value).strftime("%-d %B %Y")
        return {"yes": "Yes", "no": "No"}.get(value, value)

    # Follow-up questions that only apply after a particular answer.
    applies = {
        "category_other": "other" in (answers.get("categories") or []),
        "lead_name": answers.get("lead_aware") == "yes",
        "chair_name": "yes" in (answers.get("child_on_plan"), answers.get("child_looked_after")),
        "chair_email": "yes" in (answers.get("child_on_plan"), answers.get("child_looked_after")),
    }
    rows = []
    for page, form_class in PAGES:
        for field in form_class():
            if field.type in {"CSRFTokenField", "SubmitField"} or not applies.get(field.name, True):
                continue
            rows.append(
                {
                    "key": {"text": field.label.text.removesuffix(" (optional)")},
                    "value": {"html": break_addresses(show(field.name))},
                    "actions": {
                        "items": [
                            {
                                "href": url_for("raise.question", page=page, change=1) + f"#{field.id}",
                                "text": "Change",
                                "visuallyHiddenText": field.label.text.lower(),
                            }
                        ]
                    },
                }
            )
    return rows


@bp.route("/check", methods=["GET", "POST"])
@raisers
@keeps_answers
def check():
    draft = _draft()
    if request.method == "POST":
        # Submitted twice (double click, back and resubmit): the first submission made the case.
        done = Escalation.get_or_none(
            Escalation.submission_key == request.form.get("submission_key", ""), Escalation.raiser == current_user.id
        )
        if done is not None:
            return redirect(url_for("raise.confirmation", reference=done.reference))
    if draft is None or not draft.answers:
        return redirect(url_for("raise.start"))
    missing = _missing_pages(draft.answers)
    if missing:
        return redirect(url_for("raise.question", page=missing[0]))
    form = CheckAnswersForm(data={"submission_key": draft.submission_key})
    procedure = registry.current()
    if form.validate_on_submit():
        done = None
        try:
            user = current_user._get_current_object()
            done = raise_escalation(procedure, user, _details(draft.answers), submission_key=draft.submission_key)
        except WorkflowError as error:
            form.submit.errors.append(str(error))
        if done is not None:
            with database.atomic():
                Draft.delete().where(Draft.id == draft.id).execute()
            return redirect(url_for("raise.confirmation", reference=done.reference))
    answers = draft.answers
    schedule = schedule_stage(procedure, procedure.stages[0], utcnow(), answers.get("imminent_risk") == "yes")
    return render_template(
        "raising/check.html",
        form=form,
        rows=_summary(answers),
        answers=answers,
        procedure=procedure,
        schedule=schedule,
        will_tell=_will_tell(procedure, answers),
    ), (400 if form.errors or form.timed_out else 200)


def _will_tell(procedure, answers: dict) -> dict[str, list[str]]:
    """Who raising these answers would email at once, by purpose: what the check page may promise."""
    details = _details(answers)
    draft_case = Escalation(  # never saved: the directory lookups need only who raises it and the agencies
        raiser=current_user._get_current_object(),
        raiser_agency=details.raiser_agency_id,
        counterpart_agency=details.counterpart_agency_id,
        imminent_risk=details.imminent_risk,
        specific_circumstance=details.specific_circumstance,
    )
    found: dict[str, list[str]] = {"imminent_risk": [], "specific_circumstance": []}
    for person, purpose in urgent_parties(procedure, draft_case):
        found[purpose].append(person.name)
    return found


@bp.get("/done/<reference>")
@raisers
def confirmation(reference: str):
    case = Escalation.get_or_none(Escalation.reference == reference, Escalation.raiser == current_user.id)
    if case is None:
        abort(404)
    return render_template(
        "raising/confirmation.html",
        case=case,
        procedure=registry.of_case(case),
        told_imminent=told(case, "imminent_risk"),
        told_circumstance=told(case, "specific_circumstance"),
    )
