"""`flask --app app archive verify | import | export`: the archive's records on the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from accounts.operations import command_line_name
from archive.bag import ExportError, export_bag, issued_briefs
from longwork.cli import bar_step
from longwork.kinds import run_verify
from archive.importer import files_from_paths, import_batch, precheck_import
from extensions import db
from models import User
from publishing.services import file_store
from publishing.storage import FixityError
from securitylog.operations import log_security_event


@click.group("archive", help="The archive: fixity, import, export.", cls=AppGroup)
def cli() -> None:
    pass


@cli.command("verify")
@click.option("--repair", is_flag=True,
              help="Quarantine files that no record names and that are older than an hour.")
@click.option("--queue", "queued", is_flag=True, help="Run it as a background job and follow its progress.")
def verify(repair: bool, queued: bool) -> None:
    """Recompute every stored file's SHA-256; report missing, changed and unexpected files."""
    if queued:
        from longwork.cli import enqueue_and_follow
        from longwork.operations import VERIFY, result_of

        done = result_of(enqueue_and_follow(VERIFY, {"repair": repair}, "fixity"))
        for source, target in done["quarantined"]:
            click.echo(f"quarantined: {source} -> {target}")
        for kind in ("missing", "changed", "unexpected"):
            for path in done[kind]:
                click.echo(f"{kind}: {path}")
        counts = done["counts"]
        click.echo(f"{done['checked']} files checked; {counts['missing']} missing, {counts['changed']} changed, "
                   f"{counts['unexpected']} unexpected")
        if not done["ok"]:
            raise SystemExit(1)
        return
    step, close = bar_step("fixity")
    report = run_verify(db.session, repair, step)
    close()
    db.session.commit()
    for source, target in report.quarantined:
        click.echo(f"quarantined: {source} -> {target}")
    for kind, paths in (("missing", report.missing), ("changed", report.changed), ("unexpected", report.unexpected)):
        for path in paths:
            suffix = " (less than an hour old: left alone)" if path in report.left_young else ""
            click.echo(f"{kind}: {path}{suffix}")
    click.echo(f"{report.checked} files checked; {len(report.missing)} missing, {len(report.changed)} changed, "
               f"{len(report.unexpected)} unexpected" + (f", {len(report.quarantined)} quarantined" if repair else ""))
    if not report.ok:
        raise SystemExit(1)


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--as", "username", required=True, help="The archivist recorded as importing them.")
@click.option("--queue", "queued", is_flag=True, help="Run it as a background job and follow its progress.")
def import_issues(paths: tuple[Path, ...], username: str, queued: bool) -> None:
    """Import past issues from brief files or folders (a PDF of the same name is kept as original)."""
    actor = db.session.scalar(select(User).where(User.username == username))
    if actor is None:
        raise click.ClickException(f"no user {username!r}")
    files = files_from_paths(list(paths))
    if queued:
        from longwork.cli import follow
        from longwork.operations import import_outcomes, start_import

        checked, refused = precheck_import(db.session, files)
        outcomes = refused
        if checked:
            job = start_import(db.session, actor, checked, refused)
            db.session.commit()
            outcomes = import_outcomes(follow(job.id, job.kind, "import"))
    else:
        outcomes = import_batch(
            db.session, actor, files,
            fonds=current_app.config["CANYUE_FONDS_CODE"], category=current_app.config["CANYUE_ARCHIVE_CATEGORY"],
        )
    for outcome in outcomes:
        if outcome.error:
            click.echo(f"refused {outcome.name}: {outcome.error}")
        else:
            click.echo(f"imported {outcome.name} as {outcome.archive_code} (brief {outcome.brief_id})")
    refused = sum(1 for o in outcomes if o.error)
    click.echo(f"{len(outcomes) - refused} imported, {refused} refused")
    if refused:
        raise SystemExit(1)


@cli.command("export")
@click.option("--series", "series_id", type=int)
@click.option("--year", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--queue", "queued", is_flag=True, help="Run it as a background job and follow its progress.")
def export(series_id: int | None, year: int | None, output: Path, queued: bool) -> None:
    """Export issued briefs (of a series, a year) as a validated BagIt bag in a zip file."""
    if queued:
        from longwork.cli import enqueue_and_follow
        from longwork.operations import EXPORT, open_export, result_of

        job = enqueue_and_follow(EXPORT, {"series": series_id, "year": year}, "export")
        made = open_export(job)
        if made is None:
            raise click.ClickException(f"job {job.id}: the export's file is gone")
        with made[0] as stored, output.open("wb") as copy:
            shutil.copyfileobj(stored, copy)
        click.echo(f"{output}: {result_of(job)['issues']} issues, bag validated (job {job.id})")
        return
    briefs = issued_briefs(db.session, series_id, year)
    step, close = bar_step("export")
    try:
        bundle = export_bag(briefs, file_store(), output.stem, on_progress=lambda done: step(done, len(briefs)))
    except (ExportError, FixityError) as error:
        raise click.ClickException(str(error)) from error
    finally:
        close()
    shutil.move(bundle, output)
    shutil.rmtree(bundle.parent, ignore_errors=True)
    log_security_event(db.session, "bag_exported", None, actor_name=command_line_name(), detail={
        "series": series_id, "year": year, "issues": len(briefs),
        "classified": sorted(b.id for b in briefs if b.classification), "file": str(output)})
    db.session.commit()
    click.echo(f"{output}: {len(briefs)} issues, bag validated")
