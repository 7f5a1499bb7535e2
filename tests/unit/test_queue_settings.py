"""HUEY_URL and HUEY_NAME, read through portal.config, decide where `tasks` keeps both of its queues."""

from __future__ import annotations

import os
import subprocess
import sys

from portal.config import ROOT, load_config, queue_settings

SHOW_QUEUES = """
from tasks import huey, schedule
for queue in (huey, schedule):
    print(type(queue.storage).__name__, queue.name, getattr(queue.storage, "filename", "-"))
"""


def queues_under(**settings: str) -> list[list[str]]:
    """What `tasks` builds in a fresh process with these settings in its environment."""
    env = {key: value for key, value in os.environ.items() if key not in ("HUEY_URL", "HUEY_NAME")} | settings
    result = subprocess.run(
        [sys.executable, "-c", SHOW_QUEUES], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return [line.split() for line in result.stdout.splitlines()]


def test_huey_url_and_name_choose_the_storage_of_both_queues(tmp_path):
    path = tmp_path / "queues" / "huey.db"
    assert queues_under(HUEY_URL=f"sqlite:///{path}", HUEY_NAME="portal-a", PORTAL_INSTANCE=str(tmp_path)) == [
        ["SqliteStorage", "portal-a", str(path)],
        ["SqliteStorage", "portal-a-schedule", str(path)],
    ]
    assert path.exists()
    assert queues_under(HUEY_URL="redis://127.0.0.1:6379/15", PORTAL_INSTANCE=str(tmp_path)) == [
        ["RedisStorage", "escalation-portal", "-"],
        ["RedisStorage", "escalation-portal-schedule", "-"],
    ]


def test_the_queue_defaults_to_its_own_file_under_instance_and_load_config_agrees(tmp_path, monkeypatch):
    for name in ("HUEY_URL", "HUEY_NAME"):
        monkeypatch.delenv(name, raising=False)
    expected = {"HUEY_URL": f"sqlite:///{tmp_path / 'huey.db'}", "HUEY_NAME": "escalation-portal"}
    assert queue_settings(tmp_path) == expected
    assert not any(tmp_path.iterdir())  # no development secret written: tasks may read it before any app exists
    config = load_config({"INSTANCE_PATH": str(tmp_path)})
    assert {key: config[key] for key in expected} == expected
