"""Every file the portal writes may hold a child's details: readable by the portal's own user only."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077  # files 0600, folders 0700


def sqlite_files(url: str) -> list[Path]:
    """A SQLite database's file and its write-ahead log, or nothing for another engine."""
    if not url.startswith("sqlite:///"):
        return []
    path = Path(url.removeprefix("sqlite:///"))
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def keep_private(folders: list[Path], files: list[Path]) -> None:
    """From now on this process creates private files; folders and files made before (or by an older version, or
    copied in by hand) are closed too."""
    os.umask(PRIVATE_UMASK)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
    for path in files:
        if path.exists():
            path.chmod(0o600)
