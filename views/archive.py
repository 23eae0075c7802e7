"""The archive: browse issued briefs by series and year, file them (归档), set 件号 sequences."""

from __future__ import annotations

from pathlib import PurePath

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from archive.filing import expected_archive_code, file_issue, set_sequence_start
from archive.importer import ImportFile, precheck_import
from archive.search import search
from instructions.operations import instructions_by_brief
from instructions.views import instruction_levels
from extensions import db
from forms.archive import ExportForm, FileForm, ImportForm, SequenceForm
from forms.base import refusal
from forms.brief import version_of
from i18n import translate
from longwork.operations import EXPORT
from longwork.operations import start as start_work
from longwork.operations import start_import
from models import ArchiveSequence, Brief, Series
from views.access import get_brief, log_event, refuse, require
from views.errors import error_page
from views.inputs import int_arg
from workflows.filing import RETENTION_LABELS, Retention
from workflows.i18n import N_
from workflows.limits import BRIEF_FILE_BYTES, EARLIEST_YEAR, LATEST_YEAR, MAX_PAGE, Problem
from workflows.brief import NUMBERED_STATES
from workflows.policy import BROWSE_BRIEFS, ISSUED_STATES, readable_clause
from workflows.transitions import ActionRefused, StaleBrief

bp = Blueprint("archive", __name__)


def _retention_choices() -> list[tuple[str, str]]:
    return [(r.value, translate(label)) for r, label in RETENTION_LABELS.items()]


@bp.get("/archive")
def browse() -> str:
    """Series → year → issues, newest first; only issues the user may read."""
    require(BROWSE_BRIEFS)
    issued = Brief.state.in_([s.value for s in NUMBERED_STATES]) & readable_clause(current_user, Brief)
    series = db.session.scalars(select(Series).order_by(Series.id)).all()
    series_id = int_arg("series") or (series[0].id if series else None)
    year = int_arg("year", low=EARLIEST_YEAR, high=LATEST_YEAR)
    years = db.session.execute(
        select(Brief.issue_year, func.count(Brief.id))
        .where(issued, Brief.series_id == series_id)
        .group_by(Brief.issue_year)
        .order_by(Brief.issue_year.desc())
    ).all()
    if year is None and years:
        year = years[0][0]
    issues = db.session.scalars(
        select(Brief)
        .where(issued, Brief.series_id == series_id, Brief.issue_year == year)
        .order_by(Brief.issue_date.desc(), Brief.total_number.desc())
    ).all()
    return render_template(
        "archive/browse.html", series=series, series_id=series_id, years=years, year=year, issues=issues,
        instructions=instructions_by_brief(db.session, [b.id for b in issues]),
    )


@bp.route("/briefs/<int:brief_id>/file", methods=["GET", "POST"])
def file_form(brief_id: int) -> Response | tuple[str, int] | str:
    brief = get_brief(brief_id, "archive")
    form = FileForm()
    form.retention.choices = _retention_choices()
    if request.method == "GET":
        form.retention.data = brief.series.default_retention
        form.version.data = str(brief.version)
    status, error = 200, None
    checking = request.form.get("check") == "1"  # "show the 档号 for this retention": nothing is filed
    if form.validate_on_submit() and not checking:
        try:
            code = file_issue(
                db.session, brief_id, current_user,
                retention=Retention(form.retention.data),
                fonds=current_app.config["CANYUE_FONDS_CODE"],
                category=current_app.config["CANYUE_ARCHIVE_CATEGORY"],
                expected_version=version_of(form),
            )
        except ActionRefused as refused:
            refuse(refused.decision)
        except (StaleBrief, StaleDataError):
            status, error = 409, _("Someone else changed this brief after you opened it. Nothing was filed.")
        else:
            flash(_("Filed with 档号 %(code)s.", code=str(code)), "success")
            return redirect(url_for("briefs.show", brief_id=brief_id))
        brief = get_brief(brief_id)
    elif request.method == "POST" and not checking:
        status, _reason = refusal(form)
    retention = form.retention.data if form.retention.data in {r.value for r in Retention} else None
    expected = expected_archive_code(
        db.session, brief, retention=Retention(retention), fonds=current_app.config["CANYUE_FONDS_CODE"],
        category=current_app.config["CANYUE_ARCHIVE_CATEGORY"]) if retention else None
    return render_template("archive/file.html", brief=brief, form=form, error=error, expected=expected), status


@bp.route("/archive/sequences", methods=["GET", "POST"])
def sequences() -> Response | tuple[str, int]:
    """Where each year's 件号 count starts, per 保管期限."""
    require("manage_archive")
    fonds = current_app.config["CANYUE_FONDS_CODE"]
    form = SequenceForm()
    form.retention.choices = _retention_choices()
    if form.validate_on_submit():
        set_sequence_start(db.session, fonds, form.year.data, Retention(form.retention.data), form.first_item.data)
        db.session.commit()
        flash(_("The sequence was saved."), "success")
        return redirect(url_for("archive.sequences"))
    rows = db.session.scalars(
        select(ArchiveSequence).where(ArchiveSequence.fonds_code == fonds)
        .order_by(ArchiveSequence.year.desc(), ArchiveSequence.retention)
    ).all()
    held = dict(
        ((y, r), n) for y, r, n in db.session.execute(
            select(Brief.archive_year, Brief.retention, func.max(Brief.archive_item))
            .where(Brief.fonds_code == fonds).group_by(Brief.archive_year, Brief.retention)
        )
    )
    return render_template("archive/sequences.html", form=form, rows=rows, held=held, fonds=fonds,
                           retention_labels=RETENTION_LABELS), (
        refusal(form)[0] if request.method == "POST" else 200)


@bp.get("/archive/search")
def search_page() -> str:
    """Full-text search of the issues the user may read, with filters and highlighted snippets."""
    require(BROWSE_BRIEFS)
    args = request.args
    query = args.get("q", "").strip()
    filters = {
        "series_id": int_arg("series"),
        "year_from": int_arg("year_from", low=EARLIEST_YEAR, high=LATEST_YEAR),
        "year_to": int_arg("year_to", low=EARLIEST_YEAR, high=LATEST_YEAR),
        "author": args.get("author", "").strip() or None,
        "state": args.get("state") if args.get("state") in {s.value for s in ISSUED_STATES} else None,
        "classification": args.get("classification", "").strip() or None,
        # 领导批示: issues with at least one, or with one of a leader of this level.
        "instructed": args.get("instructed") == "1",
        "instruction_level": args.get("level", "").strip() or None,
    }
    page = int_arg("page", high=MAX_PAGE, default=1)
    result = search(db.session, current_user, query, page=page, **filters) if query else None
    series = db.session.scalars(select(Series).order_by(Series.id)).all()
    levels = [c for c in current_app.config["CANYUE_CLASSIFICATIONS"].split(",") if c]
    given = instructions_by_brief(db.session, [hit.brief.id for hit in result.hits]) if result else {}
    return render_template("archive/search.html", query=query, filters=filters, result=result, series=series,
                           issued_states=[s.value for s in ISSUED_STATES], classifications=levels,
                           instruction_levels=instruction_levels(), instructions=given)


@bp.post("/archive/export")
def export() -> Response:
    """A year, a series or a search as a BagIt bag (zip): a background job (longwork/), whose
    page shows its progress and then the download, validated before it is offered."""
    require("manage_archive")
    form = ExportForm()
    if not form.validate_on_submit():
        reasons = [str(e) for field in form for e in field.errors]
        abort(error_page(400, _("The export was not made: %(reason)s", reason=" ".join(reasons))))
    job = start_work(db.session, EXPORT, current_user,
                     {"series": form.series.data, "year": form.year.data, "q": form.q.data or None})
    log_event("job_started", subject_id=job.id, kind=EXPORT)
    db.session.commit()
    return redirect(url_for("work.show", job_id=job.id))


@bp.route("/archive/import", methods=["GET", "POST"])
def import_page() -> tuple[str, int] | Response:
    """Upload past issues: brief files, each with its original PDF of the same name if any.
    The files that pass the checks are imported by a job (its page follows it); 422 when none
    does (each file says why)."""
    require("manage_archive")
    form = ImportForm()
    outcomes = None
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        uploads = {PurePath(f.filename or "").name: f.read() for f in form.files.data if f and f.filename}
        files = []
        for name, data in sorted(uploads.items()):
            if not name.endswith(".md"):
                continue
            pdf = uploads.get(name[:-3] + ".pdf")
            if len(data) > BRIEF_FILE_BYTES:
                files.append(ImportFile(name, None, problem=Problem(N_("The file is larger than %(size)d KB."),
                                                                    {"size": BRIEF_FILE_BYTES // 1000})))
                continue
            try:
                files.append(ImportFile(name, data.decode("utf-8"), pdf))
            except UnicodeDecodeError:
                files.append(ImportFile(name, None, problem=Problem(N_("The file is not UTF-8 text."))))
        checked, outcomes = precheck_import(db.session, files)
        if checked:  # the import itself (renders, numbers) is a job: its page shows the progress
            job = start_import(db.session, current_user, checked, outcomes)
            log_event("job_started", subject_id=job.id, kind=job.kind)
            db.session.commit()
            return redirect(url_for("work.show", job_id=job.id))  # type: ignore[return-value]
    return render_template("archive/import.html", form=form, outcomes=outcomes), status
