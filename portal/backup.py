"""`flask backup` and `flask restore`: one file holding a consistent copy of the case database and its PDFs.

The copy is taken while the portal runs (SQLite's online backup API; `pg_dump`, one snapshot), so no commit is
half in it. The PDFs live in the database; they are also written out as files, with a manifest of their SHA-256,
so a backup can be checked, and read, without restoring it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from portal.db import database
from portal.models import Document, utcnow

MANIFEST = "manifest.json"
SQLITE_COPY = "database.sqlite"
POSTGRES_COPY = "database.pgdump"


class BackupError(RuntimeError):
    """A backup that cannot be written or restored, with the reason."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    engine: str
    documents: int


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (fixed programs)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-500:]}")


def _copy_database(url: str, folder: Path) -> tuple[str, Path]:
    source = _sqlite_path(url)
    if source is not None:
        target = folder / SQLITE_COPY
        with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
            live.backup(copy)
        live.close()
        copy.close()
        return "sqlite", target
    target = folder / POSTGRES_COPY
    _run(["pg_dump", "--format=custom", "--no-owner", f"--dbname={url}", f"--file={target}"])
    return "postgresql", target


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(utcnow().timestamp())
    archive.addfile(info, io.BytesIO(data))


def write_backup(url: str, folder: Path, now: dt.datetime | None = None) -> BackupSummary:
    """`folder/portal-backup-<UTC time>.tar`: the database copy, every rendered PDF and a manifest."""
    now = now or utcnow()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"portal-backup-{now:%Y%m%dT%H%M%SZ}.tar"
    with tempfile.TemporaryDirectory() as scratch:
        engine, copy = _copy_database(url, Path(scratch))
        documents = _documents_in(engine, copy, url)
        manifest = {"engine": engine, "created_at": now.isoformat(), "documents": {}}
        with tarfile.open(path, "w") as archive:
            archive.add(copy, arcname=copy.name)
            for doc_id, filename, content in documents:
                name = f"documents/{doc_id}-{filename}"
                _add_bytes(archive, name, content)
                manifest["documents"][name] = hashlib.sha256(content).hexdigest()
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
    return BackupSummary(path, engine, len(manifest["documents"]))


def _documents_in(engine: str, copy: Path, url: str) -> list[tuple[int, str, bytes]]:
    """The PDFs as the copy holds them (read from the copy on SQLite, so they match it exactly)."""
    if engine == "sqlite":
        with sqlite3.connect(copy) as connection:
            rows = connection.execute(
                "SELECT id, filename, content FROM document WHERE status = 'rendered' ORDER BY id"
            ).fetchall()
        connection.close()
        return [(i, f, bytes(c)) for i, f, c in rows]
    with database.connection_context():
        query = Document.select(Document.id, Document.filename, Document.content).where(Document.status == "rendered")
        return [(d.id, d.filename, d.content) for d in query.order_by(Document.id)]


def read_manifest(path: Path) -> dict:
    with tarfile.open(path) as archive:
        return json.load(archive.extractfile(MANIFEST))


def restore_backup(path: Path, url: str) -> int:
    """Put the backup's database back in place of `url`'s, then check every PDF against the manifest.

    Run it with the portal stopped: on SQLite the copy replaces the live pages; on PostgreSQL `pg_restore --clean`
    drops and recreates the tables.
    """
    manifest = read_manifest(path)
    target = _sqlite_path(url)
    if (manifest["engine"] == "sqlite") != (target is not None):
        raise BackupError(f"this backup is of a {manifest['engine']} database; DATABASE_URL names another engine")
    with tempfile.TemporaryDirectory() as scratch, tarfile.open(path) as archive:
        name = SQLITE_COPY if target is not None else POSTGRES_COPY
        archive.extract(name, scratch, filter="data")
        copy = Path(scratch) / name
        if target is not None:
            with sqlite3.connect(copy) as source, sqlite3.connect(target) as live:
                source.backup(live)
            source.close()
            live.close()
        else:
            _run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    f"--dbname={url}",
                    str(copy),
                ]
            )
    return _check_documents(manifest)


def _check_documents(manifest: dict) -> int:
    expected = {int(name.split("/")[1].split("-")[0]): digest for name, digest in manifest["documents"].items()}
    with database.connection_context():
        query = Document.select(Document.id, Document.content).where(Document.id.in_(list(expected) or [0]))
        found = {d.id: hashlib.sha256(d.content or b"").hexdigest() for d in query}
    wrong = sorted(i for i, digest in expected.items() if found.get(i) != digest)
    if wrong:
        raise BackupError(f"documents {wrong} do not match the backup's manifest")
    return len(expected)
