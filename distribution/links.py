"""Signed, expiring, revocable download links to one copy's PDF.

The link carries a token signed with the app's SECRET_KEY (itsdangerous); the database keeps
only the token's SHA-256 with its expiry and revocation, so a link can be refused before it
expires and a stolen database row is no link. Every successful download is logged: which
copy, through which link or by which account, when, from which address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Copy, DownloadLink, DownloadLog
from models.types import utcnow
from workflows.copy import CLOSED_STATES, CopyState
from workflows.i18n import N_
from workflows.policy import SHARE, Refusal, can
from workflows.transitions import ActionRefused

SALT = "canyue.copy-link"


class LinkRefused(Exception):
    """A link that does not open: `status` 404 (no such link) or 410 (expired, revoked, recalled)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_link(session: Session, copy: Copy, actor: Any, secret: str, days: int,
              now: datetime | None = None) -> tuple[DownloadLink, str]:
    """A new link to `copy`, valid for `days`; the token is returned once and never stored."""
    decision = can(actor, copy, SHARE)
    if not decision:
        raise ActionRefused(decision)
    now = now or utcnow()
    token = URLSafeTimedSerializer(secret, salt=SALT).dumps({"c": copy.id, "n": secrets.token_urlsafe(18)})
    link = DownloadLink(copy_id=copy.id, token_hash=_digest(token), created_at=now, created_by_id=actor.id,
                        expires_at=now + timedelta(days=days))
    session.add(link)
    session.flush()
    return link, token


def revoke_link(session: Session, link: DownloadLink, actor: Any, now: datetime | None = None) -> None:
    decision = can(actor, link.copy, SHARE)
    if not decision and decision.refusal is not Refusal.STATE:
        raise ActionRefused(decision)  # a recalled copy's links may still be revoked
    if link.revoked_at is None:
        link.revoked_at = now or utcnow()
        link.revoked_by_id = actor.id
        session.flush()


def open_link(session: Session, token: str, secret: str, now: datetime | None = None) -> DownloadLink:
    """The link behind `token`, if it may be used now (else LinkRefused)."""
    invalid = LinkRefused(404, N_("This link is not valid."))
    link = session.scalar(select(DownloadLink).where(DownloadLink.token_hash == _digest(token)))
    if link is None or not hmac.compare_digest(link.token_hash, _digest(token)):
        raise invalid
    now = now or utcnow()
    if link.revoked_at is not None:
        raise LinkRefused(410, N_("This link has been revoked."))
    lifetime = (link.expires_at - link.created_at).total_seconds()
    try:
        payload = URLSafeTimedSerializer(secret, salt=SALT).loads(token, max_age=lifetime)
    except SignatureExpired as error:
        raise LinkRefused(410, N_("This link has expired.")) from error
    except BadSignature as error:
        raise invalid from error
    if not isinstance(payload, dict) or payload.get("c") != link.copy_id:
        raise invalid
    if link.expires_at <= now:
        raise LinkRefused(410, N_("This link has expired."))
    copy = link.copy
    if copy.recalled or CopyState(copy.state) in CLOSED_STATES or copy.state == CopyState.LOST.value:
        raise LinkRefused(410, N_("This copy has been recalled; the link no longer opens."))
    return link


def log_download(session: Session, copy: Copy, *, ip: str | None, link: DownloadLink | None = None,
                 user: Any = None) -> DownloadLog:
    entry = DownloadLog(copy_id=copy.id, link_id=link.id if link else None, user_id=user.id if user else None,
                        downloaded_at=utcnow(), ip=(ip or "")[:64])
    session.add(entry)
    session.flush()
    return entry
