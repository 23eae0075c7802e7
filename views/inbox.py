"""The inbox (我的待办): 待办, 代办 (colleagues' work while they are away), 已办, 我发起的 and the
copies waiting to be sent or signed for; the comment thread and deadline forms of a brief;
delegations on the account page; the admin's list of days off."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from comments.operations import CommentRefused, post_comment
from extensions import db
from instructions.operations import overdue_follow_ups
from forms.base import refusal
from forms.inbox import CommentForm, DayOffForm, DeadlineForm, DelegationForm
from i18n import translate
from inbox import delegation, queries
from inbox.due import refresh_open, set_deadline, today
from inbox.holders import HolderResolver
from inbox.paging import Page, paginate
from models import DayOff, User, UserRole
from views.access import get_brief, log_event, refuse, require
from views.inputs import int_arg
from workflows.brief import TRANSITIONS
from workflows.holders import held_moves
from workflows.limits import MAX_PAGE
from workflows.policy import BROWSE_BRIEFS, may
from workflows.roles import Role
from workflows.transitions import ActionRefused

bp = Blueprint("inbox", __name__)

# Roles whose 待办 can hold something (an administrator holding none goes to the system status).
BRIEF_WORKERS = frozenset({"drafter", "editor", "signer", "archivist", "clerk", "secretary"})
TABS = ("todo", "delegated", "done", "mine", "copies")
PER_PAGE = 30


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _acting() -> list[Any]:
    if "acting_for" not in g:
        g.acting_for = delegation.acting_for(db.session, _me()) if current_user.is_authenticated else []
    return g.acting_for  # type: ignore[no-any-return]


def inbox_count() -> int:
    """The number on the menu's 我的待办: my 待办 and my colleagues' while I act for them."""
    if "inbox_count" not in g:
        g.inbox_count = (queries.todo_count([_me(), *_acting()])
                         if current_user.is_authenticated and may(current_user, BROWSE_BRIEFS) else 0)
    return g.inbox_count  # type: ignore[no-any-return]


@bp.app_context_processor
def _menu() -> dict[str, Any]:
    return {"inbox_count": inbox_count}


def _tabs() -> list[str]:
    tabs = ["todo"]
    if _acting():
        tabs.append("delegated")
    tabs += ["done", "mine"]
    if may(current_user, "distribution"):
        tabs.append("copies")
    return tabs


@bp.get("/")
def index() -> Response | str:
    """我的待办 with its tabs; each list is one paginated query filtered in the database."""
    if not may(current_user, BROWSE_BRIEFS):  # the auditor reads no brief: their work is the log
        return redirect(url_for("audit.security_log"))
    if may(current_user, "manage_users") and not current_user.role_set & BRIEF_WORKERS:
        return redirect(url_for("admin.home"))  # an admin moves no brief: their home is the system
    tabs = _tabs()
    tab = request.args.get("tab", "todo")
    if tab not in tabs:
        tab = "todo"
    number = int_arg("page", high=MAX_PAGE, default=1) or 1
    me = _me()
    resolver = HolderResolver(db.session)
    context: dict[str, Any] = {"tab": tab, "tabs": tabs, "today": today(),
                               "todo_labels": {t.action: t.todo for t in TRANSITIONS.values() if t.todo}}
    if tab == "todo":
        counts = queries.todo_counts(me)
        if not _acting():
            g.inbox_count = sum(counts.values())  # the menu's number: the same count, not asked again
        page = paginate(db.session, queries.todo_query(me), number, PER_PAGE)
        groups: dict[str, list[Any]] = {}
        for brief in page.items:
            moves = held_moves(me, brief)
            groups.setdefault(moves[0].action if moves else "", []).append(brief)
        context.update(counts=counts, groups=[(TRANSITIONS[a], rows) for a, rows in groups.items() if a],
                       returned=_returned(page.items),
                       overdue=overdue_follow_ups(db.session, current_user))  # 批示落实 past their due date
    elif tab == "delegated":
        actors = _acting()
        chosen = int_arg("for")
        actor = next((a for a in actors if a.principal.id == chosen), actors[0])
        page = paginate(db.session, queries.todo_query(actor), number, PER_PAGE)
        context.update(actors=actors, actor=actor,
                       moves={b.id: held_moves(actor, b) for b in page.items}, returned=_returned(page.items))
    elif tab == "done":
        page = paginate(db.session, queries.done_query(me), number, PER_PAGE, rows=True)
    elif tab == "mine":
        page = paginate(db.session, queries.mine_query(me), number, PER_PAGE)
    else:
        page = paginate(db.session, queries.copies_query(me), number, PER_PAGE, rows=True)
    briefs = [item[0] if isinstance(item, tuple) else item for item in page.items]
    context.update(page=page, holding=resolver.many(b for b in briefs if tab != "copies"))
    return render_template("inbox/index.html", **context)


def _returned(briefs: list[Any]) -> dict[int, Any]:
    from views.briefs import _returned_reasons

    return _returned_reasons([b.id for b in briefs])


def page_url(tab: str, page: Page, number: int, **extra: Any) -> str:
    return url_for("inbox.index", tab=tab, page=number, **extra)


# ---------------------------------------------------------------------------------------------
# A brief's comment thread and deadline
# ---------------------------------------------------------------------------------------------

@bp.post("/briefs/<int:brief_id>/comments")
def comment(brief_id: int) -> Response | tuple[str, int]:
    from views.briefs import _render_show

    brief = get_brief(brief_id, "comment")
    form = CommentForm(prefix="comment")
    if not form.validate_on_submit():
        status, reason = refusal(form)
        return _render_show(brief, comment_form=form, comment_error=reason), status
    try:
        post_comment(db.session, brief, _me(), form.body.data or "")
        db.session.commit()
    except ActionRefused as refused:
        db.session.rollback()
        refuse(refused.decision)
    except CommentRefused as refused:
        db.session.rollback()
        return _render_show(brief, comment_form=form,
                            comment_error=_(refused.message, **refused.params)), 422
    flash(_("Your comment was posted."), "success")
    return redirect(url_for("briefs.show", brief_id=brief_id, _anchor="comments"))


@bp.post("/briefs/<int:brief_id>/deadline")
def deadline(brief_id: int) -> Response | tuple[str, int]:
    from views.briefs import _render_show

    brief = get_brief(brief_id, "set_deadline")
    form = DeadlineForm(prefix="deadline")
    if not form.validate_on_submit():
        status, reason = refusal(form)
        return _render_show(brief, error=reason), status
    chosen: date | None = form.deadline.data
    if chosen is not None and chosen < today():
        return _render_show(brief, error=_("The deadline is in the past; choose today or a later day.")), 422
    try:
        set_deadline(db.session, brief, _me(), chosen)
        db.session.commit()
    except ActionRefused as refused:
        db.session.rollback()
        refuse(refused.decision)
    flash(_("The deadline was set.") if chosen else _("The deadline was removed."), "success")
    return redirect(url_for("briefs.show", brief_id=brief_id))


# ---------------------------------------------------------------------------------------------
# 委托 on the account page
# ---------------------------------------------------------------------------------------------

def delegation_form() -> DelegationForm:
    me = _me()
    form = DelegationForm(prefix="delegation")
    roles = sorted(me.role_set & delegation.DELEGABLE)
    form.role.choices = [(r, translate_role(r)) for r in roles]
    colleagues = db.session.scalars(
        db.select(User).where(User.active, User.id != me.id,
                              User.id.in_(db.select(UserRole.user_id).where(UserRole.role.in_(roles or [""]))))
        .order_by(User.display_name)
    ).all()
    form.delegate_id.choices = [(u.id, f"{u.display_name}（{u.username}）") for u in colleagues]
    return form


def translate_role(role: str) -> str:
    from workflows.roles import ROLE_LABELS

    return translate(ROLE_LABELS[Role(role)])


@bp.app_context_processor
def _delegations() -> dict[str, Any]:
    def panel() -> dict[str, Any]:
        me = _me()
        return {
            "form": delegation_form() if may(me, "delegate") else None,
            "given": db.session.scalars(db.select(delegation.Delegation).where(
                delegation.Delegation.principal_id == me.id, delegation.Delegation.revoked_at.is_(None),
                delegation.Delegation.ends_on >= today()).order_by(delegation.Delegation.starts_on)).all(),
            "received": delegation.in_force(db.session, delegate_id=me.id),
        }

    return {"delegation_panel": panel}


@bp.post("/account/delegations")
def delegate() -> Response:
    require("delegate")
    form = delegation_form()
    if not form.validate_on_submit():
        _status, reason = refusal(form)
        flash(reason or _("Please check the delegation."), "error")
        return redirect(url_for("auth.account", _anchor="delegation"))
    try:
        delegation.create(db.session, _me(), db.session.get(User, form.delegate_id.data), form.role.data,
                          form.starts_on.data, form.ends_on.data)
        db.session.commit()
    except delegation.DelegationRefused as refused:
        db.session.rollback()
        flash(translate(str(refused)), "error")
        return redirect(url_for("auth.account", _anchor="delegation"))
    flash(_("The delegation was saved."), "success")
    return redirect(url_for("auth.account", _anchor="delegation"))


@bp.post("/account/delegations/<int:delegation_id>/end")
def end_delegation(delegation_id: int) -> Response:
    require("delegate")  # the CSRF token is checked for every POST (extensions.csrf)
    try:
        delegation.revoke(db.session, _me(), delegation_id)
        db.session.commit()
    except delegation.DelegationRefused as refused:
        db.session.rollback()
        flash(translate(str(refused)), "error")
        return redirect(url_for("auth.account", _anchor="delegation"))
    flash(_("The delegation was ended."), "success")
    return redirect(url_for("auth.account", _anchor="delegation"))


# ---------------------------------------------------------------------------------------------
# The organisation's days off (admin)
# ---------------------------------------------------------------------------------------------

@bp.route("/admin/days-off", methods=["GET", "POST"])
def days_off() -> Response | tuple[str, int] | str:
    require("manage_days_off")
    form = DayOffForm(prefix="day")
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            day = form.day.data
            if db.session.get(DayOff, day) is not None:
                form.day.errors = [*form.day.errors, _("This day is already on the list.")]
                status = 422
            else:
                db.session.add(DayOff(day=day, note=(form.note.data or "").strip()))
                db.session.flush()
                changed = refresh_open(db.session)
                log_event("days_off_changed", added=day.isoformat(), due_dates_changed=changed)
                db.session.commit()
                flash(_("%(day)s was added; the due dates of open briefs follow.", day=day.isoformat()), "success")
                return redirect(url_for("inbox.days_off"))
        else:
            status, _reason = refusal(form)
    rows = db.session.scalars(db.select(DayOff).where(DayOff.day >= date(today().year - 1, 1, 1))
                              .order_by(DayOff.day)).all()
    return render_template("inbox/days_off.html", form=form, rows=rows), status


@bp.post("/admin/days-off/<day>/delete")
def delete_day_off(day: str) -> Response:
    require("manage_days_off")  # the CSRF token is checked for every POST (extensions.csrf)
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        parsed = None
    row = db.session.get(DayOff, parsed) if parsed else None
    if row is None:
        flash(_("This day is not on the list."), "error")
        return redirect(url_for("inbox.days_off"))
    db.session.delete(row)
    db.session.flush()
    changed = refresh_open(db.session)
    log_event("days_off_changed", removed=day, due_dates_changed=changed)
    db.session.commit()
    flash(_("%(day)s was removed; the due dates of open briefs follow.", day=day), "success")
    return redirect(url_for("inbox.days_off"))
