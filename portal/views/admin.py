"""Administration: the directory of contacts and the sent-mail log with resend."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from peewee import JOIN

from forms.confirm import ConfirmForm
from forms.contact import AgencyForm, ContactForm
from portal import mail
from portal.auth import role_required
from portal.db import database
from portal.directory import import_rows, parse_csv
from portal.models import Agency, Contact, Escalation, Outbox
from portal.pagination import InvalidCursor, Order, paginate
from portal.procedure import ROLES
from portal.service_status import WATCHERS, service_status
from portal.views.errors import keeps_answers

bp = Blueprint("admin", __name__, url_prefix="/admin")
admin_only = role_required("admin")
MAIL_ORDER = Order((("created_at", Outbox.created_at), ("id", Outbox.id)), descending=True)  # newest first


def _agency_choices() -> list[tuple[str, str]]:
    return [("", "Select an agency")] + [(str(a.id), a.name) for a in Agency.select().order_by(Agency.name)]


@bp.get("/")
@admin_only
def index():
    return render_template("admin/index.html", undelivered=len(mail.undelivered()))


@bp.get("/directory")
@admin_only
def directory():
    contacts = Contact.select(Contact, Agency).join(Agency).order_by(Agency.name, Contact.role, Contact.name)
    return render_template("admin/directory.html", contacts=list(contacts), roles=ROLES, form=ConfirmForm())


@bp.route("/directory/agencies/new", methods=["GET", "POST"])
@admin_only
@keeps_answers
def new_agency():
    form = AgencyForm()
    if form.validate_on_submit():
        if Agency.select().where(Agency.name == form.name.data.strip()).exists():
            form.name.errors.append("An agency with this name already exists")
        else:
            with database.atomic():
                Agency.create(name=form.name.data.strip(), kind=form.kind.data)
            flash(f"{form.name.data.strip()} was added.")
            return redirect(url_for("admin.directory"))
    return render_template("admin/form.html", form=form, title="Add an agency"), 400 if form.errors else 200


@bp.route("/directory/contacts/new", methods=["GET", "POST"])
@bp.route("/directory/contacts/<int:contact_id>", methods=["GET", "POST"])
@admin_only
@keeps_answers
def contact(contact_id: int | None = None):
    existing = Contact.get_or_none(Contact.id == contact_id) if contact_id else None
    if contact_id and existing is None:
        abort(404)
    data = None
    if existing is not None and request.method == "GET":
        data = {
            "agency": str(existing.agency_id),
            "role": existing.role,
            "name": existing.name,
            "job_title": existing.job_title,
            "email": existing.email,
            "secure": "yes" if existing.secure else "no",
        }
    form = ContactForm(data=data)
    form.agency.choices = _agency_choices()
    if form.validate_on_submit():
        values = {
            "agency": int(form.agency.data),
            "role": form.role.data,
            "name": form.name.data.strip(),
            "job_title": (form.job_title.data or "").strip(),
            "email": form.email.data.strip().lower(),
            "secure": form.secure.data == "yes",
        }
        clash = Contact.select().where(
            (Contact.agency == values["agency"]) & (Contact.role == values["role"]) & (Contact.email == values["email"])
        )
        if existing is not None:
            clash = clash.where(Contact.id != existing.id)
        if clash.exists():
            form.email.errors.append("This agency already has this person in this role")
        else:
            with database.atomic():
                if existing is None:
                    Contact.create(**values)
                else:
                    Contact.update(**values).where(Contact.id == existing.id).execute()
            flash(f"{values['name']} was saved.")
            return redirect(url_for("admin.directory"))
    title = "Change a contact" if existing else "Add a contact"
    return render_template("admin/form.html", form=form, title=title), 400 if form.errors else 200


@bp.post("/directory/contacts/<int:contact_id>/active")
@admin_only
def toggle_contact(contact_id: int):
    contact = Contact.get_or_none(Contact.id == contact_id)
    if contact is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        with database.atomic():
            Contact.update(active=not contact.active).where(Contact.id == contact.id).execute()
        flash(f"{contact.name} is {'no longer' if contact.active else 'now'} offered for new stages.")
    return redirect(url_for("admin.directory"))


@bp.route("/directory/import", methods=["GET", "POST"])
@admin_only
def import_directory():
    form = ConfirmForm()
    errors: list[str] = []
    if form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors = ["Select a CSV file"]
        else:
            try:
                rows, errors = parse_csv(upload.read().decode("utf-8-sig"))
            except UnicodeDecodeError:
                rows, errors = [], ["The file must be a CSV saved as UTF-8"]
            if not errors:
                result = import_rows(rows)
                note = f" {result.agencies_note}." if result.new_agencies else ""
                flash(f"Imported {len(rows)} contacts: {result.created} new, {result.updated} updated.{note}")
                return redirect(url_for("admin.directory"))
    return render_template("admin/import.html", errors=errors, roles=list(ROLES)), 400 if errors else 200


@bp.get("/status")
@role_required(*WATCHERS)
def status():
    return render_template("admin/status.html", status=service_status())


@bp.get("/mail")
@role_required("admin", "business_manager")
def sent_mail():
    """Administrators see envelopes only (they may not open cases); the Business Manager may read the bodies."""
    query = Outbox.select(Outbox, Escalation.id, Escalation.reference).join(Escalation, JOIN.LEFT_OUTER)
    try:
        page, bad_cursor = paginate(query, MAIL_ORDER, request.args.get("cursor") or None), False
    except InvalidCursor:
        page, bad_cursor = paginate(query, MAIL_ORDER), True
    return render_template(
        "admin/mail.html",
        rows=[(row, mail.envelope_subject(row)) for row in page.rows],
        readable=current_user.role == "business_manager",
        form=ConfirmForm(),
        undelivered=mail.undelivered(),
        bad_cursor=bad_cursor,
        next_url=url_for("admin.sent_mail", cursor=page.next_cursor) if page.next_cursor else None,
        prev_url=url_for("admin.sent_mail", cursor=page.prev_cursor) if page.prev_cursor else None,
    )


@bp.get("/mail/<int:outbox_id>")
@role_required("business_manager")
def read_mail(outbox_id: int):
    row = Outbox.get_or_none(Outbox.id == outbox_id)
    if row is None:
        abort(404)
    message = mail.message_for_reading(row, current_app)
    text = message.get_body(("plain",)).get_content()
    attached = [part.get_filename() or part.get_content_type() for part in message.iter_attachments()]
    return render_template("admin/message.html", row=row, message=message, text=text, attached=attached)


@bp.post("/mail/<int:outbox_id>/resend")
@role_required("admin", "business_manager")
def resend(outbox_id: int):
    if Outbox.get_or_none(Outbox.id == outbox_id) is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        mail.requeue(outbox_id)
        flash("The email will be sent again now.")
    return redirect(url_for("admin.sent_mail"))
