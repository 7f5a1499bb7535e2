"""The second factor: required roles set it up at first sign-in; codes work once; recovery codes; throttled."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest

from portal.db import database
from portal.models import User
from tests.conftest import test_app
from tests.web.conftest import sign_in, text_of_page, token

KEY = re.compile(r'id="setup-key">([A-Z2-7 ]+)<')
CODES = re.compile(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>")


@pytest.fixture
def app(database_url, tmp_path):
    yield test_app(database_url, tmp_path, SECOND_FACTOR_ROLES=("business_manager", "admin"))
    database.close()


def enter(client, url: str, code: str):
    return client.post(url, data={"csrf_token": token(client, url), "code": code})


def enrol(client, user) -> tuple[pyotp.TOTP, list[str]]:
    assert sign_in(client, user).headers["Location"] == "/sign-in/set-up"
    page = client.get("/sign-in/set-up").text
    assert "<svg" in page and client.get("/cases/").status_code == 302  # not signed in yet
    totp = pyotp.TOTP(KEY.search(page).group(1).replace(" ", ""))
    assert "The code is not correct" in enter(client, "/sign-in/set-up", "000000").text
    response = enter(client, "/sign-in/set-up", totp.now())
    assert response.headers["Location"] == "/account/recovery-codes"
    codes = CODES.findall(client.get("/account/recovery-codes").text)
    assert len(codes) == 10
    assert client.get("/account/recovery-codes").status_code == 302  # shown once
    assert client.get("/cases/").status_code == 200
    return totp, codes


def sign_out(client) -> None:
    client.post("/sign-out", data={"csrf_token": token(client, "/cases/")})


def test_the_business_manager_sets_it_up_at_first_sign_in_and_needs_a_code_after(app, people, clock):
    client = app.test_client()
    totp, codes = enrol(client, people["manager"])
    sign_out(client)
    assert sign_in(client, people["manager"]).headers["Location"] == "/sign-in/code"
    assert client.get("/cases/").status_code == 302
    assert enter(client, "/sign-in/code", totp.now()).status_code == 400  # the code used to set up: once only
    clock.shift(dt.timedelta(seconds=30))
    assert enter(client, "/sign-in/code", totp.now()).headers["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200


def test_a_recovery_code_works_once(app, people, clock):
    client = app.test_client()
    _totp, codes = enrol(client, people["admin"])
    sign_out(client)
    sign_in(client, people["admin"])
    assert enter(client, "/sign-in/code", codes[3].upper().replace("-", " ")).headers["Location"] == "/cases/"
    assert "9 left" in text_of_page(client.get("/cases/").text)
    sign_out(client)
    sign_in(client, people["admin"])
    assert "The code is not correct" in enter(client, "/sign-in/code", codes[3]).text


def test_the_code_must_follow_the_password_within_ten_minutes(app, people, clock):
    client = app.test_client()
    totp, _codes = enrol(client, people["manager"])
    sign_out(client)
    sign_in(client, people["manager"])
    csrf = token(client, "/sign-in/code")
    clock.shift(dt.timedelta(minutes=11))
    late = client.post("/sign-in/code", data={"csrf_token": csrf, "code": totp.now()})
    assert late.headers["Location"] == "/sign-in" and client.get("/cases/").status_code == 302


def test_wrong_codes_are_throttled(app, people, clock):
    client = app.test_client()
    totp, _codes = enrol(client, people["manager"])
    sign_out(client)
    sign_in(client, people["manager"])
    # The wrong code typed while setting up counts too: five a minute in all.
    assert [enter(client, "/sign-in/code", "123456").status_code for _ in range(6)] == [400] * 4 + [429, 429]
    clock.shift(dt.timedelta(minutes=1))
    assert enter(client, "/sign-in/code", totp.now()).headers["Location"] == "/cases/"


def test_others_sign_in_without_and_may_turn_it_on_and_off(app, people, clock):
    client = app.test_client()
    assert sign_in(client, people["raiser"]).headers["Location"] == "/cases/"
    page = client.get("/sign-in/set-up").text
    totp = pyotp.TOTP(KEY.search(page).group(1).replace(" ", ""))
    assert enter(client, "/sign-in/set-up", totp.now()).headers["Location"] == "/account/recovery-codes"
    sign_out(client)
    assert sign_in(client, people["raiser"]).headers["Location"] == "/sign-in/code"
    clock.shift(dt.timedelta(seconds=30))
    enter(client, "/sign-in/code", totp.now())
    url = "/account/second-factor"
    client.post(url, data={"csrf_token": token(client, url), "action": "remove"})
    sign_out(client)
    assert sign_in(client, people["raiser"]).headers["Location"] == "/cases/"


def test_an_administrator_removes_a_lost_second_factor(app, people, clock):
    manager, admin = app.test_client(), app.test_client()
    enrol(manager, people["manager"])
    sign_out(manager)
    clock.shift(dt.timedelta(seconds=30))
    enrol(admin, people["admin"])
    admin.post(
        f"/admin/accounts/{people['manager'].id}/second-factor",
        data={"csrf_token": token(admin, "/admin/accounts")},
    )
    with database.connection_context():
        assert User.get_by_id(people["manager"].id).totp_secret == ""
    assert sign_in(manager, people["manager"]).headers["Location"] == "/sign-in/set-up"  # required: set up again
