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


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) from /proc, or None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    return int(fields[1]), fields[0], int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every process below `root`, with its start time (so a reused pid is not mistaken for it)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            parents[int(entry.name)] = stat
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _, started) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def running(pid: int, started: int) -> bool:
    """The process `pid` that started at `started` is alive (not gone, not a zombie)."""
    stat = _stat(pid)
    return stat is not None and stat[2] == started and stat[1] != "Z"


def command_line(pid: int) -> str:
    """The process's arguments joined by spaces; empty once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""
