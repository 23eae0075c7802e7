"""Correcting an issued brief's date and numbers: the request form and the confirmation page.
Withdrawing and rejecting a request are action forms of the brief page (views/briefs.py)."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from corrections.operations import confirm_correction, request_correction
from extensions import db
from forms.brief import version_of
from forms.correction import ConfirmCorrectionForm, CorrectionForm
from i18n import translate
from models import Brief
from publishing.pipeline import PublishError
from publishing.turns import TurnTimeout
from views.access import get_brief, refuse
from workflows.policy import ISSUED_STATES, Refusal, can
from workflows.transitions import ActionRefused, InvalidAction, StaleBrief

bp = Blueprint("corrections", __name__)
log = logging.getLogger(__name__)


def _stale_message() -> str:
    return _("Someone else changed this issue after you opened the page, so nothing was changed. What you "
             "entered is kept below; check the issue as it is now, then send it again.")


def _open(brief_id: int, action: str) -> tuple[Brief, str | None]:
    """The issue, if the user may take `action` on it now. On a POST, a refusal by the issue's
    state (a request came in, a copy was sent since the page was loaded) keeps the page and
    what was typed on it, with the reason; any other refusal answers as usual (views.access)."""
    brief = get_brief(brief_id)
    decision = can(current_user, brief, action)
    if decision:
        return brief, None
    if (request.method == "POST" and decision.refusal is Refusal.STATE
            and brief.state in {s.value for s in ISSUED_STATES}):
        return brief, translate(decision.message)
    refuse(decision)


@bp.route("/briefs/<int:brief_id>/correction", methods=["GET", "POST"])
def request_form(brief_id: int) -> Response | tuple[str, int] | str:
    """An editor asks for the issue's date and/or numbers to be corrected."""
    brief, refused = _open(brief_id, "request_correction")
    form = CorrectionForm()
    status, error = 200, None
    if refused:
        status, error = 409, refused
    elif request.method == "GET":
        form.fill_from(brief)
    elif form.validate_on_submit():
        try:
            request_correction(
                db.session, brief_id, current_user,
                issue_date=form.issue_date.data, issue_number=form.issue_number.data,
                total_number=form.total_number.data, reason=form.reason.data, expected_version=version_of(form),
            )
        except ActionRefused as move:  # the issue changed between the check and the move
            db.session.rollback()
            brief, error = _open(brief_id, "request_correction")
            error, status = error or translate(move.decision.message), 409
        except InvalidAction as invalid:
            error, status = translate(invalid), 422
        except (StaleBrief, StaleDataError):
            error, status = _stale_message(), 409
        else:
            flash(_("The correction was requested; a signer other than you confirms it."), "success")
            return redirect(url_for("briefs.show", brief_id=brief_id))
        db.session.rollback()
        brief = get_brief(brief_id)
        form.version.data = str(brief.version)  # what was typed stays; the page now shows the issue as it is
    else:
        status = 422
    return render_template("corrections/request.html", brief=brief, form=form, error=error), status


@bp.route("/briefs/<int:brief_id>/correction/confirm", methods=["GET", "POST"])
def confirm_form(brief_id: int) -> Response | tuple[str, int] | str:
    """A signer sees the pending correction beside the issue as it is, and confirms it."""
    brief, refused = _open(brief_id, "confirm_correction")
    form = ConfirmCorrectionForm()
    status, error = 200, None
    if refused:
        status, error = 409, refused
    elif request.method == "GET":
        form.version.data = str(brief.version)
    elif form.validate_on_submit():
        try:
            confirm_correction(db.session, brief_id, current_user, opinion=form.comment.data,
                               expected_version=version_of(form))
        except ActionRefused as move:  # the issue changed between the check and the move
            db.session.rollback()
            brief, error = _open(brief_id, "confirm_correction")
            error, status = error or translate(move.decision.message), 409
        except InvalidAction as invalid:
            error, status = translate(invalid), 422
        except (StaleBrief, StaleDataError):
            error, status = _stale_message(), 409
        except (PublishError, TurnTimeout):
            log.exception("correcting brief %s failed", brief_id)
            error, status = _("The corrected files could not be made, so nothing was changed: the issue keeps its "
                              "date, numbers and files, and the request is still pending. Please try again "
                              "later or tell the administrator."), 503
        else:
            flash(_("The correction was applied: the issue now has its new date and numbers."), "success")
            return redirect(url_for("briefs.show", brief_id=brief_id))
        db.session.rollback()
        brief = get_brief(brief_id)
        form.version.data = str(brief.version)
    else:
        status = 422
    return render_template("corrections/confirm.html", brief=brief, form=form, error=error), status
