"""flask backup, restore and retention: what IT and the information governance lead run."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.backup import BackupError, restore_backup, write_backup


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


COMMANDS = (backup, restore)
