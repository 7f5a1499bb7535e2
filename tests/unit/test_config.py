"""Settings: safe defaults for the demo, refusal to run production without a real secret."""

from __future__ import annotations

import pytest

from portal.config import ConfigError, load_config


def test_development_generates_and_keeps_a_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_config({"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    assert len(first) == 64
    assert load_config({"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"] == first
    assert (tmp_path / "dev-secret-key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("secret", [None, "too-short"])
def test_production_refuses_a_missing_or_short_secret(tmp_path, monkeypatch, secret):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({"INSTANCE_PATH": str(tmp_path), "PRODUCTION": True, "SECRET_KEY": secret})
    assert not (tmp_path / "dev-secret-key").exists()


def test_production_refuses_the_development_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    dev = load_config({"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    with pytest.raises(ConfigError, match="development key"):
        load_config({"INSTANCE_PATH": str(tmp_path), "PRODUCTION": True, "SECRET_KEY": dev})


def test_defaults_keep_everything_under_instance(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "HUEY_URL", "MAIL_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    config = load_config({"INSTANCE_PATH": str(tmp_path)})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'portal.db'}"
    assert config["HUEY_URL"] == f"sqlite:///{tmp_path / 'huey.db'}"
    assert config["MAIL_BACKEND"] == "file"


def _production(tmp_path, **settings) -> dict:
    private = tmp_path / "private"
    private.mkdir(mode=0o700, exist_ok=True)
    return {
        "INSTANCE_PATH": str(tmp_path),
        "PRODUCTION": True,
        "SECRET_KEY": "8f1c2e7a9b0d4f6e3a5c7b9d1e2f4a6c8e0b2d4f6a8c0e2b",
        "MAIL_BACKEND": "smtp",
        "DATABASE_URL": f"sqlite:///{private / 'portal.db'}",
        **settings,
    }


def test_production_starts_with_safe_settings(tmp_path):
    assert load_config(_production(tmp_path))["PRODUCTION"] is True


@pytest.mark.parametrize(
    ("unsafe", "fix"),
    [
        ({"MAIL_BACKEND": "file"}, "set MAIL_BACKEND=smtp and SMTP_HOST"),
        ({"SECRET_KEY": "a" * 64}, "set a random one"),
        ({"SECRET_KEY": "abcabcabcabcabcabcabcabcabcabcabcabc"}, "set a random one"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set to at least 32 characters"),
        ({"DATABASE_URL": "world"}, "run chmod 700"),
    ],
)
def test_production_refuses_each_unsafe_setting_saying_what_to_change(tmp_path, unsafe, fix):
    if unsafe.get("DATABASE_URL") == "world":
        shared = tmp_path / "shared"
        shared.mkdir()
        shared.chmod(0o755)
        unsafe = {"DATABASE_URL": f"sqlite:///{shared / 'portal.db'}"}
    with pytest.raises(ConfigError, match=fix):
        load_config(_production(tmp_path, **unsafe))


def test_the_portal_keeps_its_files_and_folders_private(tmp_path):
    from portal import create_app, mail
    from portal.models import Outbox

    instance, data = tmp_path / "instance", tmp_path / "data"
    data.mkdir()
    database_file = data / "portal.db"
    database_file.write_bytes(b"")
    database_file.chmod(0o644)
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
            "DATABASE_URL": f"sqlite:///{database_file}",
            "HUEY_URL": f"sqlite:///{instance / 'huey.db'}",
        }
    )
    assert instance.stat().st_mode & 0o777 == 0o700
    assert database_file.stat().st_mode & 0o777 == 0o600
    written = mail.write_eml(mail.EmailMessage(), Outbox(id=1, created_at=mail.utcnow()), app.config)
    assert written.stat().st_mode & 0o777 == 0o600 and written.parent.stat().st_mode & 0o777 == 0o700
    created = tmp_path / "made-later"
    created.mkdir()
    (created / "f").write_text("x")
    assert created.stat().st_mode & 0o777 == 0o700 and (created / "f").stat().st_mode & 0o777 == 0o600
