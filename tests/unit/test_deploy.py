"""deploy/'s systemd units: valid for systemd, and running what `flask serve` runs (nothing drifts apart)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from portal.cli import serve_children

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))


def exec_start(unit: Path) -> list[str]:
    (line,) = [line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
    return line.removeprefix("ExecStart=").split()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_finds_nothing_wrong_but_the_absent_install(unit):
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False)
    complaints = [line for line in result.stderr.splitlines() if line.strip()]
    assert all("/srv/escalation-portal/.venv/bin/" in line and "is not executable" in line for line in complaints), (
        complaints
    )


def test_the_units_run_the_consumers_and_signals_flask_serve_uses():
    web, consumers = serve_children("127.0.0.1", 8000, 4)
    by_unit = {unit.stem: exec_start(unit) for unit in UNITS}
    assert by_unit["escalation-portal-tasks"][1:] == consumers[0].command[1:]
    assert by_unit["escalation-portal-schedule"][1:] == consumers[1].command[1:]
    assert by_unit["escalation-portal-web"][1:3] == web.command[1:3] == ["--config", "python:portal.gunicorn_conf"]
    for unit, signal_name in [("tasks", "SIGINT"), ("schedule", "SIGINT"), ("web", "SIGTERM")]:
        assert f"KillSignal={signal_name}" in (DEPLOY / f"escalation-portal-{unit}.service").read_text()
