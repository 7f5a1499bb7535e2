"""Accounts: administrators create, change, disable, re-enable and reset them from the browser or `flask users`;
owners set their password from an emailed link (received over real SMTP) and change it themselves."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.db import database
from portal.models import Outbox, User, UserSession
from tasks.mail import send_outbox
from tests import factories
from tests.web.conftest import sign_in, text_of_page, token

LINK = re.compile(r"https?://[^\s/]+(/account/password/[A-Za-z0-9_-]{40,})")
NEW_PASSWORD = "tulip gravel orbit seventy"


@pytest.fixture
def smtp_app(app, smtp_server):
    """Sending through `smtp_server`, the test sending each email itself; no app context stays pushed, so each
    request has its own `g` (Flask-WTF keeps the CSRF token there)."""
    from portal import mail

    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST=smtp_server.host, SMTP_PORT=smtp_server.port, SMTP_TIMEOUT=5.0)
    mail.set_waker(None)
    return app


def deliver(app) -> None:
    with app.app_context(), database.connection_context():
        for row in Outbox.select().where(Outbox.status == "pending"):
            send_outbox.call_local(row.id)


def link_in(message) -> str:
    match = LINK.search(message.get_body(("plain",)).get_content())
    assert match, message.get_body(("plain",)).get_content()
    return match.group(1)


def set_password(client, path: str, password: str):
    return client.post(path, data={"csrf_token": token(client, path), "password": password})


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": token(client, "/admin/accounts"), **data})


def test_an_administrator_creates_an_account_whose_owner_sets_a_password_from_the_email(
    smtp_server, smtp_app, people, clock
):
    admin = smtp_app.test_client()
    sign_in(admin, people["admin"])
    response = admin.post(
        "/admin/accounts/new",
        data={
            "csrf_token": token(admin, "/admin/accounts/new"),
            "email": "New.Person@Police.example",
            "name": "Nia Person",
            "role": "practitioner",
            "agency": people["theirs"].name,
        },
    )
    assert response.status_code == 302
    assert "Nia Person" in text_of_page(admin.get("/admin/accounts").text)
    deliver(smtp_app)
    [message] = smtp_server.messages
    assert message["To"].addresses[0].addr_spec == "new.person@police.example"
    assert message["Subject"] == "Set your password"
    path = link_in(message)
    with database.connection_context():  # the database never holds the token
        assert not any(path.rsplit("/", 1)[1] in str(row) for row in database.execute_sql("SELECT * FROM account_link"))

    owner = smtp_app.test_client()
    assert owner.get(path).status_code == 200
    refused = set_password(owner, path, "password1234")
    assert refused.status_code == 400 and "most common passwords" in refused.text
    assert set_password(owner, path, NEW_PASSWORD).headers["Location"] == "/sign-in"
    assert sign_in(owner, User(email="new.person@police.example"), NEW_PASSWORD).headers["Location"] == "/cases/"
    assert smtp_app.test_client().get(path).status_code == 404  # single use


def test_a_link_lasts_24_hours_and_a_newer_one_replaces_it(smtp_server, smtp_app, people, clock, runner):
    assert runner.invoke(args=["users", "create", "late@x.example", "--name", "Lee Late"]).exit_code == 0
    assert runner.invoke(args=["users", "reset", "late@x.example"]).exit_code == 0
    deliver(smtp_app)
    first, second = (link_in(m) for m in smtp_server.messages)
    client = smtp_app.test_client()
    assert client.get(first).status_code == 404  # replaced by the second
    clock.shift(dt.timedelta(hours=24, minutes=1))
    assert client.get(second).status_code == 404
    assert "Ask your portal administrator" in client.get(second).text


def test_disabling_ends_a_live_session_at_once_and_enabling_lets_them_back(app, people):
    victim, admin = app.test_client(), app.test_client()
    sign_in(victim, people["raiser"])
    assert victim.get("/cases/").status_code == 200
    sign_in(admin, people["admin"])
    assert post(admin, f"/admin/accounts/{people['raiser'].id}/active").status_code == 302
    with database.connection_context():
        assert UserSession.select().where(UserSession.user == people["raiser"].id).count() == 0
    assert victim.get("/cases/").status_code == 302
    assert sign_in(victim, people["raiser"]).headers.get("Location") is None
    post(admin, f"/admin/accounts/{people['raiser'].id}/active")
    assert sign_in(victim, people["raiser"]).headers["Location"] == "/cases/"


def test_a_reset_link_sets_a_new_password_and_signs_out_everywhere(smtp_server, smtp_app, people, clock):
    victim, admin = smtp_app.test_client(), smtp_app.test_client()
    sign_in(victim, people["raiser"])
    sign_in(admin, people["admin"])
    post(admin, f"/admin/accounts/{people['raiser'].id}/reset")
    deliver(smtp_app)
    path = link_in(smtp_server.messages[-1])
    assert "administrator has asked" in smtp_server.messages[-1].get_body(("plain",)).get_content()
    assert sign_in(smtp_app.test_client(), people["raiser"]).headers["Location"] == "/cases/"  # old one until used
    owner = smtp_app.test_client()
    set_password(owner, path, NEW_PASSWORD)
    assert victim.get("/cases/").status_code == 302
    assert sign_in(owner, people["raiser"]).headers.get("Location") is None
    assert sign_in(owner, people["raiser"], NEW_PASSWORD).headers["Location"] == "/cases/"


def test_administrators_change_role_and_agency_but_not_their_own_role(app, people):
    admin = app.test_client()
    sign_in(admin, people["admin"])
    url = f"/admin/accounts/{people['raiser'].id}"
    assert post(admin, url, role="business_manager", agency=people["theirs"].name).status_code == 302
    with database.connection_context():
        changed = User.get_by_id(people["raiser"].id)
        assert (changed.role, changed.agency_id) == ("business_manager", people["theirs"].id)
    own = post(admin, f"/admin/accounts/{people['admin'].id}", role="practitioner", agency="")
    assert own.status_code == 400 and "your own administrator role" in own.text
    assert post(admin, url, role="emperor", agency="Nowhere").status_code == 400
    with database.connection_context():
        assert User.get_by_id(people["raiser"].id).role == "business_manager"


@pytest.mark.parametrize("who", ["raiser", "manager"])
def test_only_administrators_manage_accounts(app, people, who):
    client = app.test_client()
    sign_in(client, people[who])
    for url in ("/admin/accounts", "/admin/accounts/new", f"/admin/accounts/{people['raiser'].id}"):
        assert client.get(url).status_code == 404
    assert post(client, f"/admin/accounts/{people['admin'].id}/active").status_code == 404
    with database.connection_context():
        assert User.get_by_id(people["admin"].id).active


def test_administrators_raise_no_escalations(app, people):
    client = app.test_client()
    sign_in(client, people["admin"])
    assert client.get("/raise/").status_code == 404
    assert "Raise an escalation" not in client.get("/cases/").text


def test_users_change_their_own_password(app, people):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, people["raiser"])
    sign_in(elsewhere, people["raiser"])
    url = "/account/password"

    def change(current: str, new: str):
        return here.post(url, data={"csrf_token": token(here, url), "current": current, "password": new})

    assert "Enter a new password" in change(factories.PASSWORD, "").text
    assert "current password is not correct" in change("wrong", NEW_PASSWORD).text
    assert "most common passwords" in change(factories.PASSWORD, "qwertyuiop123").text
    assert "12 characters or more" in change(factories.PASSWORD, "short one").text
    assert change(factories.PASSWORD, NEW_PASSWORD).headers["Location"] == "/cases/"
    assert here.get("/cases/").status_code == 200 and elsewhere.get("/cases/").status_code == 302
    assert sign_in(app.test_client(), people["raiser"], NEW_PASSWORD).headers["Location"] == "/cases/"


def test_users_commands(runner, app, people):
    listed = runner.invoke(args=["users", "list"]).output
    assert people["raiser"].email in listed and "business_manager" in listed
    email = people["raiser"].email
    changed = runner.invoke(args=["users", "change", email, "--role", "business_manager", "--agency", "Police"])
    assert changed.exit_code == 0 and "business_manager, Police" in changed.output
    assert runner.invoke(args=["users", "disable", email]).exit_code == 0
    with database.connection_context():
        assert not User.get(User.email == email).active
    assert "disabled" in runner.invoke(args=["users", "list"]).output
    assert runner.invoke(args=["users", "reset", email]).exit_code == 1  # enable it first
    assert runner.invoke(args=["users", "enable", email]).exit_code == 0
    assert runner.invoke(args=["users", "reset", email]).exit_code == 0
    missing = runner.invoke(args=["users", "disable", "nobody@x.example"])
    assert missing.exit_code == 1 and "no account" in missing.stderr
