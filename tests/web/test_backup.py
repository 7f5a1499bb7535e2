"""flask backup and flask restore: a round trip on SQLite and PostgreSQL, the PDFs checked against the manifest."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from portal.backup import read_manifest
from portal.db import database
from portal.models import Document, Escalation
from tests import factories
from tests.web.conftest import START

pytestmark = pytest.mark.both_engines


def test_a_backup_restores_the_cases_and_documents_as_they_were(app, runner, clock, tmp_path):
    with app.app_context(), database.connection_context():
        raiser, _ours, theirs = factories.world()
        kept = factories.escalation(raiser, theirs, START)
        (document,) = Document.select().where((Document.escalation == kept) & (Document.status == "rendered"))
        digest = hashlib.sha256(document.content).hexdigest()

    made = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    (path,) = (tmp_path / "backups").glob("portal-backup-*.tar")
    assert path.stat().st_mode & 0o077 == 0
    manifest = read_manifest(path)
    assert list(manifest["documents"].values()) == [digest]
    with tarfile.open(path) as archive:  # the PDF can be read from the backup without restoring it
        (name,) = [n for n in archive.getnames() if n.startswith("documents/")]
        assert hashlib.sha256(archive.extractfile(name).read()).hexdigest() == digest

    with app.app_context(), database.connection_context():
        later = factories.escalation(raiser, theirs, START)
        Escalation.update(summary="changed after the backup").where(Escalation.id == kept.id).execute()
    database.close()

    refused = runner.invoke(args=["restore", str(path)], input="n\n")
    assert refused.exit_code != 0
    restored = runner.invoke(args=["restore", str(path), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "1 documents match" in restored.output

    with app.app_context(), database.connection_context():
        assert Escalation.get_or_none(Escalation.reference == later.reference) is None
        assert Escalation.get(Escalation.reference == kept.reference).summary == kept.summary
        assert hashlib.sha256(Document.get_by_id(document.id).content).hexdigest() == digest


def test_a_restore_whose_documents_do_not_match_the_manifest_says_which(app, runner, clock, tmp_path):
    with app.app_context(), database.connection_context():
        raiser, _ours, theirs = factories.world()
        factories.escalation(raiser, theirs, START)
    assert runner.invoke(args=["backup", "--to", str(tmp_path)]).exit_code == 0
    (path,) = tmp_path.glob("portal-backup-*.tar")
    manifest = read_manifest(path)
    altered = tmp_path / "altered.tar"
    with tarfile.open(path) as source, tarfile.open(altered, "w") as target:
        for member in source.getmembers():
            if member.name == "manifest.json":
                manifest["documents"] = {name: "0" * 64 for name in manifest["documents"]}
                data = json.dumps(manifest).encode()
                member.size = len(data)
                target.addfile(member, io.BytesIO(data))
            else:
                target.addfile(member, source.extractfile(member))
    database.close()

    result = runner.invoke(args=["restore", str(altered), "--yes"])

    assert result.exit_code == 1 and "do not match the backup's manifest" in result.output
