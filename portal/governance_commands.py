"""flask backup, restore and retention: what IT and the information governance lead run."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.backup import BackupError, restore_backup, write_backup
from portal.db import database
from portal.retention import due_for_erasure, erase_case, retention_years
from portal.workdays import london


@click.command("backup")
@with_appcontext
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path), help="Default: instance/backups.")
def backup(folder: Path | None) -> None:
    """Write a consistent copy of the case database and its PDFs to one file, readable by this user only."""
    folder = folder or Path(current_app.instance_path) / "backups"
    try:
        summary = write_backup(current_app.config["DATABASE_URL"], folder)
    except BackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"{summary.path}: {summary.engine} database and {summary.documents} documents")


@click.command("restore")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: the database is replaced by the backup.")
def restore(file: Path, yes: bool) -> None:
    """Replace the case database with a backup (stop the portal and its consumers first)."""
    if not yes:
        click.confirm(
            f"Replace the database at DATABASE_URL with {file.name}? Everything since it was taken is lost", abort=True
        )
    try:
        checked = restore_backup(file, current_app.config["DATABASE_URL"])
    except BackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"restored {file.name}; {checked} documents match the backup's manifest. Run flask db upgrade next.")


@click.command("retention")
@with_appcontext
@click.option("--erase", is_flag=True, help="Erase the cases listed (without it, nothing is changed).")
@click.option("--confirmed-by", default="", help="The named person who confirms the erasure; it is recorded.")
@click.option("--yes", is_flag=True, help="Do not ask again.")
def retention(erase: bool, confirmed_by: str, yes: bool) -> None:
    """List the closed cases due for erasure (a dry run); with --erase and --confirmed-by, erase them."""
    years = retention_years(current_app)
    with database.connection_context():
        due = due_for_erasure(years)
    click.echo(f"Closed cases are kept {years} years after closure. {len(due)} due for erasure:")
    for case in due:
        click.echo(f"  {case.reference}  closed {london(case.closed_at):%d %b %Y}  {case.status}")
    if not erase or not due:
        if due:
            click.echo('Nothing was erased. To erase them: flask retention --erase --confirmed-by "Your Name"')
        return
    if not confirmed_by.strip():
        click.echo('error: an erasure needs --confirmed-by "Name" of the person who confirms it', err=True)
        sys.exit(2)
    if not yes:
        click.confirm(f"{confirmed_by.strip()}: erase these {len(due)} cases' details for good?", abort=True)
    with database.connection_context():
        for case in due:
            erase_case(case.id, confirmed_by)
    click.echo(
        f"Erased {len(due)} cases; the erasure is recorded against each reference, confirmed by {confirmed_by.strip()}."
    )


COMMANDS = (backup, restore, retention)
