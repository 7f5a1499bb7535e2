"""Security headers on every response, with a fresh CSP nonce per request (docs/security.md, 'Response headers')."""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request
from werkzeug.routing import IntegerConverter

BIGINT_MAX = 2**63 - 1


class BoundedInt(IntegerConverter):
    """`<int:...>` in every route: an id no database column can hold (2^63 and more) is a 404, not a 500."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None, max: int = BIGINT_MAX) -> None:  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max)


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _headers(response: Response) -> Response:
    nonce = csp_nonce()
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: Flask-WTF refuses HTTPS POSTs without a Referer
    # (docs/security.md, 'Cross-site request forgery').
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    response.headers.pop("Server", None)
    return response


def init_security(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt  # before the blueprints' routes are added
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
