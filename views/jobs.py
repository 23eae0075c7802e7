"""The background jobs on the admin's home (templates/admin/_failed_mail.html): what failed, what
waits, and retrying a failed job."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from extensions import db
from jobs import operations
from views.access import log_event, require

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"job_queue_status": lambda: operations.queue_status(db.session)}


@bp.post("/<int:job_id>/retry")
def retry(job_id: int) -> Response:
    require("retry_jobs")
    try:
        job = operations.retry(db.session, job_id)
    except LookupError:
        abort(404)
    except operations.JobNotRetryable:
        flash(_("This job is no longer failed; nothing to retry."), "error")
        return redirect(url_for("admin.home"))
    log_event("job_retried", subject_id=job.id, kind=job.kind)
    db.session.commit()
    flash(_("The job is queued again."), "success")
    return redirect(url_for("admin.home"))
