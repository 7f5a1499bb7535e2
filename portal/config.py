"""Settings from the environment, with safe defaults for the embedded demo."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("PORTAL_INSTANCE", ROOT / "instance"))
DEMO_SECRET_FILE = "dev-secret-key"  # noqa: S105 (a file name, not a secret)
MIN_DISTINCT_KEY_CHARACTERS = 12  # a hex token of 32 characters has about 16


class ConfigError(RuntimeError):
    """A setting the portal cannot run without, named so the operator can fix it."""


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def _roles(value: str) -> tuple[str, ...]:
    roles = tuple(role.strip() for role in value.split(",") if role.strip())
    unknown = [role for role in roles if role not in ("practitioner", "business_manager", "admin")]
    if unknown:
        raise ConfigError(
            f"SECOND_FACTOR_ROLES: unknown role {unknown[0]!r}: use practitioner, business_manager, admin"
        )
    return roles


def _development_secret(instance: Path) -> str:
    """A random key kept in instance/ so sessions and links survive a restart of the demo."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / DEMO_SECRET_FILE
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def queue_settings(instance: Path = INSTANCE) -> dict[str, str]:
    """Where the task queues live (`HUEY_URL`) and what they are called (`HUEY_NAME`).

    `tasks` builds its queues at import, before any app exists: hence a function of its own, without
    load_config's side effect (it may write a development secret).
    """
    return {
        "HUEY_URL": os.environ.get("HUEY_URL", f"sqlite:///{instance / 'huey.db'}"),
        "HUEY_NAME": os.environ.get("HUEY_NAME", "escalation-portal"),
    }


def load_config(overrides: dict | None = None) -> dict:
    """Every setting the portal reads, from the environment then `overrides` (tests)."""
    env = os.environ.get
    overrides = overrides or {}
    instance = Path(overrides.get("INSTANCE_PATH", INSTANCE))
    production = overrides.get("PRODUCTION", env("PORTAL_ENV", "development") == "production")
    config = {
        "PRODUCTION": production,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": env("SECRET_KEY"),
        "DATABASE_URL": env("DATABASE_URL", f"sqlite:///{instance / 'portal.db'}"),
        **queue_settings(instance),
        "PROCEDURE": env("PORTAL_PROCEDURE", "hounslow"),
        "BASE_URL": env("BASE_URL", "http://localhost:5000").rstrip("/"),
        "MAIL_BACKEND": env("MAIL_BACKEND", "file"),
        "MAIL_FILE_DIR": env("MAIL_FILE_DIR", str(instance / "outbox")),
        "MAIL_FROM": env("MAIL_FROM", "Escalation portal <escalations@portal.invalid>"),
        "SMTP_HOST": env("SMTP_HOST", "localhost"),
        "SMTP_PORT": int(env("SMTP_PORT", "25")),
        "SMTP_STARTTLS": _flag("SMTP_STARTTLS", False),
        "SMTP_USERNAME": env("SMTP_USERNAME"),
        "SMTP_PASSWORD": env("SMTP_PASSWORD"),
        "SMTP_TIMEOUT": float(env("SMTP_TIMEOUT", "30")),  # each read or write once the relay has greeted us
        "SMTP_CONNECT_TIMEOUT": float(env("SMTP_CONNECT_TIMEOUT", "10")),  # the TCP connect and the greeting
        "LINK_GRACE_HOURS": int(env("LINK_GRACE_HOURS", "72")),
        "SESSION_IDLE_MINUTES": int(env("SESSION_IDLE_MINUTES", "30")),
        "SESSION_ABSOLUTE_HOURS": int(env("SESSION_ABSOLUTE_HOURS", "12")),
        # Roles that must use a second factor (comma-separated; empty for none): those who see every case.
        "SECOND_FACTOR_ROLES": _roles(env("SECOND_FACTOR_ROLES", "business_manager,admin")),
        # Single sign-on with the council's OpenID Connect provider: off unless OIDC_ISSUER is set.
        "OIDC_ISSUER": env("OIDC_ISSUER", ""),
        "OIDC_CLIENT_ID": env("OIDC_CLIENT_ID", ""),
        "OIDC_CLIENT_SECRET": env("OIDC_CLIENT_SECRET", ""),
        "OIDC_NAME": env("OIDC_NAME", "your council account"),
        "TRUSTED_PROXIES": env("TRUSTED_PROXIES", ""),  # portal/proxy.py: a hop count or the proxies' addresses
        # How long a rendered inbox or case page may be served again to the same person while no data changed
        # (portal/page_reuse.py); 0 renders every request.
        "PAGE_REUSE_SECONDS": int(env("PAGE_REUSE_SECONDS", "30")),
        "RETENTION_YEARS": int(env("RETENTION_YEARS", "6")),  # after closure; a procedure file's retention_years wins
    }
    config.update(overrides)
    config["SECRET_KEY"] = _secret_key(config, instance)
    return config


def _secret_key(config: dict, instance: Path) -> str:
    key = config.get("SECRET_KEY")
    if config["PRODUCTION"]:
        if not key or len(key) < 32:
            raise ConfigError(
                "SECRET_KEY must be set to at least 32 characters when PORTAL_ENV=production: "
                'generate one with python3 -c "import secrets; print(secrets.token_hex(32))"'
            )
        if len(set(key)) < MIN_DISTINCT_KEY_CHARACTERS:
            raise ConfigError(
                "SECRET_KEY is too predictable (it repeats a few characters): set a random one, e.g. "
                'python3 -c "import secrets; print(secrets.token_hex(32))"'
            )
        demo = instance / DEMO_SECRET_FILE
        if demo.exists() and demo.read_text().strip() == key:
            raise ConfigError("SECRET_KEY is the generated development key: set a new one for production")
        _refuse_unsafe_production(config)
        return key
    return key or _development_secret(instance)


def _refuse_unsafe_production(config: dict) -> None:
    """Settings fine for the demo that would leak a child's data in production, each refused with its fix."""
    if config["MAIL_BACKEND"] != "smtp":
        raise ConfigError(
            f"MAIL_BACKEND={config['MAIL_BACKEND']} keeps every email, its links included, in files on this server: "
            "set MAIL_BACKEND=smtp and SMTP_HOST (docs/operations.md) when PORTAL_ENV=production"
        )
    url = config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        folder = Path(url.removeprefix("sqlite:///")).parent
        if folder.exists() and folder.stat().st_mode & 0o077:
            raise ConfigError(
                f"the database's folder {folder} is open to other users of this server: run chmod 700 {folder} "
                "(or set DATABASE_URL to PostgreSQL) when PORTAL_ENV=production"
            )
