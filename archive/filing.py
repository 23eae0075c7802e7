"""Filing an issue (归档): one unit that takes the 件号 sequence's lock, assigns the 档号, applies
the `archive` move and commits — or rolls everything back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from models import ArchiveSequence, Brief
from workflows.filing import ArchiveCode, Retention, next_item
from workflows.transitions import apply_transition, begin_locked_move


def lock_sequence(session: Session, fonds: str, year: int, retention: Retention) -> ArchiveSequence:
    """Create the sequence row if needed and lock it until commit: a second archivist filing
    into the same sequence waits here (a row lock in PostgreSQL, the write lock in SQLite)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    key = {"fonds_code": fonds, "year": year, "retention": retention.value}
    session.execute(insert(ArchiveSequence).values(**key, first_item=1, lock=0).on_conflict_do_nothing())
    session.execute(
        update(ArchiveSequence)
        .where(*(getattr(ArchiveSequence, k) == v for k, v in key.items()))
        .values(lock=ArchiveSequence.lock + 1)
    )
    sequence = session.get(ArchiveSequence, (fonds, year, retention.value), populate_existing=True)
    assert sequence is not None
    return sequence


def assign_archive_code(
    session: Session, brief: Brief, sequence: ArchiveSequence, category: str
) -> ArchiveCode:
    """Give `brief` the next 件号 of `sequence` (whose lock the caller holds)."""
    code = _next_code(session, sequence.fonds_code, sequence.year, Retention(sequence.retention), category,
                      sequence.first_item)
    brief.fonds_code = code.fonds
    brief.archive_year = code.year
    brief.retention = code.retention.value
    brief.archive_item = code.item
    brief.archive_code = str(code)
    return code


def _next_code(session: Session, fonds: str, year: int, retention: Retention, category: str,
               first_item: int | None) -> ArchiveCode:
    highest = session.scalar(
        select(func.max(Brief.archive_item)).where(
            Brief.fonds_code == fonds, Brief.archive_year == year, Brief.retention == retention.value,
        )
    )
    return ArchiveCode(fonds, category, year, retention, next_item(highest, first_item))


def expected_archive_code(session: Session, brief: Brief, *, retention: Retention, fonds: str,
                          category: str) -> ArchiveCode:
    """The 档号 filing `brief` now would assign (the filing form shows it), computed as
    assign_archive_code does but without taking the sequence's lock: another archivist filing
    first takes that 件号, and filing then assigns the next."""
    sequence = session.get(ArchiveSequence, (fonds, brief.issue_year, retention.value))
    return _next_code(session, fonds, brief.issue_year, retention, category,
                      sequence.first_item if sequence is not None else 1)


def file_issue(
    session: Session,
    brief_id: int,
    actor: Any,
    *,
    retention: Retention,
    fonds: str,
    category: str,
    expected_version: int | None = None,
) -> ArchiveCode:
    """File a published issue in the archive, committing on success."""
    brief, sequence = begin_locked_move(
        session, brief_id, actor, "archive",
        lambda b: lock_sequence(session, fonds, b.issue_year, retention),  # a published brief has its year
        expected_version=expected_version,
    )
    try:
        code = assign_archive_code(session, brief, sequence, category)
        apply_transition(session, brief, "archive", actor)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return code


def set_sequence_start(session: Session, fonds: str, year: int, retention: Retention, first_item: int) -> None:
    """Where a year's 件号 count starts (the organisation's other records may come first)."""
    sequence = lock_sequence(session, fonds, year, retention)
    sequence.first_item = first_item
