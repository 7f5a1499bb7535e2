"""Settings that do what the documentation says: each changes behaviour here."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from jinja2 import UndefinedError

from portal import links
from portal.config import ROOT
from portal.db import database
from portal.models import ActionLink, StageRecord
from portal.strict_templates import strict_template
from tests import factories
from tests.conftest import test_app
from tests.web.conftest import sign_in, token

UTC = dt.UTC
RAISED = dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
REFUSED_ADDRESS = "jo..smith@police.example"  # two dots in a row: mail systems refuse it


@pytest.mark.parametrize("grace_hours", [1, 72])
def test_link_grace_hours_is_how_long_a_link_outlives_its_stage_deadline(database_url, tmp_path, grace_hours):
    app = test_app(database_url, tmp_path, LINK_GRACE_HOURS=grace_hours)
    with app.app_context(), database.connection_context():
        raiser, _, theirs = factories.world()
        case = factories.escalation(raiser, theirs, RAISED)
        due = StageRecord.get(StageRecord.escalation == case).due_at
        link = ActionLink.select().where(ActionLink.escalation == case).first()
        assert link.expires_at == due + dt.timedelta(hours=grace_hours)
        token_ = links.token_of(link)
        two_hours_late = due + dt.timedelta(hours=2)
        if grace_hours == 1:
            with pytest.raises(links.LinkRefused, match="expired"):
                links.find_link(token_, now=two_hours_late)
        else:
            assert links.find_link(token_, now=two_hours_late).id == link.id
    database.close()


def test_static_files_are_served_at_versioned_urls_and_only_those_are_kept_for_a_year(client):
    css = (ROOT / "static" / "css" / "portal.css").read_bytes()
    version = hashlib.sha256(css).hexdigest()[:12]
    page = client.get("/sign-in").get_data(as_text=True)
    assert f'href="/static/css/portal.css?v={version}"' in page
    assert re.search(r'src="/static/js/portal\.js\?v=[0-9a-f]{12}"', page)
    versioned = client.get(f"/static/css/portal.css?v={version}")
    assert versioned.status_code == 200
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for stale in ("/static/css/portal.css", "/static/css/portal.css?v=000000000000"):
        assert client.get(stale).headers["Cache-Control"] == "no-cache", stale


def test_a_changed_static_file_gets_a_new_url(app, tmp_path):
    app.static_folder = str(tmp_path)
    (tmp_path / "site.css").write_text("body { color: black }")
    with app.test_request_context():
        from flask import url_for

        before = url_for("static", filename="site.css")
        (tmp_path / "site.css").write_text("body { color: #0b0c0c }")
        after = url_for("static", filename="site.css")
    assert before != after and before.startswith("/static/site.css?v=")


def test_a_typo_in_an_email_or_pdf_template_raises_instead_of_printing_a_blank(app):
    typo = "Deadline: {{ deadlne }}"
    with app.app_context():
        assert app.jinja_env.from_string(typo).render(deadline="Friday") == "Deadline: "  # pages: Jinja's default
        strict = app.extensions["strict_templates"]
        with pytest.raises(UndefinedError, match="deadlne"):
            strict.from_string(typo).render(deadline="Friday")
        template = strict_template(app, "email/stage_started.txt")
        with pytest.raises(UndefinedError):
            template.render({})  # an email rendered without its context raises, never sends blanks


def test_the_command_line_refuses_an_address_the_forms_refuse(runner):
    result = runner.invoke(args=["users", "create", REFUSED_ADDRESS, "--password", "a long enough password"])
    assert result.exit_code == 1
    assert "is not an email address (an email address cannot have two periods in a row)" in result.output


def test_the_csv_import_refuses_an_address_the_forms_refuse(runner, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(f"agency,role,name,email\nMetropolitan Police,line_manager,Jo Smith,{REFUSED_ADDRESS}\n")
    result = runner.invoke(args=["directory", "import", str(path)])
    assert result.exit_code == 1
    assert f"line 2: email '{REFUSED_ADDRESS}' is not an email address" in result.output


def test_the_contact_form_refuses_the_same_address(client, people):
    sign_in(client, people["admin"])
    url = "/admin/directory/contacts/new"
    data = {"agency": str(people["theirs"].id), "role": "line_manager", "name": "Jo Smith", "email": REFUSED_ADDRESS}
    refused = client.post(url, data={"csrf_token": token(client, url), **data})
    assert refused.status_code == 400
    assert "Enter an email address in the correct format, like name@example.org" in refused.get_data(as_text=True)
