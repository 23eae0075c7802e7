"""Fixity: every stored file's SHA-256 recomputed against its record."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import StoredFile
from models.types import utcnow
from publishing.storage import FileStore, FixityError, sha256_of


@dataclass
class FixityReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.unexpected)


def verify_store(session: Session, store: FileStore) -> FixityReport:
    """Check every recorded file and look for files nobody recorded; remember each result."""
    report = FixityReport()
    now = utcnow()
    recorded = set()
    for stored in session.scalars(select(StoredFile).order_by(StoredFile.id)):
        recorded.add(stored.path)
        report.checked += 1
        path = store.root / stored.path
        problem = None
        if not path.is_file():
            problem = "missing"
            report.missing.append(stored.path)
        elif sha256_of(path.read_bytes()) != stored.sha256:
            problem = "changed"
            report.changed.append(stored.path)
        stored.checked_at, stored.check_ok, stored.check_problem = now, problem is None, problem
    if store.root.is_dir():
        for path in sorted(p for p in store.root.rglob("*") if p.is_file()):
            relative = path.relative_to(store.root).as_posix()
            if relative not in recorded:
                report.unexpected.append(relative)
    return report


def record_download_check(stored: StoredFile, error: FixityError | None) -> None:
    """A download re-checks the hash; its outcome is the file's latest check."""
    stored.checked_at = utcnow()
    stored.check_ok = error is None
    stored.check_problem = None if error is None else ("missing" if "missing" in str(error) else "changed")
