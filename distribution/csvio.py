"""CSV in and out: the recipients directory (import and export) and an issue's distribution
record (export). Files are UTF-8 with a byte-order mark, which Excel needs to open Chinese
text as such; on import a file saved by Excel in GB18030 (the Chinese Windows default) is
read too. An import is checked row by row first and applied only when every row is good;
each problem names its line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Brief, Copy, Recipient, User
from models.types import utcnow
from workflows.copy import Category
from workflows.i18n import N_

BOM = "\ufeff"

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
_TRUE = {"是", "true", "yes", "1", "y", "启用", ""}
_FALSE = {"否", "false", "no", "0", "n", "停用"}
LIMITS = {"name": 64, "title": 64, "organisation": 120}


def _write(rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def export_recipients(recipients: Iterable[Recipient]) -> bytes:
    rows: list[list[Any]] = [[header for _, header in RECIPIENT_COLUMNS]]
    for r in recipients:
        rows.append([r.id, r.name, r.title, r.organisation, r.category, r.default_copies,
                     "是" if r.active else "否", r.user.username if r.user else ""])
    return _write(rows)


@dataclass
class RowProblem:
    line: int
    message: str  # marked for translation, with %(…)s fields
    values: dict[str, Any] = field(default_factory=dict)


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


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8", data, 0, 1, "neither UTF-8 nor GB18030")


def parse_recipients(session: Session, data: bytes) -> tuple[list[RecipientRow], list[RowProblem]]:
    """The rows of a recipients CSV, checked; problems name their line (1 is the header)."""
    try:
        text = decode(data)
    except UnicodeDecodeError:
        return [], [RowProblem(1, N_("The file is neither UTF-8 nor GB18030 text."))]
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return [], [RowProblem(1, N_("The file is empty."))]
    keys = [_HEADER_KEYS.get(h.strip()) for h in header]
    if "name" not in keys:
        return [], [RowProblem(1, N_("The first line must name the columns; a name column (姓名或单位) is required."))]
    known_ids = set(session.scalars(select(Recipient.id)))
    users = dict(session.execute(select(User.username, User.id)).all())
    rows: list[RecipientRow] = []
    problems: list[RowProblem] = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            cell = {k: values[i].strip() for i, k in enumerate(keys) if k and i < len(values)}
            before = len(problems)
            for key, limit in LIMITS.items():
                if len(cell.get(key, "")) > limit:
                    problems.append(RowProblem(line, N_("%(column)s is longer than %(limit)d characters."),
                                               {"column": key, "limit": limit}))
            if not cell.get("name"):
                problems.append(RowProblem(line, N_("The name is missing.")))
            category = cell.get("category") or Category.SEND.value
            if category not in {c.value for c in Category}:
                problems.append(RowProblem(line, N_("Unknown category %(value)s: use 专报, 报, 送 or 发."),
                                           {"value": category}))
            copies_text = cell.get("default_copies") or "1"
            copies = int(copies_text) if copies_text.isdigit() else 0
            if copies < 1:
                problems.append(RowProblem(line, N_("The number of copies must be a whole number from 1."),
                                           {"value": copies_text}))
            active_text = (cell.get("active") or "").lower()
            if active_text not in _TRUE | _FALSE:
                problems.append(RowProblem(line, N_("Active must be 是 or 否."), {"value": active_text}))
            ident = None
            if cell.get("id"):
                if not cell["id"].isdigit() or int(cell["id"]) not in known_ids:
                    problems.append(RowProblem(line, N_("No recipient has the number %(value)s."), {"value": cell["id"]}))
                else:
                    ident = int(cell["id"])
            user_id = None
            if cell.get("username"):
                user_id = users.get(cell["username"])
                if user_id is None:
                    problems.append(RowProblem(line, N_("No account is called %(value)s."), {"value": cell["username"]}))
            if len(problems) == before:
                rows.append(RecipientRow(line, ident, cell["name"], cell.get("title", ""), cell.get("organisation", ""),
                                         category, copies, active_text not in _FALSE, user_id))
    except csv.Error as error:
        problems.append(RowProblem(reader.line_num, N_("The file is not valid CSV: %(value)s"), {"value": str(error)}))
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
    return _write(rows)


def read_csv(data: bytes) -> list[list[str]]:
    """A CSV this module wrote, as rows (for the tests and for round trips)."""
    return list(csv.reader(io.StringIO(decode(data))))
