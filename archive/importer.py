"""Import of past issues: a brief file (Markdown + front matter), with or without its original
PDF, becomes an archived issue with its real numbers, its printed names and a provenance note.

Each file is its own unit: a bad one is reported with its reason and leaves nothing, while the
good ones in the same batch are kept. A brief file is held to the limits of workflows/limits.py
(publishing/brieffile.py checks it); an original PDF must be readable and free of active
content (archive/pdfcheck.py). Every reason is marked for translation (ImportOutcome.refusal)
and has its English text for the command line (ImportOutcome.error).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.filing import assign_archive_code, lock_sequence
from archive.pdfcheck import PdfRefused, check_original_pdf
from models import Brief, Revision, Series, StoredFile
from models.types import utcnow
from publishing.brieffile import BriefFileError, parse_brief_file
from publishing.pipeline import (
    PublishContext,
    discard_unreferenced,
    lock_series_numbering,
    master_name,
    render_master,
)
from publishing.services import file_store
from rendering.pdf import RenderedPdf
from workflows.audit import GENESIS
from workflows.brief import State
from workflows.filing import Retention
from workflows.i18n import N_
from workflows.limits import BRIEF_FILE_BYTES, Problem
from workflows.numbering import EARLIEST_YEAR, MAX_ISSUE_NUMBER, MAX_TOTAL_NUMBER, horizon_error, sequence_for
from workflows.transitions import record_event


class ImportRefused(Exception):
    """A file that cannot be imported; the message (marked for translation, `problem`) says why,
    in terms of the file; str() is its English text."""

    def __init__(self, message: str | Problem, **params: Any):
        self.problem = message if isinstance(message, Problem) else Problem(message, params)
        super().__init__(str(self.problem))


@dataclass(frozen=True)
class ImportFile:
    name: str
    text: str | None  # None when the file could not be read: `problem` says why
    pdf: bytes | None = None
    problem: str | Problem | None = None


@dataclass(frozen=True)
class ImportOutcome:
    name: str
    brief_id: int | None = None
    archive_code: str | None = None
    refusal: Problem | None = None  # why the file was not imported (translated where shown)

    @property
    def error(self) -> str | None:
        """Why the file was not imported, in English (the command line)."""
        return str(self.refusal) if self.refusal is not None else None


REQUIRED = {  # key -> the message when it is missing
    "series": N_("'series' (the bulletin) is missing"),
    "issue": N_("'issue' (期号) is missing"),
    "total": N_("'total' (总期号) is missing"),
    "date": N_("'date' (the issue date) is missing"),
}
PDF_REFUSALS = {
    "unreadable": N_("the PDF cannot be read: %(detail)s"),
    "no pages": N_("the PDF has no pages"),
    "complex": N_("the PDF is too complex to check for active content"),
    "active": N_("the PDF contains active content (%(detail)s), which an archive must not keep: save it "
                 "without scripts, attachments, media or forms (for instance printed to PDF/A-1b or PDF/A-2b) "
                 "and import it again"),
}


def _required(meta: dict[str, Any], key: str) -> Any:
    if meta.get(key) in (None, ""):
        raise ImportRefused(REQUIRED[key])
    return meta[key]


def _pdf_pages(data: bytes) -> int:
    try:
        return check_original_pdf(data)
    except PdfRefused as refused:
        raise ImportRefused(PDF_REFUSALS[refused.kind], detail=refused.detail) from refused


@dataclass(frozen=True)
class CheckedImport:
    """A brief file (and PDF) that passed every check made before anything is written."""
    series: Series
    content: dict[str, Any]
    printed: dict[str, Any]
    sequence: Any
    pages: int | None


def check_import(session: Session, *, text: str, pdf: bytes | None) -> CheckedImport:
    """Everything that can be checked without writing (the upload page answers at once with
    it; the import job checks again): the file, its numbers and date, the PDF, the series.
    Raises ImportRefused. Whether the numbers are free is known only under the lock."""
    try:
        brief_file = parse_brief_file(text)
    except BriefFileError as error:
        raise ImportRefused(error.problem) from error
    meta, content = brief_file.meta, brief_file.content()
    series_name = _required(meta, "series")
    issue, total = _required(meta, "issue"), _required(meta, "total")
    issue_date = _required(meta, "date")
    if not content["body"].strip():
        raise ImportRefused(N_("the body is empty"))
    horizon = current_app.config["CANYUE_ISSUE_DATE_HORIZON_DAYS"]
    error = horizon_error(issue_date, utcnow().date(), horizon)
    if error:
        raise ImportRefused(N_("the date %(date)s is refused: %(reason)s"), date=issue_date.isoformat(),
                            reason=Problem(error, {"days": horizon, "year": EARLIEST_YEAR}))
    for value, key, highest in ((issue, "issue (期号)", MAX_ISSUE_NUMBER), (total, "total (总期号)", MAX_TOTAL_NUMBER)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= highest:
            raise ImportRefused(N_("'%(key)s' must be a whole number from 1 to %(high)d, not %(value)s"),
                                key=key, high=highest, value=repr(value)[:40])
    pages = _pdf_pages(pdf) if pdf is not None else None
    session.rollback()
    series = session.scalar(select(Series).where(Series.name == series_name))
    if series is None:
        raise ImportRefused(N_("there is no series named %(name)s"), name=repr(str(series_name)))
    sequence = sequence_for(series.numbering_rules, content["supplement"])
    printed = dict(
        **content,
        editor_name=str(meta["editor"]) if meta.get("editor") else None,
        signer_name=str(meta["signer"]) if meta.get("signer") else None,
        issue_date=issue_date, issue_year=issue_date.year, issue_number=issue, total_number=total,
        number_sequence=sequence.value, print_run=meta.get("copies"),
    )
    return CheckedImport(series, content, printed, sequence, pages)


def import_issue(
    session: Session, actor: Any, *, name: str, text: str, pdf: bytes | None, fonds: str, category: str,
    before_commit: Callable[[ImportOutcome], None] | None = None,
) -> ImportOutcome:
    """Import one past issue and commit it, or raise ImportRefused with nothing kept.
    `before_commit` sees the outcome inside the import's transaction (a job records it there,
    so that a job run again knows the file is done)."""
    checked = check_import(session, text=text, pdf=pdf)
    series, content, printed, sequence, pages = (checked.series, checked.content, checked.printed,
                                                  checked.sequence, checked.pages)
    issue_date, issue, total = printed["issue_date"], printed["issue_number"], printed["total_number"]
    # Render before any lock is taken (nobody waits for it): a brief that is never added to
    # the session, whose head before the import event is the chain's start.
    ctx = PublishContext(session, Brief(series=series, **printed), series, actor, issue_date, head_before=GENESIS)
    if pdf is None:
        render_master(ctx)
    else:
        ctx.pdf = RenderedPdf(pdf, pages or 1)
    assert ctx.pdf is not None
    blob = file_store().put(ctx.pdf.data)
    written = [blob.path]
    try:
        lock_series_numbering(session, series.id)
        clash = session.scalar(select(Brief.id).where(
            Brief.series_id == series.id, Brief.number_sequence == sequence.value,
            ((Brief.issue_year == issue_date.year) & (Brief.issue_number == issue)) | (Brief.total_number == total),
        ))
        if clash is not None:
            raise ImportRefused(N_("第%(issue)d期（总第%(total)d期） of %(year)d is already held (brief %(brief)d)"),
                                issue=issue, total=total, year=issue_date.year, brief=clash)
        now = utcnow()
        # The note is part of the archival record, kept in the organisation's language.
        provenance = f"{now.date().isoformat()} 由{actor.display_name}自 {PurePath(name).name} 导入" + (
            "，附原件 PDF" if pdf is not None else "，PDF 据文件生成")
        sequence_lock = lock_sequence(session, fonds, issue_date.year, Retention(series.default_retention))
        brief = Brief(
            series_id=series.id, author_id=actor.id, state=State.ARCHIVED.value, created_at=now, revision_number=1,
            **printed, provenance=provenance, archived_by_id=actor.id, archived_at=now,
        )
        assign_archive_code(session, brief, sequence_lock, category)  # before the brief is flushed
        session.add(brief)
        session.add(Revision(brief=brief, number=1, created_by_id=actor.id, created_at=now,
                             state=State.ARCHIVED.value, **content))
        session.flush()
        event = record_event(session, brief, "import", actor, from_state=None, to_state=State.ARCHIVED.value,
                             reason=provenance, now=now)
        session.add(StoredFile(
            brief_id=brief.id, kind="master", path=blob.path, name=master_name(brief), sha256=blob.sha256,
            size=blob.size, pages=ctx.pdf.pages, event_seq=event.seq if pdf is None else None,
        ))
        session.flush()
        outcome = ImportOutcome(name, brief.id, brief.archive_code)
        if before_commit is not None:
            before_commit(outcome)
        session.commit()
    except BaseException as error:
        session.rollback()
        discard_unreferenced(session, written)
        session.rollback()
        if isinstance(error, IntegrityError):
            raise ImportRefused(N_("it conflicts with an issue already held: %(detail)s"),
                                detail=str(error.orig)) from error
        raise
    return outcome


def import_batch(
    session: Session, actor: Any, files: list[ImportFile], *, fonds: str, category: str
) -> list[ImportOutcome]:
    """Import files one by one; each outcome says what became of its file."""
    outcomes = []
    for item in files:
        name = item.name
        if item.text is None:
            problem = item.problem if isinstance(item.problem, Problem) else Problem(str(item.problem or ""))
            outcomes.append(ImportOutcome(name, refusal=problem))
            continue
        try:
            outcomes.append(import_issue(session, actor, name=name, text=item.text, pdf=item.pdf,
                                         fonds=fonds, category=category))
        except ImportRefused as error:
            outcomes.append(ImportOutcome(name, refusal=error.problem))
        except Exception as error:  # a failed render or store: reported, the batch goes on
            session.rollback()
            outcomes.append(ImportOutcome(name, refusal=Problem(N_("it could not be imported: %(detail)s"),
                                                                {"detail": f"{type(error).__name__}: {error}"})))
    return outcomes


def precheck_import(session: Session, files: list[ImportFile]) -> tuple[list[ImportFile], list[ImportOutcome]]:
    """The files that pass `check_import`, and the outcomes of those that do not."""
    passed, refused = [], []
    for item in files:
        if item.text is None:
            problem = item.problem if isinstance(item.problem, Problem) else Problem(str(item.problem or ""))
            refused.append(ImportOutcome(item.name, refusal=problem))
            continue
        try:
            check_import(session, text=item.text, pdf=item.pdf)
        except ImportRefused as error:
            refused.append(ImportOutcome(item.name, refusal=error.problem))
        else:
            passed.append(item)
    session.rollback()
    return passed, refused


def files_from_paths(paths: list[Path]) -> list[ImportFile]:
    """Brief files named on the command line or found in folders, each with the PDF of the same
    name beside it, if there is one."""
    sources: list[Path] = []
    for path in paths:
        sources.extend(sorted(path.rglob("*.md")) if path.is_dir() else [path])
    found = []
    for source in sources:
        pdf = source.with_suffix(".pdf")
        try:
            if source.stat().st_size > BRIEF_FILE_BYTES:
                found.append(ImportFile(str(source), None, problem=Problem(
                    N_("The file is larger than %(size)d KB."), {"size": BRIEF_FILE_BYTES // 1000})))
                continue
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            found.append(ImportFile(str(source), None, problem=Problem(
                N_("the file cannot be read as UTF-8 text: %(detail)s"), {"detail": str(error)})))
            continue
        found.append(ImportFile(str(source), text, pdf.read_bytes() if pdf.is_file() else None))
    return found
