"""`flask --app app db copy --to postgresql://…`: move the installation to PostgreSQL (backup/copy.py).
A command of Flask-Migrate's `db` group, beside `db upgrade`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from backup.copy import copy_database
from backup.manifest import BackupError


@click.command("copy")
@click.option("--to", "target", required=True, metavar="POSTGRESQL_URL",
              help="The empty PostgreSQL database to copy every row into (postgresql://user:pw@host/name).")
@with_appcontext
def copy_command(target: str) -> None:
    """Copy this installation's database, every row, into an empty PostgreSQL database."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        copied = copy_database(app, target)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    total = sum(copied.rows.values())
    click.echo(f"copied {total:,} rows of {len(copied.rows)} tables to {copied.target} (revision {copied.revision}) "
               f"in {copied.seconds:.1f} s; search index rebuilt ({copied.indexed:,} briefs)")
    for name, count in copied.rows.items():
        if count:
            click.echo(f"  {name}: {count:,}")
    click.echo("next: point DATABASE_URL at it (same SECRET_KEY, audit keys, anchor log and file store), then run "
               "`flask --app app audit verify` and `flask --app app archive verify`")
