"""The user's notifications (the bell, /notifications) and their settings on the account page.
Every signed-in user has their own; nobody sees or marks another's. (CSRFProtect checks every
POST's token before the view.)"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from extensions import db
from forms.notifications import NotificationSettingsForm
from i18n import translate
from models import Notification
from notifications import operations
from notifications.kinds import HEADLINES, KINDS
from notifications.mail import one_line
from views.access import require
from workflows.brief import EVENT_LABELS, TRANSITIONS
from workflows.policy import OWN_NOTIFICATIONS, READ, can

bp = Blueprint("notifications", __name__)

PER_PAGE = 30


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"unread_notifications": _unread}


def _unread() -> int:
    if not current_user.is_authenticated:
        return 0
    return operations.unread_count(db.session, current_user.id)


def settings_form(formdata: Any = None) -> NotificationSettingsForm:
    """The form on the account page, filled with the user's settings."""
    choices = operations.preferences(db.session, current_user.id)
    data = {"email": current_user.email or "", **{f"mail_{kind}": choices[kind] for kind in KINDS}}
    return NotificationSettingsForm(formdata=formdata, prefix="notify", data=data)


def _item(notification: Notification) -> dict[str, Any]:
    params = json.loads(notification.params or "{}")
    brief = notification.brief
    readable = brief is not None and bool(can(current_user, brief, READ))
    title = one_line(brief.title) if readable and brief is not None else _("a brief you can no longer open")
    move = TRANSITIONS.get(params.get("move") or "")
    event = params.get("event")
    return {
        "id": notification.id,
        "headline": translate(HEADLINES[notification.kind]) % {"title": title, "actor": notification.actor_name}
        if notification.kind in HEADLINES else title,
        "event": translate(EVENT_LABELS[event]) if event in EVENT_LABELS else "",
        "todo": translate(move.todo) if move is not None and move.todo else "",
        "reason": params.get("reason") if readable else "",
        "actor": notification.actor_name,
        "brief_id": brief.id if readable and brief is not None else None,
        "created_at": notification.created_at,
        "unread": notification.read_at is None,
    }


@bp.get("/notifications")
def index() -> str:
    require(OWN_NOTIFICATIONS)
    page = request.args.get("page", 1, type=int) or 1
    page = max(1, min(page, 100000))
    mine = Notification.user_id == current_user.id
    total = int(db.session.scalar(select(func.count(Notification.id)).where(mine)) or 0)
    rows = db.session.scalars(select(Notification).where(mine).order_by(Notification.id.desc())
                              .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return render_template("notifications/index.html", items=[_item(n) for n in rows], page=page,
                           pages=max(1, -(-total // PER_PAGE)), total=total,
                           unread=operations.unread_count(db.session, current_user.id))


@bp.post("/notifications/<int:notification_id>/read")
def mark_read(notification_id: int) -> Response:
    require(OWN_NOTIFICATIONS)
    if not operations.mark_read(db.session, current_user.id, notification_id):
        abort(404)
    db.session.commit()
    return redirect(url_for("notifications.index", page=request.form.get("page", 1, type=int) or 1))


@bp.post("/notifications/read-all")
def mark_all_read() -> Response:
    require(OWN_NOTIFICATIONS)
    operations.mark_all_read(db.session, current_user.id)
    db.session.commit()
    flash(_("All notifications are marked read."), "success")
    return redirect(url_for("notifications.index"))


@bp.post("/account/notifications")
def settings() -> Response | tuple[str, int]:
    require(OWN_NOTIFICATIONS)
    form = settings_form(request.form)
    if not form.validate_on_submit():
        from views.account import _account_page, _forms

        profile, password, confirm = _forms()
        return _account_page(profile, password, confirm, 422, notify=form)
    operations.set_preferences(db.session, current_user._get_current_object(), form.email.data, form.by_mail())
    db.session.commit()
    flash(_("Your notification settings were saved."), "success")
    return redirect(url_for("auth.account") + "#notifications")

