"""Specimen PDFs (样稿) before publication: rendered on demand, kept for a while, and rendered at
most so often per user. A long draft takes seconds to render; without this, anyone who may read
it could keep a worker busy by asking again and again.

The cache. A specimen depends on the brief (its version: every save, every change of its
distribution list and every move bumps it), the print run it shows, the series' masthead and
colophon (the series' version), and the renderer's fonts, stylesheet and template (a
fingerprint taken once per process: new fonts are picked up at restart). One file per key,
``<brief>-<version>-<print run>-<series>-<series version>-<fingerprint>.pdf``, written to a
temporary file and renamed into place, so a reader never sees half a file. Bounded: a file older
than CANYUE_PREVIEW_CACHE_HOURS is not served and is deleted; when the folder holds more than
CANYUE_PREVIEW_CACHE_MB the oldest go first; a brief's new specimen replaces its older ones. The
cache grants nothing: the view checks that the user may read the brief before it looks.

The throttle. Only a cache miss renders, and each user may cause CANYUE_PREVIEW_RENDERS renders
per CANYUE_PREVIEW_RENDER_MINUTES. The count is a file per user under CANYUE_THROTTLE_DIR (the
times of their renders, one per line, rewritten under an exclusive lock), so every worker
process on the host shares it: per-process memory would give each gunicorn worker its own
allowance. Reopening a specimen already made is never refused.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

ROOT = Path(__file__).resolve().parents[1]
PRINT_CSS = ROOT / "static" / "print.css"  # as rendering/pdf.py, without importing WeasyPrint here
TEMPLATES_DIR = ROOT / "templates"


@dataclass(frozen=True)
class SpecimenKey:
    brief_id: int
    version: int
    print_run: int
    series_id: int
    series_version: int
    fingerprint: str

    @property
    def stem(self) -> str:
        """The name every file made from this specimen starts with (its PDF, its page images)."""
        return (f"{self.brief_id}-{self.version}-{self.print_run}-{self.series_id}-{self.series_version}-"
                f"{self.fingerprint}")

    @property
    def filename(self) -> str:
        return f"{self.stem}.pdf"


def renderer_fingerprint(fonts_dir: Path | None) -> str:
    """What else a render depends on: the stylesheet, the template, the font files."""
    parts = []
    for path in [PRINT_CSS, TEMPLATES_DIR / "print" / "issue.html",
                 *(sorted(fonts_dir.iterdir()) if fonts_dir is not None and fonts_dir.is_dir() else [])]:
        try:
            stat = path.stat()
        except OSError:
            continue
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


class SpecimenCache:
    def __init__(self, folder: Path, *, max_bytes: int, max_age_seconds: float) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.max_age = max_age_seconds

    def get(self, key: SpecimenKey) -> bytes | None:
        return self.get_file(key.filename)

    def put(self, key: SpecimenKey, data: bytes) -> None:
        self.put_file(key.filename, data, keep=key.stem)

    def get_file(self, filename: str) -> bytes | None:
        """A file of the cache by its name (a specimen, or what was made from one: page images)."""
        path = self.folder / filename
        try:
            if time.time() - path.stat().st_mtime > self.max_age:
                path.unlink(missing_ok=True)
                return None
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def put_file(self, filename: str, data: bytes, *, keep: str) -> None:
        """Store `filename` (whose name starts with the stem `keep`, "<brief>-…"): the brief's
        files under other stems are older versions and go."""
        if len(data) > self.max_bytes:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{filename}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        temporary.write_bytes(data)
        os.replace(temporary, self.folder / filename)
        self.prune(keep=keep)

    def prune(self, keep: str | SpecimenKey | None = None) -> None:
        """Delete what is too old, a brief's older specimens (and what was made from them), then
        the oldest beyond the budget."""
        if isinstance(keep, SpecimenKey):
            keep = keep.stem
        brief_prefix = keep.split("-", 1)[0] + "-" if keep else None
        now = time.time()
        entries: list[tuple[float, int, Path]] = []
        for path in self.folder.iterdir():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if path.name.endswith(".tmp"):
                if now - stat.st_mtime > 3600:  # left by a process that died while writing
                    path.unlink(missing_ok=True)
                continue
            superseded = (keep is not None and brief_prefix is not None and path.name.startswith(brief_prefix)
                          and not path.name.startswith(f"{keep}."))
            if now - stat.st_mtime > self.max_age or superseded:
                path.unlink(missing_ok=True)
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _mtime, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            if keep is not None and path.name.startswith(f"{keep}."):
                continue
            path.unlink(missing_ok=True)
            total -= size


class RenderThrottle:
    def __init__(self, folder: Path, *, limit: int, window_seconds: float) -> None:
        self.folder = folder
        self.limit = limit
        self.window = window_seconds

    def take(self, user_id: int) -> float | None:
        """Count a render for `user_id`: None when it may go ahead, else the seconds until it may."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"specimen-renders-{int(user_id)}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+", encoding="ascii") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
            now = time.time()
            recent = []
            for line in handle.read().split():
                try:
                    moment = float(line)
                except ValueError:
                    continue
                if now - self.window < moment <= now + 60:
                    recent.append(moment)
            wait = None
            if len(recent) >= self.limit:
                wait = max(1.0, min(recent) + self.window - now)
            else:
                recent.append(now)
            handle.seek(0)
            handle.truncate()
            handle.write("".join(f"{moment:.3f}\n" for moment in recent))
            return wait


def _folder(setting: str, default: str) -> Path:
    configured = current_app.config.get(setting)
    return Path(configured) if configured else Path(current_app.instance_path) / default


def specimen_cache() -> SpecimenCache:
    config = current_app.config
    return SpecimenCache(_folder("CANYUE_PREVIEW_CACHE_DIR", "cache/specimens"),
                         max_bytes=int(config["CANYUE_PREVIEW_CACHE_MB"]) * 1024 * 1024,
                         max_age_seconds=int(config["CANYUE_PREVIEW_CACHE_HOURS"]) * 3600)


def render_throttle() -> RenderThrottle:
    config = current_app.config
    return RenderThrottle(_folder("CANYUE_THROTTLE_DIR", "throttle"), limit=int(config["CANYUE_PREVIEW_RENDERS"]),
                          window_seconds=int(config["CANYUE_PREVIEW_RENDER_MINUTES"]) * 60)


def specimen_key(brief: Any, print_run: int) -> SpecimenKey:
    """The cache key of `brief`'s specimen as it stands (without rendering anything), printing
    `print_run` as its 共印 (publishing.pipeline.print_run_now: the distribution list as it is
    now, which the brief's version does not follow when the series' default list changes)."""
    fingerprint = current_app.extensions.get("canyue.specimen-fingerprint")
    if fingerprint is None:
        fonts = current_app.config.get("CANYUE_FONTS_DIR") or Path(current_app.instance_path) / "fonts"
        fingerprint = renderer_fingerprint(Path(fonts))
        current_app.extensions["canyue.specimen-fingerprint"] = fingerprint
    series = brief.series
    return SpecimenKey(brief.id, brief.version, int(print_run or 0), series.id, series.version, fingerprint)
