"""Throttling: guessing slows down, the owner is never locked out, and emailed-link guessing gets 429."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from portal.db import database
from portal.models import ThrottleCount
from portal.throttle import remove_expired
from tests.web.conftest import sign_in, token

WRONG = "not the password at all"


def attempt(client, email: str, password: str, address: str, csrf: str):
    return client.post(
        "/sign-in",
        data={"csrf_token": csrf, "email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def sign_out(client) -> None:
    client.post("/sign-out", data={"csrf_token": token(client, "/cases/")})


def test_500_wrong_passwords_from_other_clients_never_keep_the_owner_out(app, people, clock):
    owner = people["manager"]
    browser = app.test_client()
    assert sign_in(browser, owner).headers["Location"] == "/cases/"  # this browser is now known to the account
    sign_out(browser)
    attacker = app.test_client()
    csrf = token(attacker, "/sign-in")
    statuses: Counter[int] = Counter()
    for n in range(500):
        response = attempt(attacker, owner.email, f"{WRONG} {n}", f"203.0.113.{n % 60}", csrf)
        statuses[response.status_code] += 1
        if response.status_code == 429:
            assert "Too many attempts" in response.get_data(as_text=True)
            assert 0 < int(response.headers["Retry-After"]) <= 3600
        if n % 25 == 0:  # the owner, on the browser they use, gets straight in throughout the attack
            assert sign_in(browser, owner).headers.get("Location") == "/cases/", f"owner refused after {n} guesses"
            sign_out(browser)
        clock.shift(dt.timedelta(seconds=10))
    # 500 guesses over 83 minutes: the account's limits (5 a minute, 20 an hour) let through about 40 of them
    assert statuses[429] >= 450 and statuses[200] <= 45, statuses
    # On a browser it has never used, the owner waits at most the longest window (an hour), then gets in.
    laptop = app.test_client()
    assert sign_in(laptop, owner).status_code == 429
    clock.shift(dt.timedelta(hours=1))
    assert sign_in(laptop, owner).headers.get("Location") == "/cases/"


def test_one_address_guessing_at_many_accounts_is_throttled(app, people, clock):
    attacker = app.test_client()
    csrf = token(attacker, "/sign-in")
    codes = [attempt(attacker, f"someone{n}@x.example", WRONG, "198.51.100.7", csrf).status_code for n in range(12)]
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]
    # Another client is not slowed by it, and the throttled one waits at most a minute at first.
    assert sign_in(app.test_client(), people["raiser"]).headers["Location"] == "/cases/"
    clock.shift(dt.timedelta(minutes=1))
    assert attempt(attacker, "someone@x.example", WRONG, "198.51.100.7", csrf).status_code == 200


def test_a_known_browser_is_throttled_too_when_it_guesses(app, people, clock):
    browser = app.test_client()
    sign_in(browser, people["raiser"])
    sign_out(browser)
    codes = [sign_in(browser, people["raiser"], WRONG).status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429
    clock.shift(dt.timedelta(minutes=1))
    assert sign_in(browser, people["raiser"]).headers["Location"] == "/cases/"


def test_a_forged_device_cookie_is_ignored(app, people, clock):
    owner = people["raiser"]
    attacker = app.test_client()
    attacker.set_cookie("portal-device", "eyJuIjoiYSIsInUiOlsxXX0.forged")
    csrf = token(attacker, "/sign-in")
    codes = [attempt(attacker, owner.email, WRONG, f"192.0.2.{n}", csrf).status_code for n in range(6)]
    assert codes == [200] * 5 + [429]  # counted against the account, as any unknown browser


@pytest.mark.both_engines
def test_counters_hold_no_address_and_expire(app, people, clock):
    attacker = app.test_client()
    csrf = token(attacker, "/sign-in")
    attempt(attacker, people["raiser"].email, WRONG, "192.0.2.55", csrf)
    with database.connection_context():
        keys = [row.key for row in ThrottleCount.select()]
        assert len(keys) == 5  # address: minute, hour, day; account: minute, hour
        assert not any("192.0.2.55" in key or people["raiser"].email in key for key in keys)
        clock.shift(dt.timedelta(days=1, seconds=1))
        assert remove_expired() == 5


def test_guessing_emailed_links_gets_429(app, clock):
    guesser, other = app.test_client(), app.test_client()
    codes = [
        guesser.get(f"/a/{'x' * 43}{n}", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code for n in range(21)
    ]
    assert codes == [404] * 20 + [429]
    assert "Too many attempts" in guesser.get("/a/anything", environ_base={"REMOTE_ADDR": "203.0.113.9"}).text
    assert other.get("/a/anything", environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code == 404
    clock.shift(dt.timedelta(minutes=1))
    assert guesser.get("/a/anything", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404


def test_a_throttled_client_whose_link_form_expired_gets_429_not_500(app, clock):
    guesser = app.test_client()
    for n in range(20):
        guesser.get(f"/a/unknown{n}", environ_base={"REMOTE_ADDR": "203.0.113.11"})
    response = guesser.post("/a/unknown", data={"statement": "x"}, environ_base={"REMOTE_ADDR": "203.0.113.11"})
    assert response.status_code == 429


@pytest.mark.redis
def test_with_redis_configured_the_counters_live_there(database_url, tmp_path, people, clock):
    """Several web servers share one Redis (the huey one): a guess counted on one is seen by all."""
    import os
    import uuid

    from tests.conftest import test_app

    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("TEST_REDIS_URL is not set: the Redis run is skipped")
    name = f"throttle-test-{uuid.uuid4().hex[:8]}"  # its own keys in a shared Redis database
    first, second = (test_app(database_url, tmp_path / n, HUEY_URL=redis_url, HUEY_NAME=name) for n in "ab")
    client = first.test_client()
    csrf = token(client, "/sign-in")
    for n in range(5):
        attempt(client, people["raiser"].email, WRONG, f"192.0.2.{n}", csrf)
    other = second.test_client()
    assert attempt(other, people["raiser"].email, WRONG, "192.0.2.99", token(other, "/sign-in")).status_code == 429
    with database.connection_context():
        assert ThrottleCount.select().count() == 0
