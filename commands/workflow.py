"""`flask --app app workflow diagram`: the lifecycle, generated from the table."""

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from i18n import translate
from workflows.brief import mermaid_diagram


@click.group("workflow", help="The brief lifecycle.", cls=AppGroup)
def cli() -> None:
    pass


@cli.command("diagram")
@click.option("--locale", default="zh_CN", type=click.Choice(["zh_CN", "en"]))
def diagram(locale: str) -> None:
    """Print the lifecycle as a Mermaid state diagram."""
    with force_locale(locale):
        click.echo(mermaid_diagram(translate), nl=False)
