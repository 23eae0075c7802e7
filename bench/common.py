"""What the publishing benchmarks share: a throw-away instance's configuration, a series with
a distribution list, signed briefs of the demo text, and a clock on the numbering lock.

Not a benchmark itself; bench/distribution.py, bench/print_run.py and bench/publish_load.py
import it (they put bench/ and the repository root on sys.path).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMO_BRIEF = ROOT / "demo" / "briefs" / "ai-manufacturing.md"
AUDIT_KEY_ID, AUDIT_KEY = "bench1", "b3" * 32

# The 30-copy list of bench/distribution.py: 3 专报, 27 报 / 送 / 发.
# (name, title, organisation, category, copies)
DIRECTORY_30 = [("王建国", "书记", "中共苏州市委", "专报", 1), ("李明", "代市长", "苏州市人民政府", "专报", 1),
                ("陈立", "秘书长", "苏州市人民政府办公室", "专报", 1)]
DIRECTORY_30 += [(f"市级单位{i:02d}", "", "苏州市", "报" if i < 6 else "送" if i < 18 else "发", 1)
                 for i in range(1, 27)]
DIRECTORY_30 += [("各区党政办", "", "", "发", 1)]


def directory_of(copies: int) -> list[tuple[str, str, str, str, int]]:
    """A list making `copies` copies, one per recipient (each copy its own margin mark: the
    most stamping work a print run of that size can need): the 3 专报 of the 30-copy list,
    then 报 / 送 / 发 units."""
    if copies <= len(DIRECTORY_30):
        return DIRECTORY_30[:copies]
    head = DIRECTORY_30[:3]
    rest = copies - len(head)
    return head + [(f"基层单位{i:04d}", "", f"苏州市第{i % 40 + 1}区", "报" if i < rest // 10 else
                    "送" if i < rest // 2 else "发", 1) for i in range(1, rest + 1)]


def instance_config(work: Path, **overrides: Any) -> dict[str, Any]:
    """A complete configuration for an instance living in `work` (nothing read from the
    repository's instance/): database, file store, fonts, audit keys and anchors."""
    (work / "files").mkdir(parents=True, exist_ok=True)
    (work / "fonts").mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work}/canyue.sqlite3",
        "SECRET_KEY": "bench-secret",
        "CANYUE_FILES_DIR": str(work / "files"),
        "CANYUE_FONTS_DIR": str(work / "fonts"),
        "CANYUE_AUDIT_KEYS": {AUDIT_KEY_ID: AUDIT_KEY},
        "CANYUE_AUDIT_KEY_ID": AUDIT_KEY_ID,
        "CANYUE_AUDIT_ANCHOR_FILE": str(work / "audit-anchors.log"),
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    config.update(overrides)
    return config


def make_series(session: Any, name: str, directory: list[tuple[str, str, str, str, int]],
                default_print_run: int = 30) -> Any:
    """A series whose default distribution list is `directory` (an empty directory: no list,
    the series' default print run of blank copies)."""
    from models import Recipient, Series
    from workflows import distribution as lists

    series = Series(name=name, hosts="苏州太湖书院\n苏州太湖智库", contact_phone="18106219189  65519639（传真）",
                    address="苏州市吴中区胥口镇灵山路 609 号", default_print_run=default_print_run,
                    first_total_number=31)
    session.add(series)
    session.flush()
    recipients = [Recipient(name=n, title=t, organisation=o, category=c, default_copies=k)
                  for n, t, o, c, k in directory]
    session.add_all(recipients)
    session.flush()
    if recipients:
        lists.replace_series_list(session, series.id, [(r.id, r.category, r.default_copies, "printed")
                                                       for r in recipients])
    return series


def make_people(session: Any, password: str | None = None, extra: dict[str, set[str]] | None = None) -> dict[str, Any]:
    """drafter, editor, signer (and `extra`: name -> roles). With a password, hashed as the
    product hashes it (scrypt); without, an unusable hash (no login needed)."""
    from models import User

    wanted = {"drafter": {"drafter"}, "editor": {"editor"}, "signer": {"signer"}, **(extra or {})}
    people = {}
    for name, roles in wanted.items():
        user = User(username=name, display_name=name, password_hash="x")
        if password is not None:
            user.set_password(password)
        user.set_roles(roles)
        session.add(user)
        people[name] = user
    session.flush()
    return people


def demo_content(path: Path = DEMO_BRIEF) -> dict[str, Any]:
    from publishing.brieffile import parse_brief_file

    content = parse_brief_file(path.read_text(encoding="utf-8")).content()
    content["special_report"] = []  # from the series' list
    return content


def signed_briefs(session: Any, people: dict[str, Any], series: Any, content: dict[str, Any], count: int) -> list[int]:
    """`count` briefs walked to `signed` through the real moves; committed."""
    from workflows.transitions import apply_transition, create_brief

    ids = []
    for _ in range(count):
        brief = create_brief(session, people["drafter"], series, content)
        apply_transition(session, brief, "submit", people["drafter"])
        apply_transition(session, brief, "approve", people["editor"])
        apply_transition(session, brief, "sign", people["signer"])
        ids.append(brief.id)
    session.commit()
    return ids


class LockClock:
    """How long each publish held the numbering lock: from the UPDATE of the series row that
    takes it (on SQLite the database's write lock; the UPDATE's own wait included) to the end
    of the DBAPI commit that releases it. Installed by wrapping
    `pipeline.lock_series_numbering` and a first `after_commit` listener (it runs before the
    anchor is appended, which happens after the lock is released)."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.acquired: float | None = None
        self.held: list[float] = []  # lock taken -> committed, per publish
        self.waited: list[float] = []  # the locking UPDATE itself (waiting for the write lock)

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        from publishing import pipeline

        original = pipeline.lock_series_numbering

        def lock_series_numbering(session: Any, series_id: int) -> None:
            self.started = time.perf_counter()
            original(session, series_id)
            self.acquired = time.perf_counter()
            self.waited.append(self.acquired - self.started)

        pipeline.lock_series_numbering = lock_series_numbering
        event.listen(Session, "after_commit", self._committed, insert=True)
        event.listen(Session, "after_rollback", self._rolled_back, insert=True)

    def _committed(self, session: Any) -> None:
        if self.started is not None:
            self.held.append(time.perf_counter() - self.started)
            self.started = None

    def _rolled_back(self, session: Any) -> None:
        self.started = None
