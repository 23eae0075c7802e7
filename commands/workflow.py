"""`flask --app app workflow diagram [--copies]`: a lifecycle, generated from its table."""

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from i18n import translate
from workflows.brief import mermaid_diagram
from workflows.copy import copy_mermaid_diagram


@click.group("workflow", help="The brief lifecycle.", cls=AppGroup)
def cli() -> None:
    pass


@cli.command("diagram")
@click.option("--locale", default="zh_CN", type=click.Choice(["zh_CN", "en"]))
@click.option("--copies", is_flag=True, help="A numbered copy's life (workflows/copy.py) instead of a brief's.")
def diagram(locale: str, copies: bool) -> None:
    """Print the lifecycle as a Mermaid state diagram."""
    with force_locale(locale):
        click.echo((copy_mermaid_diagram if copies else mermaid_diagram)(translate), nl=False)
