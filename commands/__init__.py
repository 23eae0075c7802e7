"""The command line: `flask --app app …`."""

from flask import Flask


def register_commands(app: Flask) -> None:
    from commands import audit, demo, user, workflow

    for group in (user.cli, demo.cli, workflow.cli, audit.cli):
        app.cli.add_command(group)
