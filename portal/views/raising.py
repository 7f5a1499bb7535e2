"""Raise an escalation: question pages, check your answers, confirmation.

Answers are saved server-side after every page (a Draft), so leaving mid-way or
a session that times out loses nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from forms.confirm import ConfirmForm
from forms.raise_escalation import CATEGORIES, NOT_LISTED, PAGES, SUBJECTS, CheckAnswersForm
from portal.auth import signed_in
from portal.db import database
from portal.deadlines import schedule_stage
from portal.mail import told
from portal.models import Agency, Draft, Escalation, utcnow
from portal.procedure import SPECIFIC_CIRCUMSTANCES
from portal.registry import registry
from portal.views.display import break_addresses
from portal.views.errors import keeps_answers
from portal.workflow import EscalationDetails, WorkflowError, raise_escalation, urgent_parties

bp = Blueprint("raise", __name__, url_prefix="/raise")
FORMS = dict(PAGES)
ORDER = [name for name, _ in PAGES]
DRAFT = "raise"
CHILD_PAGES = {"child": "child", "unborn": "unborn"}  # the page about whom, by the subject page's answer
MAX_DRAFTS_LISTED = 10
CHANGED_ELSEWHERE = (
    "Your answers were changed in another tab or window after this page was shown. Check them again before you "
    "raise the escalation"
)


def has_unsent_draft() -> bool:
    """Whether the signed-in user left the raise journey with answers not yet sent."""
    return _drafts().exists()


def _drafts():
    return Draft.select().where(Draft.user == current_user.id, Draft.kind == DRAFT)


def _draft(create: bool = False) -> Draft | None:
    """The draft this tab works on (`?draft=N`, the signed-in user's own); a new one when asked for and none is."""
    draft_id = request.args.get("draft", type=int)
    draft = _drafts().where(Draft.id == draft_id).first() if draft_id else None
    if draft is None and create:
        with database.atomic():
            draft = Draft.create(user=current_user.id, kind=DRAFT, answers={}, submission_key=secrets.token_hex(16))
    return draft


def _save(draft: Draft, answers: dict) -> Draft | None:
    """Merge one page's answers, bumping the version; another tab's save in between is merged, never lost.
    The draft as saved, or None when it was discarded meanwhile or kept changing."""
    for _ in range(5):
        with database.atomic():
            saved = (
                Draft.update(answers={**draft.answers, **answers}, version=Draft.version + 1, updated_at=utcnow())
                .where(Draft.id == draft.id, Draft.version == draft.version)
                .execute()
            )
        draft = Draft.get_or_none(Draft.id == draft.id)
        if saved or draft is None:
            return draft if saved else None
    return None


def _url(endpoint: str, draft: Draft | None, **values) -> str:
    return url_for(endpoint, draft=draft.id if draft else None, **values)


def _agency_choices(not_listed: bool = False) -> list[tuple[str, str]]:
    agencies = Agency.select().where(Agency.active).order_by(Agency.name)
    return [("", "Select an agency")] + [(str(a.id), a.name) for a in agencies] + ([NOT_LISTED] if not_listed else [])


def _form(page: str, answers: dict | None = None):
    form_class = FORMS[page]
    data = {}
    for field in form_class():
        value = (answers or {}).get(field.name)
        if value and field.type == "ThreePartDateField":
            value = dt.date.fromisoformat(value)
        if value is not None:
            data[field.name] = value
    form = form_class(data=data)
    for field in form:
        if field.type == "SelectField":
            field.choices = _agency_choices(not_listed=field.name == "counterpart_agency")
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


def pages_for(answers: dict) -> list[str]:
    """The question pages these answers call for: the child's page only for a child, the unborn baby's for one."""
    about = CHILD_PAGES.get(answers.get("subject") or "child")
    return [name for name in ORDER if name not in CHILD_PAGES or name == about]


def _next_page(page: str, draft: Draft) -> str:
    order = pages_for(draft.answers)
    index = order.index(page) if page in order else 0
    return (
        _url("raise.question", draft, page=order[index + 1]) if index + 1 < len(order) else _url("raise.check", draft)
    )


def _missing_pages(answers: dict) -> list[str]:
    return [
        name
        for name in pages_for(answers)
        if not all(f.name in answers for f in FORMS[name]() if f.type not in {"CSRFTokenField", "SubmitField"})
    ]


def _resume(draft: Draft) -> str:
    missing = _missing_pages(draft.answers)
    return _url("raise.question", draft, page=missing[0]) if missing else _url("raise.check", draft)


@bp.get("/")
@signed_in
def start():
    drafts = [
        {"draft": d, "resume": _resume(d)} for d in _drafts().order_by(Draft.updated_at.desc()).limit(MAX_DRAFTS_LISTED)
    ]
    return render_template("raising/start.html", procedure=registry.current(), drafts=drafts)


@bp.route("/discard", methods=["GET", "POST"])
@signed_in
def discard():
    """Asks first: one press must not throw away answers typed over ten minutes."""
    draft = _draft()
    if draft is None:
        return redirect(url_for("raise.start"))
    form = ConfirmForm()
    if form.validate_on_submit():
        with database.atomic():
            Draft.delete().where(Draft.id == draft.id).execute()
        flash("Your answers were discarded.")
        return redirect(url_for("raise.start"))
    return render_template("raising/discard.html", form=form, draft=draft, back=_resume(draft))


@bp.route("/<page>", methods=["GET", "POST"])
@signed_in
@keeps_answers
def question(page: str):
    if page not in FORMS:
        abort(404)
    draft = _draft()
    answers = draft.answers if draft else {}
    form = _form(page, answers)
    if request.method == "POST" and form.validate_on_submit():
        draft = _save(draft or _draft(create=True), _answers_of(form))
        if draft is None:  # discarded in another tab, or changed there again and again: keep what was typed
            form.submit.errors.append(
                "These answers were not saved: the escalation was discarded or changed in another tab. Check them "
                "and continue to keep them"
            )
        elif request.args.get("change") and not (page == "subject" and _missing_pages(draft.answers)):
            return redirect(_url("raise.check", draft))
        else:
            return redirect(_next_page(page, draft))
    order = pages_for(answers)
    index = order.index(page) if page in order else 0
    back = (
        _url("raise.check", draft)
        if request.args.get("change")
        else (_url("raise.question", draft, page=order[index - 1]) if index else url_for("raise.start"))
    )
    return render_template(
        "raising/question.html", form=form, page=page, back=back, step=index + 1, steps=len(order)
    ), (400 if form.timed_out else 200)


def _details(answers: dict) -> EscalationDetails:
    procedure = registry.current()
    due = answers.get("requested_due")
    subject = answers.get("subject") or "child"
    not_listed = answers["counterpart_agency"] == NOT_LISTED[0]
    child = {} if subject == "none" else answers  # a strategic case keeps no child's answers, even typed earlier
    born, expected = child.get("child_dob"), child.get("child_due")
    return EscalationDetails(
        subject=subject,
        child_name=child.get("child_name") or "",
        child_dob=dt.date.fromisoformat(born) if born and subject == "child" else None,
        child_due=dt.date.fromisoformat(expected) if expected and subject == "unborn" else None,
        child_identifier=child.get("child_identifier") or "",
        child_on_plan=child.get("child_on_plan") == "yes",
        child_looked_after=child.get("child_looked_after") == "yes" and subject == "child",
        child_chair_name=child.get("chair_name") or "",
        child_chair_email=child.get("chair_email") or "",
        raiser_role=answers["raiser_role"],
        raiser_agency_id=int(answers["raiser_agency"]),
        raiser_contact_details=answers["raiser_contact_details"],
        counterpart_name=answers["counterpart_name"],
        counterpart_email=answers["counterpart_email"],
        counterpart_agency_id=None if not_listed else int(answers["counterpart_agency"]),
        joint_raisers=[(answers["joint_name"], answers["joint_email"], int(answers["joint_agency"]))]
        if answers.get("joint") == "yes"
        else [],
        counterpart_agency_other=(answers.get("counterpart_agency_other") or "").strip() if not_listed else "",
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


def _summary(draft: Draft) -> list[dict]:
    """Rows for the check-your-answers summary list, each with a Change link."""
    answers = draft.answers
    agencies = dict(_agency_choices(not_listed=True))
    categories = dict(CATEGORIES)
    subjects = dict(SUBJECTS)
    circumstances = {"none": "None of these", **SPECIFIC_CIRCUMSTANCES}

    def show(name: str) -> str:
        value = answers.get(name)
        if value in (None, ""):
            return "Not given"
        if name in {"raiser_agency", "counterpart_agency", "joint_agency"}:
            return agencies.get(value, "Unknown agency")
        if name == "categories":
            return "; ".join(categories.get(v, v) for v in value)
        if name == "specific_circumstance":
            return circumstances.get(value, value)
        if name == "subject":
            return subjects.get(value, value)
        if name in {"child_dob", "child_due", "requested_due"}:
            return dt.date.fromisoformat(value).strftime("%-d %B %Y")
        return {"yes": "Yes", "no": "No"}.get(value, value)

    # Follow-up questions that only apply after a particular answer.
    applies = {
        "category_other": "other" in (answers.get("categories") or []),
        "lead_name": answers.get("lead_aware") == "yes",
        "chair_name": "yes" in (answers.get("child_on_plan"), answers.get("child_looked_after")),
        "counterpart_agency_other": answers.get("counterpart_agency") == NOT_LISTED[0],
        **dict.fromkeys(("joint_name", "joint_email", "joint_agency"), answers.get("joint") == "yes"),
        "chair_email": "yes" in (answers.get("child_on_plan"), answers.get("child_looked_after")),
    }
    rows = []
    for page in pages_for(answers):
        for field in FORMS[page]():
            if field.type in {"CSRFTokenField", "SubmitField"} or not applies.get(field.name, True):
                continue
            rows.append(
                {
                    "key": {"text": field.label.text.removesuffix(" (optional)")},
                    "value": {"html": break_addresses(show(field.name))},
                    "actions": {
                        "items": [
                            {
                                "href": _url("raise.question", draft, page=page, change=1) + f"#{field.id}",
                                "text": "Change",
                                "visuallyHiddenText": field.label.text.lower(),
                            }
                        ]
                    },
                }
            )
    return rows


@bp.route("/check", methods=["GET", "POST"])
@signed_in
@keeps_answers
def check():
    draft = _draft()
    if request.method == "POST":
        # Submitted twice (double click, back and resubmit, two tabs): the first submission made the case.
        done = Escalation.get_or_none(
            Escalation.submission_key == request.form.get("submission_key", ""), Escalation.raiser == current_user.id
        )
        if done is not None:
            return redirect(url_for("raise.confirmation", reference=done.reference))
    if draft is None or not draft.answers:
        return redirect(url_for("raise.start"))
    missing = _missing_pages(draft.answers)
    if missing:
        return render_template(
            "raising/missing.html",
            draft=draft,
            missing=[
                {"title": FORMS[page].title, "href": _url("raise.question", draft, page=page)} for page in missing
            ],
        )
    form = CheckAnswersForm(  # nothing typed here: never a restored version, always the draft's own
        formdata=request.form if request.method == "POST" else None,
        data={"submission_key": draft.submission_key, "version": str(draft.version)},
    )
    procedure = registry.current()
    if form.validate_on_submit():
        done = None
        if form.version.data != str(draft.version):  # this page showed older answers than the draft now holds
            form.submit.errors.append(CHANGED_ELSEWHERE)
            form.version.data = str(draft.version)
        else:
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
        rows=_summary(draft),
        answers=answers,
        back=_url("raise.question", draft, page=pages_for(answers)[-1]),
        procedure=procedure,
        schedule=schedule,
        will_tell=_will_tell(procedure, answers),
    ), (409 if CHANGED_ELSEWHERE in form.submit.errors else 400 if form.errors or form.timed_out else 200)


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
@signed_in
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
