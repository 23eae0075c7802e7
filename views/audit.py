"""The auditor's screens (安全审计员): the security log and the briefs' audit trail across the
installation, filtered, a page at a time, exported as CSV, and `audit verify`'s check on a
button. Read only, except that exports and checks are themselves logged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from audittrail import keys
from audittrail.anchors import anchor_file
from audittrail.verify import verify_audit
from extensions import db
from forms.audit import EventFilterForm
from forms.auth import EmptyForm
from i18n import translate
from models import AuditEvent, User
from publishing.services import file_store
from securitylog.events import EVENT_LABELS
from securitylog.export import audit_trail_csv, security_log_csv
from securitylog.operations import event_detail
from securitylog.queries import EventFilter, audit_trail_query, kinds_present, page_of, security_log_query
from views.access import log_event, require
from views.errors import error_page
from workflows.brief import EVENT_LABELS as BRIEF_EVENT_LABELS
from workflows.copy import COPY_EVENT_LABELS

bp = Blueprint("audit", __name__, url_prefix="/audit")

TRAIL_LABELS = {**BRIEF_EVENT_LABELS, **COPY_EVENT_LABELS}


def security_label(action: str) -> str:
    return translate(EVENT_LABELS.get(action, action))


def trail_label(action: str) -> str:
    return translate(TRAIL_LABELS.get(action, action))


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


def _filters(security: bool, users: list[User]) -> tuple[EventFilterForm, EventFilter]:
    """The filter form from the query string; a field that does not parse is ignored (and says so)."""
    form = EventFilterForm(request.args)
    label = security_label if security else trail_label
    form.kind.choices = [("", _("Any"))] + [(k, label(k)) for k in kinds_present(db.session, security)]
    form.user.choices = [("", _("Anyone"))] + [(str(u.id), f"{u.username}（{u.display_name}）") for u in users]
    form.validate()

    def valid(field: Any) -> Any:
        return None if field.errors else field.data

    user = form.user.data or ""
    flt = EventFilter(
        since=valid(form.since), until=valid(form.until), actions=[form.kind.data] if form.kind.data else [],
        user_id=int(user) if user.isdigit() else None, brief_id=None if security else valid(form.brief),
    )
    return form, flt


def _query_args() -> dict[str, str]:
    """The filters as given, for the pager's and the export's links."""
    return {k: v for k, v in request.args.items() if k != "page" and v}


def _detail_text(event: AuditEvent) -> list[tuple[str, str]]:
    try:
        detail = event_detail(event)
    except ValueError:
        return [("", event.reason or "")]
    return [(key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for key, value in sorted(detail.items())]


def _csv_response(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _export(security: bool, write: Callable[..., bytes], what: str, filename: str) -> Response:
    users = _users()
    _form, flt = _filters(security, users)
    query = security_log_query(flt, _zone()) if security else audit_trail_query(flt, _zone())
    events = list(db.session.scalars(query))
    data = write(events, {u.id: u.username for u in users}, _zone(), security_label if security else trail_label)
    log_event("csv_exported", what=what, rows=len(events), filters=_query_args())
    db.session.commit()
    return _csv_response(data, filename)


@bp.get("/security-log")
def security_log() -> str:
    require("view_security_log")
    users = _users()
    form, flt = _filters(True, users)
    page = form.page.data if form.page.data and not form.page.errors else 1
    events, has_more = page_of(db.session, security_log_query(flt, _zone()), page)
    return render_template(
        "audit/security_log.html", form=form, events=events, page=page, has_more=has_more, args=_query_args(),
        details={e.id: _detail_text(e) for e in events}, usernames={u.id: u.username for u in users},
        label=security_label,
    )


@bp.get("/security-log.csv")
def security_log_export() -> Response:
    require("view_security_log")
    return _export(True, security_log_csv, "security_log", "security-log.csv")


@bp.get("/trail")
def trail() -> str:
    require("view_audit_trail")
    users = _users()
    form, flt = _filters(False, users)
    page = form.page.data if form.page.data and not form.page.errors else 1
    events, has_more = page_of(db.session, audit_trail_query(flt, _zone()), page)
    return render_template(
        "audit/trail.html", form=form, events=events, page=page, has_more=has_more, args=_query_args(),
        usernames={u.id: u.username for u in users}, label=trail_label, verify_form=EmptyForm(formdata=None),
    )


@bp.get("/trail.csv")
def trail_export() -> Response:
    require("view_audit_trail")
    return _export(False, audit_trail_csv, "audit_trail", "audit-trail.csv")


@bp.post("/verify")
def verify() -> Response | tuple[str, int]:
    """`flask audit verify` on a button: every chain, the anchors, the archival PDFs' heads."""
    require("verify_audit")
    if not EmptyForm().validate_on_submit():
        abort(400)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    keyring = keys.load_keyring(app)
    if keyring is None:
        return error_page(409, _("This installation holds no audit key, so the trail cannot be verified."))
    report = verify_audit(db.session, keyring, anchor_file(app), file_store())
    outcome = "tampered" if report.tampered else ("unverifiable" if not report.verifiable else "intact")
    log_event("audit_verified", outcome=outcome, problems=len(report.breaks), events=report.events,
              anchors=report.anchors, pdfs=report.pdfs)
    db.session.commit()
    return render_template("audit/verify.html", report=report, outcome=outcome), 200
