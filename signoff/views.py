"""The 签发单 page (the signer's page), its PDF, the secretary's paper sign-off form, the scans,
and the security administrator's screen of who acts for whom."""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from extensions import db
from forms.base import refusal, version_of
from forms.brief import ActionForm
from forms.signoff import PaperSignoffForm, SecretaryLinkForm
from forms.auth import EmptyForm
from i18n import translate
from models import Brief, PaperSignoff, SecretaryLink, StoredFile, User, UserRole
from publishing.services import file_store, pdf_renderer
from publishing.storage import FixityError
from signoff.operations import (
    LinkRefused,
    filed_sheet,
    link_secretary,
    record_paper_signoff,
    render_sheet_pdf,
    unlink_secretary,
)
from signoff.scans import ScanRefused
from signoff.sheet import sheet_data
from views.access import get_brief, refuse, require
from views.auth import security_log
from views.errors import error_page
from workflows.brief import TRANSITIONS, State
from workflows.policy import READ, can
from workflows.roles import Role
from workflows.transitions import ActionRefused, InvalidAction, StaleBrief

bp = Blueprint("signoff", __name__)
log = logging.getLogger(__name__)

# A brief has its 签发单 from the moment it awaits sign-off.
SHEET_STATES = frozenset({State.AWAITING_SIGNOFF.value, State.SIGNED.value, State.PUBLISHED.value,
                          State.ARCHIVED.value})
SCAN_KINDS = frozenset({"signoff_scan", "instruction_scan", "signoff_sheet"})


def _sheet_brief(brief_id: int) -> Brief:
    brief = get_brief(brief_id)
    if brief.state not in SHEET_STATES:
        abort(error_page(404, _("This brief has no sign-off sheet yet: it has one once it awaits sign-off.")))
    return brief


def phrases() -> list[str]:
    return [p.strip() for p in current_app.config["CANYUE_SIGN_PHRASES"].split("|") if p.strip()]


@bp.get("/briefs/<int:brief_id>/signoff")
def sheet(brief_id: int) -> str:
    """签发单: the leader reads the title, who reviewed it and when, opens the preview, writes
    an opinion (or picks a stock phrase) and signs, here on the sheet itself."""
    brief = _sheet_brief(brief_id)
    sign_form = None
    if can(current_user, brief, "sign"):
        sign_form = ActionForm(prefix="sign", version=brief.version, formdata=None)
    paper = db.session.scalars(select(PaperSignoff).where(PaperSignoff.brief_id == brief.id)
                               .order_by(PaperSignoff.id)).all()
    return render_template(
        "signoff/page.html", brief=brief, sheet=sheet_data(db.session, brief), sign_form=sign_form,
        sign=TRANSITIONS["sign"], phrases=phrases(), filed=filed_sheet(db.session, brief),
        may_record=bool(can(current_user, brief, "sign_on_paper")), paper=paper,
        may_send_back=bool(can(current_user, brief, "send_back")),
    )


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/briefs/<int:brief_id>/signoff.pdf")
def sheet_pdf(brief_id: int) -> Response:
    """The filed sheet as signed (served only while it matches its SHA-256), or, before the
    signature, the sheet as it stands, made now."""
    brief = _sheet_brief(brief_id)
    filed = filed_sheet(db.session, brief) if brief.state != State.AWAITING_SIGNOFF.value else None
    if filed is not None:
        try:
            data = file_store().read_verified(filed.path, filed.sha256)
        except FixityError as error:
            log.error("brief %s: sign-off sheet %s failed its fixity check: %s", brief_id, filed.path, error)
            abort(error_page(409, _("The filed sign-off sheet no longer matches its recorded fingerprint, so it "
                                    "is not served. Please tell the archivist.")))
    else:
        data, _pages = render_sheet_pdf(db.session, pdf_renderer(), brief)
    return _pdf(data, f"{brief.series.name}-签发单-{brief.title[:30]}.pdf")


@bp.get("/scans/<int:file_id>")
def scan(file_id: int) -> Response:
    """A scan (the paper 签发单, a 批示件) or a filed sheet, to whoever reads its brief."""
    stored = db.session.get(StoredFile, file_id)
    if stored is None or stored.kind not in SCAN_KINDS:
        abort(404)
    get_brief(stored.brief_id)
    try:
        data = file_store().read_verified(stored.path, stored.sha256)
    except FixityError:
        abort(error_page(409, _("The stored file no longer matches its recorded fingerprint, so it is not served.")))
    mime = "application/pdf" if stored.name.endswith(".pdf") else (
        "image/png" if stored.name.endswith(".png") else "image/jpeg")
    response = Response(data, mimetype=mime)
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(stored.name.rsplit('/', 1)[-1])}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _leader_choices(form: PaperSignoffForm) -> None:
    form.leader_id.choices = [(0, "—")] + [(l.id, l.display_name) for l in current_user.acting_for]


@bp.route("/briefs/<int:brief_id>/signoff/paper", methods=["GET", "POST"])
def paper_form(brief_id: int) -> Response | str | tuple[str, int]:
    """代签: the secretary records the sign-off a linked leader wrote on the paper sheet."""
    brief = get_brief(brief_id, "sign_on_paper")
    form = PaperSignoffForm()
    _leader_choices(form)
    if request.method == "GET":
        form.version.data = str(brief.version)
        if len(current_user.acting_for) == 1:
            form.leader_id.data = current_user.acting_for[0].id
    error, status = None, 200
    if form.validate_on_submit():
        upload = form.scan.data
        data = upload.read() if upload else b""
        try:
            record_paper_signoff(
                db.session, file_store(), pdf_renderer(), brief, current_user,
                leader_id=form.leader_id.data, signed_on=form.signed_on.data, opinion=form.opinion.data or "",
                scan=data, scan_name=getattr(upload, "filename", "") or "", expected_version=version_of(form))
            db.session.commit()
        except ActionRefused as refused:
            db.session.rollback()
            refuse(refused.decision)
        except (InvalidAction, ScanRefused) as invalid:
            db.session.rollback()
            error, status = translate(invalid), 422
        except (StaleBrief, StaleDataError):
            db.session.rollback()
            error, status = _("Someone else changed this brief after you opened it. Nothing was recorded."), 409
        else:
            flash(_("The paper sign-off was recorded and the sign-off sheet filed."), "success")
            if can(current_user, brief, READ):
                return redirect(url_for("signoff.sheet", brief_id=brief_id))
            return redirect(url_for("inbox.index"))
        brief = get_brief(brief_id)
    elif request.method == "POST":
        status, error = refusal(form)
    return render_template("signoff/paper.html", brief=brief, form=form, error=error,
                           sheet=sheet_data(db.session, brief)), status


# --- the security administrator: who acts for whom --------------------------------------------

def _holders(role: Role) -> list[User]:
    return list(db.session.scalars(select(User).join(UserRole).where(UserRole.role == role.value, User.active)
                                   .order_by(User.display_name)))


@bp.route("/security/secretaries", methods=["GET", "POST"])
def secretaries() -> Response | str | tuple[str, int]:
    require("manage_secretaries")
    form = SecretaryLinkForm()
    form.secretary_id.choices = [(u.id, f"{u.display_name} ({u.username})") for u in _holders(Role.SECRETARY)]
    form.leader_id.choices = [(u.id, f"{u.display_name} ({u.username})") for u in _holders(Role.SIGNER)]
    status, error = 200, None
    if form.validate_on_submit():
        secretary = db.session.get(User, form.secretary_id.data)
        leader = db.session.get(User, form.leader_id.data)
        try:
            if secretary is None or leader is None:
                raise LinkRefused("not found")
            link_secretary(db.session, current_user, secretary, leader)
            security_log("secretary_linked", current_user._get_current_object(),  # type: ignore[attr-defined]
                         secretary=secretary.username, leader=leader.username)
            db.session.commit()
        except LinkRefused as refused:
            db.session.rollback()
            error, status = translate(refused), 422
        else:
            flash(_("%(secretary)s now records sign-offs for %(leader)s.", secretary=secretary.display_name,
                    leader=leader.display_name), "success")
            return redirect(url_for("signoff.secretaries"))
    elif request.method == "POST":
        status, error = refusal(form)
    links = db.session.scalars(select(SecretaryLink).order_by(SecretaryLink.secretary_id,
                                                              SecretaryLink.leader_id)).all()
    return render_template("signoff/secretaries.html", form=form, links=links, error=error,
                           unlink_form=EmptyForm(formdata=None)), status


@bp.post("/security/secretaries/<int:secretary_id>/<int:leader_id>/unlink")
def unlink(secretary_id: int, leader_id: int) -> Response:
    require("manage_secretaries")
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(error_page(400, _("The form was incomplete. Please try again.")))
    secretary, leader = db.session.get(User, secretary_id), db.session.get(User, leader_id)
    if secretary is None or leader is None or not unlink_secretary(db.session, secretary, leader):
        abort(404)
    security_log("secretary_unlinked", current_user._get_current_object(),  # type: ignore[attr-defined]
                 secretary=secretary.username, leader=leader.username)
    db.session.commit()
    flash(_("%(secretary)s no longer records sign-offs for %(leader)s.", secretary=secretary.display_name,
            leader=leader.display_name), "success")
    return redirect(url_for("signoff.secretaries"))
