"""领导批示: registering one on an issue, the list of follow-ups (批示落实) and one follow-up."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from extensions import db
from forms.base import refusal
from forms.signoff import FollowUpForm, InstructionForm
from i18n import translate
from instructions.operations import NewInstruction, register_instruction, update_follow_up
from models import Brief, FollowUp, Instruction, Recipient, User, UserRole
from publishing.services import file_store
from signoff.scans import ScanRefused
from views.access import get_brief, refuse, require
from workflows.instructions import ACT, INSTRUCTION_KINDS, levels
from workflows.policy import FOLLOW_UP, READ, REGISTER_INSTRUCTION, can, readable_clause
from workflows.roles import Role
from workflows.transitions import ActionRefused, InvalidAction

bp = Blueprint("instructions", __name__)


def instruction_levels() -> list[str]:
    return levels(current_app.config["CANYUE_INSTRUCTION_LEVELS"])


def _choices(form: InstructionForm) -> None:
    recipients = db.session.scalars(select(Recipient).where(Recipient.active).order_by(Recipient.name)).all()
    form.recipient_id.choices = [(0, "—")] + [(r.id, r.label) for r in recipients]
    form.level.choices = [(level, level) for level in instruction_levels()]
    form.kind.choices = [(k, translate(label)) for k, label in INSTRUCTION_KINDS.items()]
    editors = db.session.scalars(select(User).join(UserRole).where(UserRole.role == Role.EDITOR.value, User.active)
                                 .order_by(User.display_name)).all()
    form.owner_id.choices = [(0, "—")] + [(u.id, u.display_name) for u in editors]


@bp.route("/briefs/<int:brief_id>/instructions/new", methods=["GET", "POST"])
def new(brief_id: int) -> Response | str | tuple[str, int]:
    brief = get_brief(brief_id, REGISTER_INSTRUCTION)
    form = InstructionForm()
    _choices(form)
    error, status = None, 200
    if request.method == "GET" and Role.EDITOR in current_user.role_set:
        form.owner_id.data = current_user.id
    if form.validate_on_submit():
        upload = form.scan.data
        data = upload.read() if upload else b""
        entry = NewInstruction(
            leader_name=form.leader_name.data or "", level=form.level.data, given_on=form.given_on.data,
            text=form.text.data or "", kind=form.kind.data, recipient_id=form.recipient_id.data or None,
            responsible_name=form.responsible_name.data or "", owner_id=form.owner_id.data or None,
            due_on=form.due_on.data)
        try:
            register_instruction(db.session, file_store(), brief, current_user, entry, levels=instruction_levels(),
                                 scan=data, scan_name=getattr(upload, "filename", "") or "")
            db.session.commit()
        except ActionRefused as refused:
            db.session.rollback()
            refuse(refused.decision)
        except (InvalidAction, ScanRefused) as invalid:
            db.session.rollback()
            error, status = translate(invalid), 422
        except StaleDataError:
            db.session.rollback()
            error, status = _("Someone else changed this brief meanwhile. Nothing was registered; please try again."), 409
        else:
            flash(_("The instruction was registered."), "success")
            return redirect(url_for("briefs.show", brief_id=brief_id) + "#instructions")
        brief = get_brief(brief_id)
    elif request.method == "POST":
        status, error = refusal(form)
    return render_template("instructions/new.html", brief=brief, form=form, error=error, act_kind=ACT), status


@bp.get("/follow-ups")
def follow_ups() -> str:
    """批示落实: the follow-ups of the instructions, open ones first, overdue marked."""
    require("follow_ups")
    show = request.args.get("show", "open")
    query = (select(FollowUp).join(Instruction).join(Brief, Brief.id == Instruction.brief_id)
             .where(readable_clause(current_user, Brief)))
    if show == "open":
        query = query.where(FollowUp.done.is_(False))
    elif show == "mine":
        query = query.where(FollowUp.owner_id == current_user.id, FollowUp.done.is_(False))
    else:
        show = "all"
    rows = db.session.scalars(query.order_by(FollowUp.done, FollowUp.due_on, FollowUp.id).limit(500)).unique().all()
    return render_template("instructions/follow_ups.html", rows=rows, show=show, today=datetime.now(UTC).date())


@bp.route("/follow-ups/<int:follow_up_id>", methods=["GET", "POST"])
def follow_up(follow_up_id: int) -> Response | str | tuple[str, int]:
    row = db.session.get(FollowUp, follow_up_id)
    if row is None:
        abort(404)
    brief = get_brief(row.instruction.brief_id, READ)
    may_update = bool(can(current_user, brief, FOLLOW_UP))
    form = FollowUpForm()
    error, status = None, 200
    if request.method == "GET":
        form.done.data = "done" if row.done else "open"
    elif not may_update:
        refuse(can(current_user, brief, FOLLOW_UP))
    elif form.validate_on_submit():
        try:
            update_follow_up(db.session, row, current_user, note=form.note.data or "", done=form.done.data == "done")
            db.session.commit()
        except ActionRefused as refused:
            db.session.rollback()
            refuse(refused.decision)
        except InvalidAction as invalid:
            db.session.rollback()
            error, status = translate(invalid), 422
        else:
            flash(_("The follow-up was updated."), "success")
            return redirect(url_for("instructions.follow_up", follow_up_id=follow_up_id))
        row = db.session.get(FollowUp, follow_up_id)
    else:
        status, error = refusal(form)
    return render_template("instructions/follow_up.html", row=row, brief=brief, form=form, error=error,
                           may_update=may_update, today=datetime.now(UTC).date()), status
