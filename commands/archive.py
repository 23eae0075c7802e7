"""`flask --app app archive search QUERY` and `flask --app app archive reindex`: full-text search
of the archive for scripts, and rebuilding its index (archive/search.py).

The commands join the `archive` group (commands/archive_records.py) through `COMMANDS`. The
command line searches as the system: every issued brief, no per-user restriction.
"""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext
from markupsafe import Markup

from archive.search import ISSUED, SYSTEM, rebuild_index, search
from extensions import db


def plain_snippet(html: Markup) -> str:
    """A snippet for a terminal: hits in 【】, no markup."""
    marked = str(html).replace("<mark>", "【").replace("</mark>", "】")
    return Markup(marked).unescape().replace("\t", " ")


@click.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--series", "series_id", type=int, help="Only this series (its id).")
@click.option("--year-from", type=int, help="Issued in this year or later.")
@click.option("--year-to", type=int, help="Issued in this year or earlier.")
@click.option("--author", help="The author line (署名) contains this.")
@click.option("--state", type=click.Choice(ISSUED), help="Only published or only archived issues.")
@click.option("--classification", help="Only this classification (密级), e.g. 内部.")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="Results per page.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@with_appcontext
def search_command(query: tuple[str, ...], series_id: int | None, year_from: int | None, year_to: int | None,
                   author: str | None, state: str | None, classification: str | None, limit: int,
                   page: int) -> None:
    """Search the archive: every word must match; "quote" a phrase. One line per issue, tab-separated:
    id, issue date, series, 期号/总期号, title, snippet (hits in 【】). Ranked as on the web."""
    started = time.perf_counter()
    result = search(db.session, SYSTEM, " ".join(query), series_id=series_id, year_from=year_from,
                    year_to=year_to, author=author, state=state, classification=classification,
                    page=page, per_page=limit)
    elapsed = (time.perf_counter() - started) * 1000
    for hit in result.hits:
        brief = hit.brief
        number = f"{brief.issue_year}-{brief.issue_number}/{brief.total_number}"
        click.echo("\t".join([
            str(brief.id), str(brief.issue_date), brief.series.name, number, brief.title,
            plain_snippet(hit.snippet_html),
        ]))
    more = f"; more with --page {page + 1}" if result.has_more else ""
    click.echo(f"{len(result.hits)} results on page {page}{more} ({elapsed:.0f} ms)", err=True)


@click.command("reindex")
@click.option("--queue", "queued", is_flag=True, help="Run it as a background job and follow it.")
@with_appcontext
def reindex_command(queued: bool) -> None:
    """Rebuild the full-text search index from the briefs table."""
    if queued:
        import json

        from longwork.cli import enqueue_and_follow
        from longwork.operations import REINDEX

        done = json.loads(enqueue_and_follow(REINDEX, {}, "reindex").result or "{}")
        click.echo(f"search index rebuilt: {done.get('briefs')} issued briefs in {done.get('seconds')} s")
        return
    started = time.perf_counter()
    count = rebuild_index(db.session)
    db.session.commit()
    click.echo(f"search index rebuilt: {count} issued briefs in {time.perf_counter() - started:.1f} s")


COMMANDS = (search_command, reindex_command)
