"""Indexes for the pages that count across every case (bench/RESULTS.md, "Reports and status at 100,000 cases"):

- the status page's failed PDF records (`document.status`): it read every record's row, 57 ms at 133,000;
- the report's cases ended in a period (`escalation.closed_at`), stages due in it (`stage_record.due_at`),
  deadline changes made in it (`deadline_change.made_at`) and contested resolutions in it (`event.kind, at`).
"""

INDEXES = (
    ("document", ("status",)),
    ("escalation", ("closed_at",)),
    ("stage_record", ("due_at",)),
    ("deadline_change", ("made_at",)),
    ("event", ("kind", "at")),
)


def up(migrator, db):
    for table, columns in INDEXES:
        migrator.migrate(migrator.add_index(table, columns, False))


def down(migrator, db):
    for table, columns in INDEXES:
        migrator.migrate(migrator.drop_index(table, "_".join((table, *columns))))
