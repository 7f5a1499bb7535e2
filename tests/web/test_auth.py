"""Signing in and out: fixation, copied cookies, idle and absolute expiry."""

from __future__ import annotations

import datetime as dt

import time_machine

from portal.db import database
from portal.models import User, UserSession
from tests.web.conftest import sign_in, token


def test_sign_in_and_out(client, people):
    response = sign_in(client, people["raiser"])
    assert response.status_code == 302 and response.headers["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200
    response = client.post("/sign-out", data={"csrf_token": token(client, "/cases/")})
    assert response.status_code == 302
    assert client.get("/cases/").status_code == 302


def test_sign_out_needs_a_post_with_a_token(client, people):
    sign_in(client, people["raiser"])
    assert client.get("/sign-out").status_code == 405
    assert client.post("/sign-out").status_code == 400
    assert client.get("/cases/").status_code == 200


def test_wrong_password_and_unknown_account_look_the_same(client, people):
    wrong = sign_in(client, people["raiser"], "not the password")
    unknown = client.post(
        "/sign-in", data={"csrf_token": token(client, "/sign-in"), "email": "nobody@x.example", "password": "whatever"}
    )
    assert wrong.status_code == unknown.status_code == 200
    for response in (wrong, unknown):
        assert "Enter a correct email address and password" in response.get_data(as_text=True)


def test_empty_sign_in_shows_the_error_summary(client):
    response = client.post("/sign-in", data={"csrf_token": token(client, "/sign-in")})
    html = response.get_data(as_text=True)
    assert "There is a problem" in html and "Enter your email address" in html and "Enter your password" in html
    assert "<title>Error: Sign in" in html


def test_a_new_session_id_at_every_sign_in(app, people):
    first, second = app.test_client(), app.test_client()
    sign_in(first, people["raiser"])
    sign_in(second, people["raiser"])
    with database.connection_context():
        assert UserSession.select().where(UserSession.user == people["raiser"].id).count() == 2


def test_a_copied_cookie_dies_at_sign_out(app, people):
    client = app.test_client()
    sign_in(client, people["raiser"])
    cookie = client.get_cookie("portal").value
    client.post("/sign-out", data={"csrf_token": token(client, "/cases/")})
    thief = app.test_client()
    thief.set_cookie("portal", cookie)
    assert thief.get("/cases/").status_code == 302


def test_disabling_an_account_ends_its_sessions(client, people):
    sign_in(client, people["raiser"])
    with database.connection_context():
        User.update(active=False).where(User.id == people["raiser"].id).execute()
    assert client.get("/cases/").status_code == 302


def test_idle_and_absolute_timeouts(client, people):
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, people["raiser"])
        clock.shift(dt.timedelta(minutes=29))
        assert client.get("/cases/").status_code == 200
        clock.shift(dt.timedelta(minutes=31))
        response = client.get("/cases/")
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
        sign_in(client, people["raiser"])
        for _ in range(72):  # active every 10 minutes for exactly 12 hours: still signed in
            clock.shift(dt.timedelta(minutes=10))
            assert client.get("/cases/").status_code == 200
        clock.shift(dt.timedelta(minutes=10))  # 12 hours 10 minutes after signing in
        assert client.get("/cases/").status_code == 302


def test_next_only_goes_to_this_site(client, people):
    response = client.post(
        "/sign-in?next=//evil.example/x",
        data={
            "csrf_token": token(client, "/sign-in"),
            "email": people["raiser"].email,
            "password": "correct horse battery staple",
        },
    )
    assert response.headers["Location"] == "/cases/"
