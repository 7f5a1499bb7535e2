"""Throttling guesses (passwords, emailed links, typed addresses) without letting anyone lock an owner out.

Each kind of guess has limits that grow (a few a minute, then fewer an hour, then a day); only failures count.
A browser an account has signed in from before carries a signed device cookie and has a bucket of its own, so
an attacker's failures never slow the owner there (docs/security.md, 'Throttling').

Counters live in the huey Redis when HUEY_URL is redis://, otherwise in the `throttle_count` table. Keys are
hashed: neither store holds an address or an email in clear.

Using it from a route (e.g. a form that asks for the address a link was sent to)::

    @bp.route(...)
    @throttle.guarded("link-address")          # 429 before the view while this client is throttled
    def view(...):
        throttle.check("link-check", str(link.id))   # and any other bucket the view knows of
        if wrong:
            throttle.failed("link-check", str(link.id))
            throttle.failed("link-address", throttle.client_address())
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
import time
from functools import wraps

from flask import Flask, after_this_request, current_app, request
from flask_limiter import Limiter
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse_many
from limits.storage import Storage
from peewee import PeeweeException
from werkzeug.exceptions import TooManyRequests

from portal.db import database
from portal.models import ThrottleCount, User, utcnow

# What each kind allows before a wait; the wait grows as the larger windows fill.
KINDS = {
    "sign-in-address": "10/minute;30/hour;100/day",  # one client, any accounts, from browsers not known to them
    "sign-in-account": "5/minute;20/hour",  # one account, from browsers it has not signed in from
    "sign-in-device": "10/minute;40/hour",  # one account from one browser it has signed in from before
    "link-address": "20/minute;60/hour;200/day",  # one client's unknown emailed links and wrong addresses
    "link-check": "5/minute;20/hour",  # wrong addresses typed for one emailed link
    "second-factor": "5/minute;20/hour",  # wrong codes for one account
}
DEVICE_LIFETIME = dt.timedelta(days=365)
DEVICE_ACCOUNTS = 10  # a shared computer remembers at most this many accounts

limiter = Limiter(key_func=lambda: client_address(), strategy="fixed-window")


class Throttled(TooManyRequests):
    """429, with how long to wait in words and in Retry-After."""

    def __init__(self, wait: int) -> None:
        minutes = max(1, math.ceil(wait / 60))
        super().__init__(
            f"There have been too many attempts. Wait {minutes} minute{'s' if minutes != 1 else ''}, then try again."
        )
        self.retry_after = wait


class DatabaseStorage(Storage):
    """Counters in the portal's own database, for deployments without Redis (limits' storage interface)."""

    STORAGE_SCHEME = ["portaldb"]

    @property
    def base_exceptions(self):
        return PeeweeException

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = utcnow()
        with database.atomic():
            ThrottleCount.delete().where((ThrottleCount.key == key) & (ThrottleCount.expires_at <= now)).execute()
            ThrottleCount.insert(key=key, count=amount, expires_at=now + dt.timedelta(seconds=expiry)).on_conflict(
                conflict_target=[ThrottleCount.key], update={ThrottleCount.count: ThrottleCount.count + amount}
            ).execute()
            return ThrottleCount.get(ThrottleCount.key == key).count

    def _live(self, key: str) -> ThrottleCount | None:
        return ThrottleCount.get_or_none((ThrottleCount.key == key) & (ThrottleCount.expires_at > utcnow()))

    def get(self, key: str) -> int:
        row = self._live(key)
        return row.count if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return row.expires_at.timestamp() if row else time.time()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        return ThrottleCount.delete().execute()

    def clear(self, key: str) -> None:
        ThrottleCount.delete().where(ThrottleCount.key == key).execute()


def remove_expired() -> int:
    """Counters whose window has passed (the daily clean-up task)."""
    return ThrottleCount.delete().where(ThrottleCount.expires_at <= utcnow()).execute()


def client_address() -> str:
    return request.remote_addr or "unknown"


def _identifiers(kind: str, key: str) -> tuple[str, str, str]:
    """The portal's name (portals may share a Redis), the kind, and the key hashed under the secret key."""
    digest = hmac.new(current_app.secret_key.encode(), f"{kind}:{key}".encode(), hashlib.sha256).hexdigest()[:40]
    return current_app.config["HUEY_NAME"], kind, digest


def wait(kind: str, key: str) -> int:
    """Seconds before this bucket takes another guess; 0 when it takes one now."""
    longest = 0.0
    for item in parse_many(KINDS[kind]):
        if not limiter.limiter.test(item, *_identifiers(kind, key)):
            reset, _remaining = limiter.limiter.get_window_stats(item, *_identifiers(kind, key))
            longest = max(longest, reset - time.time())
    return math.ceil(longest)


def check(kind: str, key: str) -> None:
    """Raise Throttled (429) while this bucket is throttled."""
    if seconds := wait(kind, key):
        raise Throttled(seconds)


def failed(kind: str, key: str) -> None:
    """Count one failed guess against this bucket."""
    for item in parse_many(KINDS[kind]):
        limiter.limiter.hit(item, *_identifiers(kind, key))


def guarded(kind: str, key=client_address):
    """Refuse the route with 429 while the bucket `key()` names (by default the client's address) is throttled."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            check(kind, key())
            return view(*args, **kwargs)

        return wrapped

    return decorate


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="device")


def _cookie_name() -> str:
    """Bound to the exact host over HTTPS, as the session cookie is."""
    return "__Host-portal-device" if current_app.config["SESSION_COOKIE_SECURE"] else "portal-device"


def _device() -> dict:
    """This browser's device cookie: a random id and the accounts that have signed in here."""
    try:
        value = _devices().loads(request.cookies.get(_cookie_name(), ""), max_age=int(DEVICE_LIFETIME.total_seconds()))
    except BadSignature:
        return {}
    return value if isinstance(value, dict) and isinstance(value.get("u"), list) else {}


def sign_in_buckets(email: str, user: User | None) -> list[tuple[str, str]]:
    """A browser the account signed in from before counts only against itself; any other against the client
    address and the account (unknown addresses too, so that they look the same)."""
    device = _device()
    if user is not None and user.id in device.get("u", []):
        return [("sign-in-device", f"{user.id}:{device['n']}")]
    return [("sign-in-address", client_address()), ("sign-in-account", email)]


def remember_device(user: User) -> None:
    """After a successful sign-in: this browser is now known to the account."""
    device = _device() or {"n": secrets.token_urlsafe(16), "u": []}
    device["u"] = ([user.id] + [uid for uid in device["u"] if uid != user.id])[:DEVICE_ACCOUNTS]
    secure = current_app.config["SESSION_COOKIE_SECURE"]

    @after_this_request
    def _set(response):
        response.set_cookie(
            _cookie_name(),
            _devices().dumps(device),
            max_age=int(DEVICE_LIFETIME.total_seconds()),
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
        return response


def init_throttle(app: Flask) -> None:
    huey_url = app.config["HUEY_URL"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", huey_url if huey_url.startswith("redis://") else "portaldb://")
    limiter.init_app(app)
