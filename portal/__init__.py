"""The escalation portal: create_app() builds the Flask application from settings."""

from __future__ import annotations

from flask import Flask

from portal import links
from portal.config import ROOT, load_config
from portal.db import database, init_database
from portal.procedure import Procedure, load_all_procedures
from portal.workdays import format_london


def create_app(config: dict | None = None) -> Flask:
    settings = load_config(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(settings)
    init_database(app.config["DATABASE_URL"])
    links.init_secret(app.config["SECRET_KEY"])

    @app.before_request
    def _connect() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()

    app.jinja_env.filters["london"] = format_london

    from portal.views import public

    app.register_blueprint(public.bp)

    from portal.cli import register

    register(app)
    return app


def _procedures(app: Flask) -> tuple[dict[str, Procedure], Procedure]:
    """Loaded on first use, so `flask procedure check` works even when the configured file is broken."""
    if "procedures" not in app.extensions:
        app.extensions["procedures"] = load_all_procedures(app.config["PROCEDURE"])
    return app.extensions["procedures"]


def current_procedure(app: Flask) -> Procedure:
    """The partnership's procedure new cases follow."""
    return _procedures(app)[1]


def procedure_of(app: Flask, procedure_id: str) -> Procedure:
    """The procedure a case was raised under (it keeps it even if the partnership changes preset)."""
    return _procedures(app)[0][procedure_id]
