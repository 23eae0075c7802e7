"""The command line: `flask --app app …`."""

from flask import Flask


def register_commands(app: Flask) -> None:
    from flask_migrate.cli import db as migrate_group

    from commands import (archive, archive_records, audit, backup, brief, database, demo, security, user, worker,
                          workflow)

    for command in archive.COMMANDS:  # archive search, archive reindex
        archive_records.cli.add_command(command)

    for group in (user.cli, demo.cli, workflow.cli, audit.cli, brief.cli, archive_records.cli, security.cli,
                  backup.cli, worker.cli):
        app.cli.add_command(group)
    migrate_group.add_command(database.copy_command)  # flask --app app db copy --to postgresql://…
