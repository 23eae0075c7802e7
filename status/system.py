"""What the administrator's home shows about the installation, read from the database.

The last backup is remembered by `flask backup create` (a row of `setting`: the backup file
itself lives outside the database); the last fixity run is read off the stored files' own
check results, which `flask archive verify` writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Series, StoredFile, User
from models.signin import Setting
from models.types import utcnow

LAST_BACKUP = "status.last_backup"


@dataclass(frozen=True)
class SystemStatus:
    users_active: int
    users_total: int
    series_active: int
    series_total: int
    last_backup_at: datetime | None
    last_backup_file: str | None
    last_backup_size: int | None
    fixity_checked_at: datetime | None  # the latest check of any stored file
    files_total: int
    files_unchecked: int
    files_failing: int


def record_backup(session: Session, path: str, size: int, when: datetime | None = None) -> None:
    """Remember the backup just written (called by `flask backup create`)."""
    value = json.dumps({"at": (when or utcnow()).isoformat(), "file": path, "size": size})
    row = session.get(Setting, LAST_BACKUP)
    if row is None:
        session.add(Setting(key=LAST_BACKUP, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
    session.flush()


def system_status(session: Session) -> SystemStatus:
    def count(*what: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(what[0]).where(*what[1:])) or 0)

    backup: dict[str, Any] = {}
    row = session.get(Setting, LAST_BACKUP)
    if row is not None:
        try:
            backup = json.loads(row.value)
        except ValueError:
            backup = {}
    at = backup.get("at")
    return SystemStatus(
        users_active=count(User, User.active.is_(True)),
        users_total=count(User),
        series_active=count(Series, Series.active.is_(True)),
        series_total=count(Series),
        last_backup_at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        last_backup_file=backup.get("file"),
        last_backup_size=backup.get("size"),
        fixity_checked_at=session.scalar(select(func.max(StoredFile.checked_at))),
        files_total=count(StoredFile),
        files_unchecked=count(StoredFile, StoredFile.checked_at.is_(None)),
        files_failing=count(StoredFile, StoredFile.check_ok.is_(False)),
    )
