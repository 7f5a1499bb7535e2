"""The escalation portal: create_app() builds the Flask application from settings."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from portal import links, mail
from portal.config import ROOT, load_config
from portal.db import database, init_database
from portal.file_modes import keep_private, sqlite_files
from portal.logs import configure_logging
from portal.proxy import trust_proxies
from portal.registry import registry
from portal.static_versions import init_static_versions
from portal.strict_templates import init_strict_templates
from portal.workdays import format_london

csrf = CSRFProtect()
log = logging.getLogger(__name__)


def _enqueue(module: str, task: str, ids: list[int]) -> None:
    """After commit, one task per row; if the queue is down, the minute sweeps do the work anyway."""
    try:
        enqueue = getattr(importlib.import_module(module), task)
        for row_id in ids:
            enqueue(row_id)
    except Exception as error:  # one line each time: a queue that is down would otherwise fill the log with tracebacks
        log.warning(
            "could not enqueue %s for rows %s (%s: %s); the minute sweep will", task, ids, type(error).__name__, error
        )


def wake_senders(outbox_ids: list[int]) -> None:
    _enqueue("tasks.mail", "send_outbox", outbox_ids)


def wake_renderers(document_ids: list[int]) -> None:
    _enqueue("tasks.documents", "render_document", document_ids)


def create_app(config: dict | None = None) -> Flask:
    configure_logging()
    settings = load_config(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(settings)
    app.config.update(
        SESSION_COOKIE_NAME="__Host-portal" if settings["PRODUCTION"] else "portal",
        SESSION_COOKIE_SECURE=settings["PRODUCTION"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings["SESSION_ABSOLUTE_HOURS"]),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (server-side) session
        SEND_FILE_MAX_AGE_DEFAULT=None,  # portal.static_versions decides, by whether the URL is versioned
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(ROOT / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.filters["london"] = format_london
    init_strict_templates(app)
    init_static_versions(app)
    keep_private(
        [Path(app.instance_path)]
        + ([Path(app.config["MAIL_FILE_DIR"])] if app.config["MAIL_BACKEND"] == "file" else []),
        sqlite_files(app.config["DATABASE_URL"]) + sqlite_files(app.config["HUEY_URL"]),
    )
    init_database(app.config["DATABASE_URL"])
    registry.configure(app.config["PROCEDURE"])
    links.init_links(app.config["SECRET_KEY"], app.config["LINK_GRACE_HOURS"])
    mail.set_waker(wake_senders)
    from portal.documents import wake_renderer

    wake_renderer.install(wake_renderers)
    csrf.init_app(app)

    from portal.auth import init_auth
    from portal.page_reuse import init_page_reuse
    from portal.security import init_security
    from portal.service_status import init_service_status
    from portal.sso import init_sso
    from portal.throttle import init_throttle
    from portal.views import display, errors

    display.init_display(app)
    init_auth(app)
    init_security(app)
    init_throttle(app)
    init_sso(app)
    init_service_status(app)
    init_page_reuse(app)
    errors.init_errors(app)

    @app.before_request
    def _connect() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()

    @app.context_processor
    def _partnership() -> dict:
        return {"partnership_name": registry.current().partnership}

    from portal.views import (
        accounts,
        actions,
        admin,
        auth,
        cases,
        deadlines,
        governance,
        inbox,
        public,
        raising,
        reports,
    )

    blueprints = (public, auth, cases, raising, actions, admin, governance, deadlines, reports, accounts, inbox)
    for blueprint in (module.bp for module in blueprints):
        app.register_blueprint(blueprint)
    inbox.init_inbox(app)

    from portal.cli import register

    register(app)
    app.wsgi_app = trust_proxies(app.wsgi_app, app.config["TRUSTED_PROXIES"])
    return app
