"""Fixtures: a fresh database per test (SQLite file; PostgreSQL too when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from portal import create_app
from portal.cli import upgrade_database
from portal.db import database, init_database
from portal.models import MODELS

DATA = Path(__file__).parent / "data"
TEST_PROCEDURE = str(DATA / "three_stage.toml")


@pytest.fixture(scope="session")
def postgres_url():
    """One scratch PostgreSQL database for the session, migrated once, dropped at the end."""
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("TEST_DATABASE_URL is not set: the PostgreSQL runs are skipped")
    name = f"escalation_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    admin.cursor().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    init_database(url)
    upgrade_database()
    yield url
    database.close()
    admin.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


def _empty_postgres(url: str) -> None:
    init_database(url)
    tables = ", ".join(f'"{m._meta.table_name}"' for m in MODELS)
    with database.connection_context():
        database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A migrated, empty database for this test."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        _empty_postgres(url)
        return url
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    init_database(url)
    upgrade_database()
    return url


@pytest.fixture
def db(database_url):
    init_database(database_url)
    database.connect(reuse_if_open=True)
    yield database
    database.close()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
            "PROCEDURE": TEST_PROCEDURE,
            "MAIL_FILE_DIR": str(tmp_path / "outbox"),
        }
    )
    yield app
    database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
