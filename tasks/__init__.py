"""The huey instance, built from settings, and every task module.

huey only wakes things up; the database is the source of truth (SECURITY.md C).
"""

from __future__ import annotations

import os

from huey import RedisHuey, SqliteHuey

from portal.config import INSTANCE


def make_huey(url: str) -> SqliteHuey | RedisHuey:
    """SqliteHuey in its own file by default (never the case database), RedisHuey from redis:// URLs."""
    if url.startswith("redis://"):
        return RedisHuey("escalation-portal", url=url, results=False)
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return SqliteHuey("escalation-portal", filename=path, results=False)
    raise ValueError(f"unsupported HUEY_URL scheme: {url.split(':', 1)[0]!r}")


huey = make_huey(os.environ.get("HUEY_URL", f"sqlite:///{INSTANCE / 'huey.db'}"))
