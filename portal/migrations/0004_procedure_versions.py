"""Each case keeps the procedure version it was raised under (the file's text and its SHA-256).

Cases raised before this migration are pinned to the text of the preset with their procedure id, or of the
file PORTAL_PROCEDURE names, as it stands when the database is upgraded; others stay unpinned and follow
the procedure loaded under their id.
"""

import datetime as dt
import hashlib
import os
import tomllib
from pathlib import Path

from peewee import *  # noqa: F403

PRESETS = Path(__file__).resolve().parent.parent / "procedures"


def _texts():
    """Procedure id -> file text, for the presets and the configured file."""
    texts = {path.stem: path.read_text(encoding="utf-8") for path in sorted(PRESETS.glob("*.toml"))}
    configured = os.environ.get("PORTAL_PROCEDURE", "")
    path = Path(configured)
    if configured.endswith(".toml") and path.is_file():
        text = path.read_text(encoding="utf-8")
        try:
            texts[tomllib.loads(text).get("id") or path.stem] = text
        except tomllib.TOMLDecodeError:
            pass
    return texts


def up(migrator, db):
    class ProcedureVersion(Model):  # noqa: F405
        procedure_id = CharField(max_length=60, index=True)  # noqa: F405
        digest = CharField(max_length=64, unique=True)  # noqa: F405
        name = CharField(max_length=300)  # noqa: F405
        text = TextField()  # noqa: F405
        first_used_at = DateTimeField()  # noqa: F405

        class Meta:
            database = db
            table_name = "procedure_version"

    db.create_tables([ProcedureVersion])
    version = ForeignKeyField(ProcedureVersion, null=True, field=ProcedureVersion.id, on_delete="RESTRICT")  # noqa: F405
    migrator.migrate(migrator.add_column("escalation", "procedure_version_id", version))
    used = {row[0] for row in db.execute_sql("SELECT DISTINCT procedure_id FROM escalation")}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for procedure_id, text in _texts().items():
        if procedure_id not in used:
            continue
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        name = str(tomllib.loads(text).get("name", procedure_id))[:300]
        row = ProcedureVersion.get_or_none(ProcedureVersion.digest == digest)
        if row is None:
            row = ProcedureVersion.create(procedure_id=procedure_id, digest=digest, name=name, text=text, first_used_at=now)
        db.execute_sql(
            "UPDATE escalation SET procedure_version_id = %s WHERE procedure_id = %s AND procedure_version_id IS NULL"
            .replace("%s", db.param),
            (row.id, procedure_id),
        )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("escalation", "procedure_version_id"))
    db.execute_sql("DROP TABLE procedure_version")
