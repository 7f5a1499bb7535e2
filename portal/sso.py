"""Optional single sign-on with the council's OpenID Connect provider (Authlib), off unless OIDC_ISSUER is set.

The provider proves who someone is; the portal still decides what they may do: an ID token's email must be
verified (`email_verified`) and belong to an active account here, which keeps its role, agency and second
factor. Nobody gets an account by signing in.
"""

from __future__ import annotations

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from portal.models import User


class NotAllowed(Exception):
    """Why someone the provider vouched for cannot sign in here, in words for them."""


def init_sso(app: Flask) -> None:
    issuer = app.config.get("OIDC_ISSUER")
    if not issuer:
        return
    oauth = OAuth(app)
    oauth.register(
        "council",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "timeout": 10},
    )
    app.extensions["sso"] = oauth.council


def client():
    """The provider's client, or None when single sign-on is off."""
    return current_app.extensions.get("sso")


def account_for(claims: dict) -> User:
    """The active account the provider's verified email names."""
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is not True:
        raise NotAllowed(
            "Your council account did not confirm an email address, so the portal cannot tell who you are."
        )
    user = User.get_or_none(User.email == email)
    if user is None or not user.active:
        raise NotAllowed(f"There is no active portal account for {email}. Ask your portal administrator for one.")
    return user
