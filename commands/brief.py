"""`flask --app app brief …`: briefs as files, and archival PDFs."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from extensions import db
from models import Brief
from publishing.brieffile import BriefFileError, brief_as_file, parse_brief_file
from publishing.pipeline import backfill_master
from publishing.services import pdf_renderer
from workflows.brief import State


@click.group("brief", help="Briefs as files; archival PDFs.", cls=AppGroup)
def cli() -> None:
    pass


@cli.command("render")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--specimen", is_flag=True, help="Mark every page 样稿.")
@click.option("--host", "hosts", multiple=True, help="A host printed before 主办; repeat for several.")
@click.option("--phone", default="", help="The colophon's 联系电话 line.")
@click.option("--address", default="", help="The colophon's 地址 line.")
def render(source: Path, output: Path, specimen: bool, hosts: tuple[str, ...], phone: str, address: str) -> None:
    """Render a brief file in the official format, without touching the database."""
    try:
        brief_file = parse_brief_file(source.read_text(encoding="utf-8"))
    except (BriefFileError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{source}: {error}") from error
    issue = brief_file.printed_issue(specimen=specimen, hosts=list(hosts), contact_phone=phone, address=address)
    rendered = pdf_renderer().render(issue)
    output.write_bytes(rendered.data)
    click.echo(f"{output}: {rendered.pages} pages, {len(rendered.data)} bytes")


@cli.command("export")
@click.argument("brief_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: standard output.")
def export(brief_id: int, output: Path | None) -> None:
    """Write brief BRIEF_ID as a Markdown file with front matter, or, when OUTPUT ends in
    .docx, as a Word file in the official format (the issue as printed, or a 样稿)."""
    brief = db.session.get(Brief, brief_id)
    if brief is None:
        raise click.ClickException(f"no brief {brief_id}")
    if output is not None and output.suffix.lower() == ".docx":
        from flask import current_app

        from publishing.services import file_store
        from wordfiles.operations import brief_as_docx

        data = brief_as_docx(db.session, file_store(), brief, None, current_app.config.get("CANYUE_WORD_FONTS"))
        output.write_bytes(data)
        click.echo(f"{output}: brief {brief_id}, {len(data)} bytes")
        return
    text = brief_as_file(brief)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{output}: brief {brief_id}")


@cli.command("backfill-pdfs")
@click.option("--queue", "queued", is_flag=True, help="Run it as a background job and follow its progress.")
def backfill_pdfs(queued: bool) -> None:
    """Give every published brief that has none its archival PDF (safe to run again)."""
    if queued:
        import json

        from longwork.cli import enqueue_and_follow
        from longwork.operations import BACKFILL

        done = json.loads(enqueue_and_follow(BACKFILL, {}, "archival PDFs").result or "{}")
        click.echo(f"{done.get('made', 0)} archival PDFs made; {done.get('had_one', 0)} published briefs had one already")
        return
    issued = [State.PUBLISHED.value, State.ARCHIVED.value]
    ids = db.session.scalars(select(Brief.id).where(Brief.state.in_(issued)).order_by(Brief.id)).all()
    made = 0
    for brief_id in ids:
        brief = db.session.get(Brief, brief_id)
        assert brief is not None
        if backfill_master(db.session, brief):
            made += 1
            click.echo(f"brief {brief_id}: archival PDF stored")
    click.echo(f"{made} archival PDFs made; {len(ids) - made} published briefs had one already")


@cli.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="The drafter the new draft belongs to.")
@click.option("--series", "series_name", default=None, help="Series name (default: the first active one).")
def import_word(source: Path, username: str, series_name: str | None) -> None:
    """Make a new draft from a Word file (.docx); prints the new draft's id."""
    from flask import current_app

    from figures.images import ImageRefused
    from i18n import translate
    from models import Series, User
    from publishing.services import file_store
    from wordfiles.operations import import_new_draft
    from wordfiles.reader import WordRefused
    from workflows.limits import ContentRefused
    from workflows.transitions import ActionRefused

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    query = select(Series).where(Series.active).order_by(Series.id)
    if series_name:
        query = select(Series).where(Series.name == series_name)
    series = db.session.scalars(query).first()
    if series is None:
        raise click.ClickException(f"no series {series_name!r}" if series_name else "no active series")
    try:
        result = import_new_draft(db.session, file_store(), user, series, source.read_bytes(), source.name,
                                  classification=current_app.config["CANYUE_DEFAULT_CLASSIFICATION"])
        db.session.commit()
    except (WordRefused, ImageRefused, ContentRefused) as refused:
        db.session.rollback()
        raise click.ClickException(translate(refused)) from refused
    except ActionRefused as refused:
        db.session.rollback()
        raise click.ClickException(f"{username}: {translate(refused.decision.message)}") from refused
    for note in result.draft.ignored:
        click.echo(f"ignored: {note}", err=True)
    click.echo(result.brief.id)
