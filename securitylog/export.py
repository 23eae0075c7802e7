"""The security log and the audit trail as CSV, for the auditor and for archiving older parts
of the log outside the installation. Written by the app's one CSV writer
(tabular/): UTF-8 with a byte-order mark so that Excel reads Chinese, CRLF line ends, and a
cell that starts with = + - @ (or a tab or a carriage return) prefixed with ' so that a
spreadsheet shows it as text instead of running it as a formula: names, reasons and failed
sign-in names are typed by people."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from models import AuditEvent
from tabular.csvfile import csv_bytes

SECURITY_HEADER = ["序号", "时间", "事件", "事件代码", "操作人", "操作人账号", "对象编号", "详情", "密钥", "哈希"]
TRAIL_HEADER = ["序号", "时间", "对象类型", "简报编号", "对象编号", "链内序号", "动作", "原状态", "新状态", "操作人",
                "操作人账号", "理由", "修订", "密钥", "哈希"]


def write_csv(rows: Iterable[list[Any]]) -> bytes:
    return csv_bytes(rows)  # the one CSV writer (tabular/): BOM, CRLF, formula cells neutralised


def _when(event: AuditEvent, zone: ZoneInfo) -> str:
    return event.created_at.astimezone(zone).isoformat(sep=" ", timespec="seconds")


def security_log_csv(events: Iterable[AuditEvent], usernames: dict[int, str], zone: ZoneInfo,
                     label: Callable[[str], str]) -> bytes:
    rows: list[list[Any]] = [SECURITY_HEADER]
    for e in events:
        detail = json.dumps(json.loads(e.reason), ensure_ascii=False, sort_keys=True) if e.reason else ""
        rows.append([e.global_seq, _when(e, zone), label(e.action), e.action, e.actor_name,
                     usernames.get(e.actor_id, "") if e.actor_id else "", e.subject_id or "", detail, e.key_id,
                     e.hash])
    return write_csv(rows)


def audit_trail_csv(events: Iterable[AuditEvent], usernames: dict[int, str], zone: ZoneInfo,
                    label: Callable[[str], str]) -> bytes:
    rows: list[list[Any]] = [TRAIL_HEADER]
    for e in events:
        rows.append([e.global_seq, _when(e, zone), e.subject_type, e.brief_id or "", e.subject_id, e.seq or "",
                     label(e.action), e.from_state or "", e.to_state or "", e.actor_name,
                     usernames.get(e.actor_id, "") if e.actor_id else "", e.reason or "", e.revision or "",
                     e.key_id, e.hash])
    return write_csv(rows)
