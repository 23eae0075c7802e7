"""Signing with the 签发单 filed, recording a paper sign-off (代签), and the links between
secretaries and the leaders they act for. Set, flush, audit; never commit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Brief, PaperSignoff, SecretaryLink, StoredFile, User
from publishing.storage import Store
from rendering.pdf import STATIC_DIR, PdfRenderer
from signoff.scans import store_scan
from signoff.sheet import sheet_data, sheet_html
from workflows.brief import may_sign_for
from workflows.i18n import N_
from workflows.policy import Decision, Refusal
from workflows.roles import Role
from workflows.transitions import ActionRefused, InvalidAction, apply_transition, check_move

SHEET_CSS = STATIC_DIR / "signoff.css"


def render_sheet_pdf(session: Session, renderer: PdfRenderer, brief: Brief) -> tuple[bytes, int]:
    rendered = renderer.render_sheet(sheet_html(sheet_data(session, brief), for_pdf=True), SHEET_CSS)
    return rendered.data, rendered.pages


def file_sheet(session: Session, store: Store, renderer: PdfRenderer, brief: Brief,
               event: AuditEvent) -> StoredFile:
    """File the 签发单 as signed: a stored PDF with its SHA-256, tied to the signing event; an
    earlier sheet of the brief (signed, revoked, signed again) stays, superseded."""
    data, pages = render_sheet_pdf(session, renderer, brief)
    blob = store.put(data, suffix=".pdf")
    row = StoredFile(brief_id=brief.id, kind="signoff_sheet", path=blob.path,
                     name=f"signoff/签发单-第{brief.revision_number}稿-{event.seq}.pdf",
                     sha256=blob.sha256, size=blob.size, pages=pages, event_seq=event.seq)
    session.add(row)
    session.flush()
    for older in session.scalars(select(StoredFile).where(
            StoredFile.brief_id == brief.id, StoredFile.kind == "signoff_sheet",
            StoredFile.superseded_by_id.is_(None), StoredFile.id != row.id)):
        older.superseded_by_id = row.id
    session.flush()
    return row


def filed_sheet(session: Session, brief: Brief) -> StoredFile | None:
    return session.scalar(select(StoredFile).where(
        StoredFile.brief_id == brief.id, StoredFile.kind == "signoff_sheet", StoredFile.superseded_by_id.is_(None))
        .order_by(StoredFile.id.desc()).limit(1))


def sign(session: Session, store: Store, renderer: PdfRenderer, brief: Brief, actor: Any, *,
         comment: str | None, expected_version: int | None) -> AuditEvent:
    """签发: the lifecycle move, then the 签发单 as signed filed with the issue."""
    event = apply_transition(session, brief, "sign", actor, comment=comment, expected_version=expected_version)
    file_sheet(session, store, renderer, brief, event)
    return event


def local_date(moment: datetime | None, brief: Brief) -> date | None:
    return None if moment is None else moment.astimezone(ZoneInfo(brief.series.timezone)).date()


def record_paper_signoff(
    session: Session, store: Store, renderer: PdfRenderer, brief: Brief, secretary: Any, *,
    leader_id: int | None, signed_on: date | None, opinion: str, scan: bytes, scan_name: str,
    expected_version: int | None, today: date | None = None,
) -> PaperSignoff:
    """代签: `secretary` records that a linked leader signed `brief` on paper. The leader is
    the signer for every rule and on the sheet; the event names who recorded it for whom."""
    check_move(secretary, brief, "sign_on_paper", expected_version)
    leader = next((l for l in secretary.acting_for if l.id == leader_id), None)
    if leader is None:
        raise ActionRefused(Decision(Refusal.OWNERSHIP, N_(
            "You are not linked to this leader, so you cannot record a sign-off for them.")))
    refusal = may_sign_for(leader, brief)
    if refusal:
        raise ActionRefused(Decision(Refusal.OWNERSHIP, refusal))
    today = today or local_date(datetime.now(UTC), brief)
    assert today is not None
    if signed_on is None:
        raise InvalidAction(N_("Please give the date the leader wrote on the sheet."))
    if signed_on > today:
        raise InvalidAction(N_("The date of the sign-off cannot be in the future."))
    submitted = local_date(brief.submitted_at, brief)
    if submitted is not None and signed_on < submitted:
        raise InvalidAction(N_("The date of the sign-off cannot be before the brief was submitted (%(date)s)."),
                            date=submitted.isoformat())
    opinion = (opinion or "").strip()
    scan_row = store_scan(session, store, brief, "signoff_scan", scan, scan_name)
    zone = ZoneInfo(brief.series.timezone)
    brief.signed_by_id = leader.id
    brief.signed_at = datetime.combine(signed_on, time(12, 0), tzinfo=zone).astimezone(UTC)
    brief.signer_name = leader.display_name
    brief.sign_opinion = opinion or None
    on_behalf = f"{secretary.display_name}代{leader.display_name}"[:64]
    event = apply_transition(session, brief, "sign_on_paper", secretary, comment=opinion or None,
                             expected_version=expected_version, actor_name=on_behalf)
    record = PaperSignoff(brief_id=brief.id, leader_id=leader.id, leader_name=leader.display_name,
                          secretary_id=secretary.id, secretary_name=secretary.display_name, signed_on=signed_on,
                          opinion=opinion, scan_id=scan_row.id, event_seq=event.seq)
    session.add(record)
    session.flush()
    file_sheet(session, store, renderer, brief, event)
    return record


# --- who acts for whom -------------------------------------------------------------------------

class LinkRefused(ValueError):
    """A link that cannot be made; the message is marked for translation."""


def link_secretary(session: Session, actor: Any, secretary: User, leader: User) -> SecretaryLink:
    if Role.SECRETARY not in secretary.role_set:
        raise LinkRefused(N_("Only an account holding the secretary role can act for a leader."))
    if Role.SIGNER not in leader.role_set:
        raise LinkRefused(N_("Only a signing leader can have a secretary record sign-offs for them."))
    if secretary.id == leader.id:
        raise LinkRefused(N_("Nobody acts for themselves."))
    existing = session.get(SecretaryLink, (secretary.id, leader.id))
    if existing is not None:
        return existing
    link = SecretaryLink(secretary_id=secretary.id, leader_id=leader.id, created_by_id=actor.id)
    session.add(link)
    session.flush()
    session.expire(secretary, ["acting_for"])
    return link


def unlink_secretary(session: Session, secretary: User, leader: User) -> bool:
    link = session.get(SecretaryLink, (secretary.id, leader.id))
    if link is None:
        return False
    session.delete(link)
    session.flush()
    session.expire(secretary, ["acting_for"])
    return True
