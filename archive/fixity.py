"""Fixity: every stored file's SHA-256 recomputed against its record, and the repair of
what dead publishes left behind."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import StoredFile
from models.types import utcnow
from publishing.storage import FixityError, Store

# A file younger than this may belong to a publish still in progress: repair leaves it.
REPAIR_MIN_AGE_SECONDS = 3600


@dataclass
class FixityReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (from, to)
    left_young: list[str] = field(default_factory=list)  # unreferenced, but too recent to touch

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.unexpected)


def verify_store(session: Session, store: Store, *, repair: bool = False,
                 on_progress: Callable[[int, int], None] | None = None, every: int = 50) -> FixityReport:
    """Check every recorded file and look for files no row names; remember each result.

    With `repair`, files no row references and older than an hour (so never those of a
    publish in progress) are moved to the store's quarantine folder; a referenced file is
    never touched. What repair moved is no longer reported as unexpected.

    `on_progress(checked, total)` is called every `every` files and after the last; it may
    commit the session (the checks so far are then kept, see longwork/kinds.py).
    """
    report = FixityReport()
    now = utcnow()
    rows = list(session.scalars(select(StoredFile).order_by(StoredFile.id)))
    for stored in rows:
        report.checked += 1
        if on_progress is not None and report.checked > 1 and (report.checked - 1) % every == 0:
            on_progress(report.checked - 1, len(rows))
        actual = store.sha256_of_file(stored.path)
        problem = None
        if actual is None:
            problem = "missing"
            report.missing.append(stored.path)
        elif actual != stored.sha256:
            problem = "changed"
            report.changed.append(stored.path)
        stored.checked_at, stored.check_ok, stored.check_problem = now, problem is None, problem
    if on_progress is not None:
        on_progress(report.checked, len(rows))
    # Read the store after the rows: a file committed meanwhile is young, and so left alone.
    referenced = set(session.scalars(select(StoredFile.path)))
    clock = time.time()
    for found in store.walk():
        if found.path in referenced:
            continue
        if repair and clock - found.modified > REPAIR_MIN_AGE_SECONDS:
            report.quarantined.append((found.path, store.quarantine(found.path, when=now)))
        else:
            report.unexpected.append(found.path)
            if repair:
                report.left_young.append(found.path)
    return report


def record_download_check(stored: StoredFile, error: FixityError | None) -> None:
    """A download re-checks the hash; its outcome is the file's latest check."""
    stored.checked_at = utcnow()
    stored.check_ok = error is None
    stored.check_problem = None if error is None else ("missing" if "missing" in str(error) else "changed")
