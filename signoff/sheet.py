"""The 签发单 of a brief: what it shows (`SheetData`), its fingerprint of the exact text signed,
its HTML (templates/signoff/sheet.html) and its PDF (rendering.pdf.PdfRenderer.render_sheet:
the issue's fonts, a fetcher that fetches nothing but data: URIs and Canyue's own files)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Brief, PaperSignoff
from publishing.pipeline import print_run_now
from rendering.printing import chinese_date


def fingerprint(content: dict[str, Any], revision: int) -> str:
    """A short fingerprint of the exact text signed: SHA-256 over the revision number and the
    content fields as canonical JSON, its first 16 hex digits in groups of four."""
    canonical = json.dumps({"revision": revision, "content": content}, ensure_ascii=False, sort_keys=True,
                           separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return " ".join(digest[i:i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class SheetData:
    series_name: str
    number_text: str  # 2026年第3期（总第31期）, or "" before publication
    title: str
    author_line: str
    drafter: str
    editor: str
    reviewed_on: str
    signer: str
    signed_on: str
    opinion: str
    print_run: int
    classification: str
    urgency: str
    revision: int
    fingerprint: str
    signed: bool
    paper: bool  # signed on paper, recorded by a secretary
    recorded_by: str


def _local(moment: Any, brief: Brief) -> date | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(brief.series.timezone)).date()


def sheet_data(session: Session, brief: Brief) -> SheetData:
    signed = brief.signer_name is not None and brief.signed_at is not None
    paper = None
    if signed:
        paper = session.scalar(select(PaperSignoff).where(PaperSignoff.brief_id == brief.id)
                               .order_by(PaperSignoff.id.desc()).limit(1))
        if paper is not None and paper.leader_id != brief.signed_by_id:
            paper = None
    if brief.issue_number is not None:
        supplement = "（增刊）" if brief.supplement else ""
        number_text = f"{brief.issue_year}年第{brief.issue_number}期（总第{brief.total_number}期）{supplement}"
    else:
        number_text = ""
    reviewed = _local(brief.approved_at, brief)
    signed_on = paper.signed_on if paper is not None else _local(brief.signed_at, brief)
    return SheetData(
        series_name=brief.series.name,
        number_text=number_text,
        title=brief.title,
        author_line=brief.author_line,
        drafter=brief.author.display_name,
        editor=brief.editor_name or "",
        reviewed_on=chinese_date(reviewed) if reviewed else "",
        signer=brief.signer_name or "" if signed else "",
        signed_on=chinese_date(signed_on) if signed and signed_on else "",
        opinion=(brief.sign_opinion or "") if signed else "",
        print_run=print_run_now(session, brief),
        classification=brief.classification,
        urgency=brief.urgency,
        revision=brief.revision_number,
        fingerprint=fingerprint(brief.content(), brief.revision_number),
        signed=signed,
        paper=paper is not None,
        recorded_by=paper.secretary_name if paper is not None else "",
    )


def sheet_html(data: SheetData, *, for_pdf: bool = False) -> str:
    return render_template("signoff/sheet.html", sheet=data, for_pdf=for_pdf)


def sign_event(session: Session, brief: Brief) -> AuditEvent | None:
    """The event of the brief's standing signature (its latest sign or sign_on_paper)."""
    return session.scalar(select(AuditEvent).where(
        AuditEvent.brief_id == brief.id, AuditEvent.action.in_(["sign", "sign_on_paper"]))
        .order_by(AuditEvent.seq.desc()).limit(1))
