"""After publication: 更正 (open a correction draft; issue it as a 更正版) and 作废 (annul).
Each is a row of the lifecycle table with its own page, as publishing and filing are; the
operations are corrections/editions.py and annulment/operations.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from annulment.operations import annul_issue
from corrections.editions import issue_name, open_correction, reissue
from extensions import db
from forms.base import refusal, version_of
from forms.correction import ReasonForm, ReissueForm
from i18n import translate
from publishing.pipeline import PublishError
from publishing.turns import TurnTimeout
from views.access import get_brief, refuse
from workflows.brief import TRANSITIONS
from workflows.policy import Refusal, can
from workflows.transitions import ActionRefused, InvalidAction, StaleBrief

bp = Blueprint("amendments", __name__)
log = logging.getLogger(__name__)


def _stale() -> str:
    return _("Someone else changed this issue after you opened the page, so nothing was changed. What you "
             "entered is kept below; check the issue as it is now, then send it again.")


def _move_page(brief_id: int, action: str, form: Any, run: Callable[[], Response]) -> Response | tuple[str, int]:
    """The page of one move: GET shows it; POST validates, runs the operation (which commits)
    and redirects, or shows the page again with the reason, what was typed kept."""
    brief = get_brief(brief_id)
    if hasattr(form, "reason"):
        form.reason.label.text = translate(TRANSITIONS[action].comment_label)
    decision = can(current_user, brief, action)
    status, error = 200, None
    if not decision:
        if request.method != "POST" or decision.refusal is not Refusal.STATE:
            refuse(decision)
        status, error = 409, translate(decision.message)
    elif request.method == "GET":
        form.version.data = str(brief.version)
    elif form.validate_on_submit():
        try:
            return run()
        except ActionRefused as refused:
            db.session.rollback()
            if refused.decision.refusal is not Refusal.STATE:
                refuse(refused.decision)
            error, status = translate(refused.decision.message), 409
        except InvalidAction as invalid:
            error, status = translate(invalid), 422
        except (StaleBrief, StaleDataError):
            error, status = _stale(), 409
        except (PublishError, TurnTimeout):
            log.exception("%s of brief %s failed", action, brief_id)
            error, status = _("The corrected files could not be made, so nothing was changed: the issue keeps its "
                              "text and files. Please try again later or tell the administrator."), 503
        db.session.rollback()
        brief = get_brief(brief_id)
        form.version.data = str(brief.version)
    else:
        status, error = refusal(form)
    return render_template("amendments/move.html", brief=brief, form=form, error=error,
                           transition=TRANSITIONS[action], issue_name=_issue_name(brief)), status


def _issue_name(brief: Any) -> str:
    target = brief.corrects if brief.corrects_id is not None else brief
    return issue_name(target) if target.issue_number is not None else ""


@bp.route("/briefs/<int:brief_id>/correct", methods=["GET", "POST"])
def correct(brief_id: int) -> Response | tuple[str, int]:
    """An editor opens the correction draft of an issue (更正); the issue stays as it is."""
    form = ReasonForm()

    def run() -> Response:
        draft = open_correction(db.session, brief_id, current_user, form.reason.data,
                                expected_version=version_of(form))
        flash(_("The correction draft was made. Edit it, then submit it: another editor reviews it and a "
                "signer signs it."), "success")
        return redirect(url_for("briefs.show", brief_id=draft.id))

    return _move_page(brief_id, "correct", form, run)


@bp.route("/briefs/<int:brief_id>/reissue", methods=["GET", "POST"])
def reissue_form(brief_id: int) -> Response | tuple[str, int]:
    """An editor issues a signed correction draft as the 更正版 of its issue."""
    form = ReissueForm()

    def run() -> Response:
        draft = reissue(db.session, brief_id, current_user, expected_version=version_of(form))
        flash(_("The corrected edition was issued: the issue's new PDF and copies replace the old ones, "
                "which are kept."), "success")
        return redirect(url_for("briefs.show", brief_id=draft.corrects_id))

    return _move_page(brief_id, "reissue", form, run)


@bp.route("/briefs/<int:brief_id>/annul", methods=["GET", "POST"])
def annul(brief_id: int) -> Response | tuple[str, int]:
    """A signer annuls an issue (作废): its copies are recalled, its numbers never reused."""
    form = ReasonForm()

    def run() -> Response:
        _brief, recalled = annul_issue(db.session, brief_id, current_user, form.reason.data,
                                       expected_version=version_of(form))
        flash(_("The issue was annulled; %(count)d copies are recalled.", count=recalled), "success")
        return redirect(url_for("briefs.show", brief_id=brief_id))

    return _move_page(brief_id, "annul", form, run)
