"""Waiting on real processes (consumers, servers): poll a condition with a deadline, never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest


def wait_for(
    condition: Callable[[], bool],
    what: str,
    logs: Path | list[Path],
    timeout: float = 60.0,
    note: Callable[[], str] | None = None,
) -> None:
    """Return once `condition()` holds; on timeout fail with `what`, `note()` and the tail of each log."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            paths = [logs] if isinstance(logs, Path) else logs
            tails = "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-3000:]}" for p in paths if p.exists())
            pytest.fail(f"timed out after {timeout}s waiting for {what}{'; ' + note() if note else ''}\n{tails}")
        time.sleep(0.05)
