"""Error pages in GOV.UK style, and the expired-CSRF path that keeps the user's answers.

An error page must render whatever failed, the database included: it never loads the signed-in user once the
database has failed, and it logs one line with the reference the page shows.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, abort, g, render_template, request
from flask_wtf.csrf import CSRFError
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from portal.auth import login_manager
from portal.registry import ProcedureUnavailable
from portal.throttle import Throttled

log = logging.getLogger("portal.errors")
DATABASE_DOWN = (OperationalError, InterfaceError)  # cannot connect, connection lost, database locked

PAGES = {
    400: ("There is a problem with your request", "Go back and try again."),
    403: ("You cannot do that", "If you think you should be able to, contact the partnership's business manager."),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. If you followed a link to a case, "
        "you may not be a party to it: contact the person who raised it or the partnership's business manager.",
    ),
    405: ("Page not found", "If you typed the web address, check it is correct."),
    413: ("What you sent is too large", "Go back and shorten it."),
}

# Flask-WTF's reasons (CSRFError.description) for the checks that are not about an expired or missing token.
CSRF_PAGES = {
    "The referrer header is missing.": (
        "Your browser did not say which page the form came from",
        "Over a secure connection the portal only accepts a form with the address of the page it was sent from "
        "(the Referer header), and your browser, an extension or a proxy left it out. Allow it for this site, or "
        "use another browser, then go back, reload the page and try again.",
    ),
    "The referrer does not match the host.": (
        "The form was not sent from this site",
        "The portal only accepts forms sent from its own pages. Go back to the portal, reload the page and try again.",
    ),
    None: ("Your session timed out", "Go back, reload the page and try again."),
}


def keeps_answers(view):
    """On an expired or missing CSRF token, run the view again to show the form with the answers typed."""
    view.keeps_answers = True
    return view


def _page(status: int, title: str, body: str, reference: str = ""):
    return render_template("errors/page.html", title=title, body=body, reference=reference), status


def init_errors(app: Flask) -> None:
    @app.before_request
    def _no_nul_in_paths() -> None:
        """No route has a NUL in its address, and PostgreSQL refuses one in a query: 404, not a 500."""
        if "\x00" in request.path:
            abort(404)

    def _throttled(error: Throttled):
        log.warning("throttled endpoint=%s ip=%s", request.endpoint, request.remote_addr)
        page, status = _page(429, "Too many attempts", error.description)
        return page, status, {"Retry-After": str(error.retry_after)}

    app.register_error_handler(Throttled, _throttled)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        log.warning("CSRF check failed endpoint=%s reason=%s", request.endpoint, error.description)
        view = app.view_functions.get(request.endpoint or "")
        if view is not None and getattr(view, "keeps_answers", False):
            g.csrf_failed = error.description  # PortalForm words its message by this reason
            try:
                response = app.make_response(view(**(request.view_args or {})))
            except Throttled as throttled:  # raised inside this handler, Flask would not route it to its own
                return _throttled(throttled)
            response.status_code = 400
            return response
        title, body = CSRF_PAGES.get(error.description, CSRF_PAGES[None])
        return _page(400, title, body)

    @app.errorhandler(ProcedureUnavailable)
    def _procedure_unavailable(error: ProcedureUnavailable):
        """An action on a case whose procedure cannot be loaded (the registry logged why): the case page still
        shows the record, with this reason."""
        return _page(503, "This case cannot be acted on at the moment", f"{error} Tell the portal's administrator.")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        title, body = PAGES.get(error.code or 500, (error.name, error.description or ""))
        return _page(error.code or 500, title, body)

    @app.errorhandler(Exception)
    def _server_error(error: Exception):
        reference = secrets.token_hex(4)
        if isinstance(error, DATABASE_DOWN):
            # The header would load the signed-in user from the database that has just failed: show no one.
            g.setdefault("_login_user", login_manager.anonymous_user())  # what Flask-Login caches per request
            detail = " ".join(str(error).split())[:200]
            log.error(
                "database unavailable ref=%s endpoint=%s: %s: %s",
                reference,
                request.endpoint,
                type(error).__name__,
                detail,
            )
            return _page(503, "Sorry, the service is unavailable", "Try again in a few minutes.", reference)
        log.exception("unhandled error ref=%s endpoint=%s", reference, request.endpoint)
        return _page(500, "Sorry, there is a problem with the service", "Try again later.", reference)
