"""Capability links for emailed actions.

A link's token is HMAC(secret, salt): the database keeps the salt and the
token's SHA-256 only, so a copy of the database cannot act on a case, yet the
mail sender can rebuild the same URL for every retry of the same message.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

from peewee import fn

from portal.addresses import InvalidAddress, normalise_address
from portal.models import ActionLink, Escalation, Event, utcnow

ACTIONS = ("resolve", "escalate", "decide", "agree", "contest", "document")  # document: opens a copy's PDF
AFTER_RESOLUTION = ("agree", "contest")  # the other side's answer to a resolution: they act on a resolved case
_secret: bytes | None = None
_grace = dt.timedelta(hours=72)  # LINK_GRACE_HOURS: a manager acting the morning after the deadline is not refused


class LinkRefused(Exception):
    """Why a link cannot act: unknown, used, expired or superseded."""

    def __init__(self, reason: str, link: ActionLink | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.link = link


def init_links(secret: str, grace_hours: int) -> None:
    """From settings: the secret tokens derive from, and how long a link outlives its stage's deadline."""
    global _grace
    init_secret(secret)
    _grace = dt.timedelta(hours=grace_hours)


def init_secret(secret: str) -> None:
    global _secret
    _secret = hashlib.sha256(b"action-links:" + secret.encode()).digest()


def _token_for(salt: str) -> str:
    if _secret is None:
        raise RuntimeError("links.init_secret() has not been called")
    return base64.urlsafe_b64encode(hmac.digest(_secret, salt.encode(), "sha256")).decode().rstrip("=")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(
    escalation: Escalation,
    stage_index: int,
    recipient_email: str,
    recipient_name: str,
    action: str,
    stage_due: dt.datetime,
) -> ActionLink:
    """Create one link for one case, stage, recipient and action (call inside the transition's transaction);
    it works until the stage's deadline plus the grace period."""
    if action not in ACTIONS:
        raise ValueError(f"unknown link action {action!r}")
    salt = secrets.token_hex(32)
    return ActionLink.create(
        token_hash=hash_token(_token_for(salt)),
        salt=salt,
        escalation=escalation,
        stage_index=stage_index,
        recipient_email=recipient_email,
        recipient_name=recipient_name,
        action=action,
        expires_at=stage_due + _grace,
    )


def token_of(link: ActionLink) -> str:
    """The token to put in the emailed URL (never stored)."""
    return _token_for(link.salt)


def find_link(token: str, now: dt.datetime | None = None) -> ActionLink:
    """The link a token names, if it may still act; otherwise LinkRefused saying why."""
    if not token or len(token) > 100:
        raise LinkRefused("unknown")
    link = ActionLink.get_or_none(ActionLink.token_hash == hash_token(token))
    if link is None:
        raise LinkRefused("unknown")
    now = now or utcnow()
    if link.used_at is not None:
        raise LinkRefused("used", link)
    if link.action == "document":  # a copy for the record: whatever becomes of the case, until it expires
        if link.superseded_at is not None:
            raise LinkRefused("superseded", link)
    elif (
        link.superseded_at is not None
        or link.escalation.status != ("resolved" if link.action in AFTER_RESOLUTION else "open")
        or link.escalation.stage_index != link.stage_index
    ):
        raise LinkRefused("superseded", link)
    if link.expires_at <= now:
        raise LinkRefused("expired", link)
    return link


def supersede_links(escalation: Escalation, stage_index: int, now: dt.datetime, recipient: str = "") -> None:
    """The stage has ended (or, given a `recipient`, that person has answered): their open links stop working."""
    still_open = (
        (ActionLink.escalation == escalation)
        & (ActionLink.stage_index == stage_index)
        & ActionLink.used_at.is_null()
        & ActionLink.superseded_at.is_null()
        & (ActionLink.action != "document")  # a copy for the record outlives its stage
    )
    if recipient:
        still_open &= fn.LOWER(ActionLink.recipient_email) == recipient.lower()
    ActionLink.update(superseded_at=now).where(still_open).execute()


def keep_open(escalation: Escalation, stage_index: int, until: dt.datetime) -> None:
    """An overdue stage's open links work until the grace period after its next overdue notice, which asks their
    recipients to act (they still stop when the stage ends)."""
    expires = until + _grace
    ActionLink.update(expires_at=expires).where(
        (ActionLink.escalation == escalation)
        & (ActionLink.stage_index == stage_index)
        & ActionLink.action.not_in(AFTER_RESOLUTION)
        & ActionLink.used_at.is_null()
        & ActionLink.superseded_at.is_null()
        & (ActionLink.expires_at < expires)
    ).execute()


def use_link(link: ActionLink, now: dt.datetime) -> None:
    """Mark the link used, once: a second concurrent POST finds it taken."""
    taken = ActionLink.update(used_at=now).where((ActionLink.id == link.id) & ActionLink.used_at.is_null()).execute()
    if not taken:
        raise LinkRefused("used", link)


def address_matches(link: ActionLink, typed: str, now: dt.datetime | None = None) -> bool:
    """Whether someone at a link typed the address it was sent to, before it shows a child's details to an address
    not approved for them. A wrong one is counted on the case (an event, without what was typed); the views slow
    repeated wrong tries down with the sign-in throttle."""
    try:
        matches = normalise_address(typed or "") == link.recipient_email.strip().lower()
    except InvalidAddress:
        matches = False
    if not matches:
        Event.create(
            escalation=link.escalation_id,
            at=now or utcnow(),
            kind="address_refused",
            stage_index=link.stage_index,
            data={"link": link.id, "via": "emailed link"},
        )
    return matches
