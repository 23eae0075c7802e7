"""Long work the user started (longwork/): "My jobs", one job's page with its progress bar
(static/jobs.js refreshes it from the JSON status), the export's download, and starting the
administrator's jobs (backup, fixity verification, reindex, PDF backfill)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from extensions import db
from longwork import operations as work
from models import Job
from views.access import log_event, require
from workflows.i18n import N_
from workflows.policy import may

bp = Blueprint("work", __name__, url_prefix="/jobs")

LABELS = {work.EXPORT: N_("BagIt export"), work.VERIFY: N_("Fixity verification of the store"),
          work.REINDEX: N_("Search reindex"), work.BACKFILL: N_("Archival PDF backfill"),
          work.BACKUP: N_("Backup"), work.IMPORT: N_("Import of past issues")}
STATE_LABELS = {"queued": N_("Waiting for the worker"), "running": N_("Running"), "done": N_("Done"),
                "failed": N_("Failed")}
MAINTENANCE = (work.BACKUP, work.VERIFY, work.REINDEX, work.BACKFILL)


def may_follow(job: Job) -> bool:
    """The user who started a job follows it, while their role still allows that work; the
    administrator also follows the maintenance jobs nobody started (the weekly verification)."""
    action = work.ACTION_OF.get(job.kind)
    if action is None or not may(current_user, action):
        return False
    return job.user_id == current_user.id or (job.user_id is None and action == "run_maintenance")


def get_job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or not may_follow(job):
        abort(404)
    return job


def status_of(job: Job) -> dict[str, Any]:
    return {"id": job.id, "state": job.state, "progress": job.progress, "total": job.total,
            "state_label": _(STATE_LABELS[job.state]), "finished": job.state in ("done", "failed"),
            "count_label": _("%(done)d of %(total)d steps", done=job.progress, total=job.total) if job.total else ""}


@bp.get("")
def mine() -> str:
    if not (may(current_user, "manage_archive") or may(current_user, "run_maintenance")):
        require("run_maintenance")
    jobs = [job for job in work.jobs_of(db.session, current_user) if may_follow(job)]
    unattended: list[Job] = []
    if may(current_user, "run_maintenance"):
        unattended = list(db.session.scalars(select(Job).where(Job.user_id.is_(None), Job.kind.in_(MAINTENANCE))
                                             .order_by(Job.id.desc()).limit(10)))
    return render_template("work/mine.html", jobs=jobs, unattended=unattended, labels=LABELS,
                           state_labels=STATE_LABELS, maintenance=MAINTENANCE)


@bp.post("/start")
def start() -> Response:
    """Start one of the administrator's jobs."""
    require("run_maintenance")
    kind = request.form.get("kind", "")
    if kind not in MAINTENANCE:
        abort(400)
    job = work.start(db.session, kind, current_user, {"repair": False} if kind == work.VERIFY else {})
    log_event("job_started", subject_id=job.id, kind=kind)
    db.session.commit()
    return redirect(url_for("work.show", job_id=job.id))


@bp.get("/<int:job_id>")
def show(job_id: int) -> str:
    job = get_job(job_id)
    outcomes = work.import_outcomes(job) if job.kind == work.IMPORT else None
    return render_template("work/show.html", job=job, result=work.result_of(job), label=LABELS[job.kind],
                           outcomes=outcomes,
                           state_labels=STATE_LABELS, download=work.export_path(job) is not None,
                           keep_days=current_app.config["CANYUE_EXPORT_KEEP_DAYS"])


@bp.get("/<int:job_id>/status.json")
def status(job_id: int) -> Response:
    response = jsonify(status_of(get_job(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:job_id>/download")
def download(job_id: int) -> Response:
    job = get_job(job_id)
    made = work.open_export(job)
    if made is None:
        abort(404)
    handle, name = made
    log_event("bag_downloaded", subject_id=job.id, file=name)
    db.session.commit()
    return send_file(handle, mimetype="application/zip", as_attachment=True, download_name=name)
