"""`backup verify`: every member re-checked against the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backup.container import BackupReader, copy_member, open_backup
from backup.manifest import Manifest


@dataclass
class Checked:
    manifest: Manifest
    checked: int = 0
    size: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def summary(self) -> str:
        return f"{len(self.changed)} changed, {len(self.missing)} missing, {len(self.extra)} not in the manifest"


def check_members(reader: BackupReader) -> Checked:
    report = Checked(reader.manifest)
    seen: set[str] = set()
    for info, member, data in reader.members():
        if member is None or data is None or info.name in seen:
            report.extra.append(info.name)
            continue
        seen.add(info.name)
        sha256, size = copy_member(data, None, reader.path)
        report.checked += 1
        report.size += size
        if size != member.size or sha256 != member.sha256:
            report.changed.append(info.name)
    reader.finish()
    report.missing = sorted(set(reader.manifest.by_name()) - seen)
    return report


def verify_backup(path: Path, identity: Path | None = None) -> Checked:
    with open_backup(path, identity) as reader:
        return check_members(reader)
