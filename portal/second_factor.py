"""A second factor: time-based codes from an authenticator app (TOTP, RFC 6238), and one-time recovery codes.

Required at sign-in for the roles in SECOND_FACTOR_ROLES (the Business Manager and administrators, who see every
case or every account), who set it up at their first sign-in; anyone else may turn it on. A code works once: the
time step of the last accepted code is kept, and an older or equal step is refused (RFC 6238 section 5.2).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
import segno
from flask import current_app
from markupsafe import Markup

from portal.db import database
from portal.models import RecoveryCode, User, utcnow
from portal.registry import registry

RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper and typed


def required(user: User) -> bool:
    return user.role in current_app.config["SECOND_FACTOR_ROLES"]


def new_secret() -> str:
    return pyotp.random_base32()


def qr_code(secret: str, email: str) -> Markup:
    """The otpauth:// URI as an inline SVG, drawn on the server: nothing leaves the portal to draw it."""
    issuer = f"{registry.current().partnership}: escalations"
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#0b0c0c", light="#ffffff", omitsize=False)
    return Markup(svg)  # noqa: S704 (segno's own markup: one <path> of module coordinates, no text of ours)


def _step(secret: str, code: str) -> int | None:
    """The time step this code belongs to (this one, the one before or after: clocks drift), or None."""
    totp = pyotp.TOTP(secret)
    now = utcnow()
    code = "".join(code.split())
    for offset in (0, -1, 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            return totp.timecode(now) + offset
    return None


def verify_new(secret: str, code: str) -> int | None:
    """While setting up: the step of a right code, to keep as the last one used."""
    return _step(secret, code)


def enrol(user: User, secret: str, step: int) -> list[str]:
    """Keep the secret; the recovery codes returned are shown once and only their hashes kept."""
    with database.atomic():
        User.update(totp_secret=secret, totp_last_step=step).where(User.id == user.id).execute()
        return _new_recovery_codes(user)


def verify(user: User, code: str) -> bool:
    """A code from the app, once; or a recovery code, once. A code's reuse is refused with one conditional update."""
    step = _step(user.totp_secret, code) if user.totp_secret else None
    if step is not None:
        with database.atomic():
            return bool(
                User.update(totp_last_step=step).where((User.id == user.id) & (User.totp_last_step < step)).execute()
            )
    return use_recovery_code(user, code)


def _hash(code: str) -> str:
    normalised = "".join(code.lower().split()).replace("-", "")
    return hmac.new(current_app.secret_key.encode(), b"recovery:" + normalised.encode(), hashlib.sha256).hexdigest()


def use_recovery_code(user: User, code: str) -> bool:
    with database.atomic():
        return bool(
            RecoveryCode.update(used_at=utcnow())
            .where(
                (RecoveryCode.user == user) & (RecoveryCode.code_hash == _hash(code)) & RecoveryCode.used_at.is_null()
            )
            .execute()
        )


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.select().where((RecoveryCode.user == user) & RecoveryCode.used_at.is_null()).count()


def _new_recovery_codes(user: User) -> list[str]:
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    codes = [f"{code[:5]}-{code[5:]}" for code in codes]
    RecoveryCode.delete().where(RecoveryCode.user == user).execute()
    RecoveryCode.insert_many([{"user": user.id, "code_hash": _hash(code)} for code in codes]).execute()
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """A new set; the old ones stop working."""
    with database.atomic():
        return _new_recovery_codes(user)


def remove(user: User) -> None:
    """Turned off by its owner (when not required) or by an administrator for someone who lost their phone and
    codes: they set it up again at their next sign-in if their role requires it."""
    with database.atomic():
        User.update(totp_secret="", totp_last_step=0).where(User.id == user.id).execute()
        RecoveryCode.delete().where(RecoveryCode.user == user).execute()
