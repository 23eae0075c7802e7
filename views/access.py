"""Fetch-and-check helpers: every view asks the policy before it shows or does anything."""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

from flask import abort, request
from flask_login import current_user

from extensions import db
from i18n import translate
from models import Brief, Copy
from securitylog.operations import log_security_event
from views.errors import error_page
from workflows.policy import READ, Decision, Refusal, can, may

STATUS = {Refusal.NOT_FOUND: 404, Refusal.ROLE: 403, Refusal.OWNERSHIP: 403, Refusal.STATE: 409}

SubjectT = TypeVar("SubjectT", Brief, Copy)


def refuse(decision: Decision) -> NoReturn:
    """Answer a refusal with its status and its reason, in the user's language."""
    assert decision.refusal is not None
    abort(error_page(STATUS[decision.refusal], translate(decision.message)))


def _get_checked(model: type[SubjectT], subject_id: int, action: str) -> SubjectT:
    """The record, if it exists and the current user may take `action` on it (else 404/403/409)."""
    subject = db.session.get(model, subject_id)
    if subject is None:
        abort(404)
    decision = can(current_user, subject, action)
    if not decision and action == READ and decision.refusal is Refusal.NOT_FOUND and model is Brief:
        # 委托: a delegate reads what the colleague they stand in for reads (e.g. their draft).
        from inbox.delegation import acting_for

        if any(can(actor, subject, READ) for actor in acting_for(db.session, current_user._get_current_object())):
            return subject
    if not decision:
        refuse(decision)
    return subject


def get_brief(brief_id: int, action: str = READ) -> Brief:
    return _get_checked(Brief, brief_id, action)


def require(action: str) -> None:
    decision = may(current_user, action)
    if not decision:
        refuse(decision)


def get_copy(copy_id: int, action: str = READ) -> Copy:
    return _get_checked(Copy, copy_id, action)


def request_detail() -> dict[str, Any]:
    """What the security log records of the request itself: the client's address."""
    return {"ip": request.remote_addr}


def log_event(action: str, *, subject_id: int = 0, actor_name: str | None = None, **detail: Any) -> None:
    """A line of the security log for what this request does, by the user logged in (or, with
    nobody logged in, by `actor_name`). Flushes; the view commits with the rest."""
    actor = current_user._get_current_object() if current_user.is_authenticated else None  # type: ignore[attr-defined]
    log_security_event(db.session, action, actor, subject_id=subject_id, actor_name=actor_name,
                       detail={**detail, **request_detail()})
