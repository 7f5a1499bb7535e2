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
