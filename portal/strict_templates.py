"""Email and PDF templates render with StrictUndefined: a typo in a message or record someone receives raises
(and the document or email is marked failed where people see it) instead of printing a blank where a deadline
or a name should be. Pages keep Jinja's default, which the GOV.UK macros rely on for their optional params."""

from __future__ import annotations

from flask import Flask
from jinja2 import StrictUndefined, Template


def init_strict_templates(app: Flask) -> None:
    # Its own cache: an overlay otherwise starts with copies of templates compiled leniently.
    app.extensions["strict_templates"] = app.jinja_env.overlay(undefined=StrictUndefined, cache_size=400)


def strict_template(app: Flask, name: str) -> Template:
    return app.extensions["strict_templates"].get_template(name)
