"""CSV in and out: the recipients directory (import and export) and an issue's distribution
record (export). Written and read through tabular/ (the one CSV writer and reader): UTF-8 with
a byte-order mark out, with formula cells neutralised; UTF-8 or GB18030 in, strictly. An import
is checked row by row first and applied only when every row is good; each problem names its
line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Brief, Copy, Recipient, User
from models.types import utcnow
from tabular import TableError, csv_bytes, read_table
from tabular.csvfile import BOM
from workflows.copy import Category
from workflows.i18n import N_
from workflows.limits import (
    MAX_COPIES_PER_LINE,
    MAX_ID,
    ORGANISATION_LENGTH,
    PERSON_NAME_LENGTH,
    USERNAME_LENGTH,
    Problem,
    parse_whole_number,
    text_problem,
)

__all__ = ["BOM", "export_distribution", "export_recipients", "import_recipients", "parse_recipients", "read_csv"]

# (key, the header written) — the import accepts either.
RECIPIENT_COLUMNS: list[tuple[str, str]] = [
    ("id", "编号"),
    ("name", "姓名或单位"),
    ("title", "职务"),
    ("organisation", "所在单位"),
    ("category", "类别"),
    ("default_copies", "默认份数"),
    ("active", "启用"),
    ("username", "账号"),
]
_HEADER_KEYS = {**{k: k for k, _ in RECIPIENT_COLUMNS}, **{h: k for k, h in RECIPIENT_COLUMNS}}
_EXPECTED = ", ".join(h for _, h in RECIPIENT_COLUMNS)
_TRUE = {"是", "true", "yes", "1", "y", "启用", ""}
_FALSE = {"否", "false", "no", "0", "n", "停用"}
# The columns' lengths (workflows/limits.py, which the models use too).
LIMITS = {"name": PERSON_NAME_LENGTH, "title": PERSON_NAME_LENGTH, "organisation": ORGANISATION_LENGTH,
          "username": USERNAME_LENGTH}


def export_recipients(recipients: Iterable[Recipient]) -> bytes:
    rows: list[list[Any]] = [[header for _, header in RECIPIENT_COLUMNS]]
    for r in recipients:
        rows.append([r.id, r.name, r.title, r.organisation, r.category, r.default_copies,
                     "是" if r.active else "否", r.user.username if r.user else ""])
    return csv_bytes(rows)


@dataclass
class RowProblem:
    line: int
    message: str  # marked for translation, with %(…)s fields
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def problem(self) -> Problem:
        return Problem(self.message, self.values)


@dataclass
class RecipientRow:
    line: int
    id: int | None
    name: str
    title: str
    organisation: str
    category: str
    default_copies: int
    active: bool
    user_id: int | None


def parse_recipients(session: Session, data: bytes) -> tuple[list[RecipientRow], list[RowProblem]]:
    """The rows of a recipients CSV, checked; problems name their line (1 is the header)."""
    try:
        table = read_table(data, _HEADER_KEYS, expected=_EXPECTED)
    except TableError as error:
        return [], [RowProblem(error.line, str(error), error.params)]
    if "name" not in table.columns:
        return [], [RowProblem(1, N_("The first line must name the columns; a name column (姓名或单位) is required."))]
    problems = [RowProblem(line, p.message, p.params) for line, p in table.problems]
    refused_lines = {line for line, _p in table.problems}
    known_ids = set(session.scalars(select(Recipient.id)))
    users = dict(session.execute(select(User.username, User.id)).all())
    headers = dict(RECIPIENT_COLUMNS)
    rows: list[RecipientRow] = []
    for line, cell in table.rows:
        if line in refused_lines:
            continue
        before = len(problems)
        for key, limit in LIMITS.items():
            problem = text_problem(cell.get(key, ""), limit=limit, single_line=True)
            if problem:
                problems.append(RowProblem(line, N_("%(column)s: %(problem)s"),
                                           {"column": headers[key], "problem": problem}))
        if not cell.get("name"):
            problems.append(RowProblem(line, N_("The name is missing.")))
        category = cell.get("category") or Category.SEND.value
        if category not in {c.value for c in Category}:
            problems.append(RowProblem(line, N_("Unknown category %(value)s: use 专报, 报, 送 or 发."),
                                       {"value": category}))
        copies_text = cell.get("default_copies") or "1"
        copies = parse_whole_number(copies_text, 1, MAX_COPIES_PER_LINE)
        if copies is None:
            problems.append(RowProblem(line, N_("默认份数 must be a whole number from 1 to %(high)d, not %(value)s."),
                                       {"value": copies_text[:20], "high": MAX_COPIES_PER_LINE}))
        active_text = (cell.get("active") or "").lower()
        if active_text not in _TRUE | _FALSE:
            problems.append(RowProblem(line, N_("Active must be 是 or 否."), {"value": active_text}))
        ident = None
        if cell.get("id"):
            ident = parse_whole_number(cell["id"], 1, MAX_ID)
            if ident is None or ident not in known_ids:
                problems.append(RowProblem(line, N_("No recipient has the number %(value)s."),
                                           {"value": cell["id"][:20]}))
        user_id = None
        if cell.get("username"):
            user_id = users.get(cell["username"])
            if user_id is None:
                problems.append(RowProblem(line, N_("No account is called %(value)s."), {"value": cell["username"]}))
        if len(problems) == before:
            assert copies is not None
            rows.append(RecipientRow(line, ident, cell["name"], cell.get("title", ""), cell.get("organisation", ""),
                                     category, copies, active_text not in _FALSE, user_id))
    problems.sort(key=lambda p: p.line)
    return rows, problems


def import_recipients(session: Session, rows: list[RecipientRow]) -> tuple[int, int]:
    """Apply checked rows: a row with a number updates that recipient, a row without one
    updates the recipient of the same name, title and organisation, or adds one."""
    created = updated = 0
    now = utcnow()
    for row in rows:
        recipient = session.get(Recipient, row.id) if row.id is not None else session.scalar(
            select(Recipient).where(Recipient.name == row.name, Recipient.title == row.title,
                                    Recipient.organisation == row.organisation).order_by(Recipient.id).limit(1)
        )
        if recipient is None:
            recipient = Recipient(created_at=now)
            session.add(recipient)
            created += 1
        else:
            updated += 1
        recipient.name, recipient.title, recipient.organisation = row.name, row.title, row.organisation
        recipient.category, recipient.default_copies, recipient.active = row.category, row.default_copies, row.active
        recipient.user_id = row.user_id if row.user_id is not None else recipient.user_id
        recipient.updated_at = now
        session.flush()
    return created, updated


DISTRIBUTION_HEADER = [
    "份号", "类别", "收件人（印发时）", "姓名", "职务", "单位", "形式", "状态", "收回标记",
    "发出方式", "经办人", "发出时间", "签收人", "签收时间", "交回人", "交回时间", "销毁人", "销毁时间",
    "见证人", "遗失时间", "遗失说明", "下载次数",
]
MEDIUM_TERMS = {"printed": "纸质", "electronic": "电子"}
STATE_TERMS = {"printed": "已印制", "dispatched": "已发出", "received": "已签收", "returned": "已收回",
               "destroyed": "已销毁", "lost": "已遗失"}
ROUTE_TERMS = {"courier": "机要交通", "hand": "专人", "electronic": "电子"}


def export_distribution(brief: Brief, copies: list[Copy], downloads: dict[int, int]) -> bytes:
    """The issue's distribution record, one line per copy, times in the series' time zone."""
    zone = ZoneInfo(brief.series.timezone)

    def when(moment: Any) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    rows: list[list[Any]] = [DISTRIBUTION_HEADER]
    for c in copies:
        rows.append([
            c.serial, c.category or "机动", c.recipient_label, c.recipient_name, c.recipient_title,
            c.recipient_organisation, MEDIUM_TERMS.get(c.medium, c.medium), STATE_TERMS.get(c.state, c.state),
            "是" if c.recalled else "", ROUTE_TERMS.get(c.route or "", ""), c.dispatched_by or "",
            when(c.dispatched_at), c.signed_by or "", when(c.received_at), c.returned_by or "", when(c.returned_at),
            c.destroyed_by or "", when(c.destroyed_at), c.witness or "", when(c.lost_at), c.lost_note or "",
            downloads.get(c.id, 0),
        ])
    return csv_bytes(rows)


def read_csv(data: bytes) -> list[list[str]]:
    """A CSV this module wrote, as rows exactly as written (for the tests and for round trips)."""
    import csv
    import io

    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
