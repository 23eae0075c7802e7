"""Export issues as a BagIt bag (RFC 8493, bagit-python) with a DA/T 22 catalogue."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bagit
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from models import Brief, Instruction, StoredFile
from publishing.brieffile import brief_as_file
from publishing.pipeline import approval_record
from publishing.storage import Store
from tabular import csv_text
from workflows.brief import NUMBERED_STATES

# 归档文件目录 columns after DA/T 22-2015.
CATALOGUE_COLUMNS = ["序号", "档号", "期号", "责任者", "题名", "日期", "密级", "页数", "备注"]


class ExportError(Exception):
    """The bag could not be made or did not validate; nothing is offered."""


def issued_briefs(session: Session, series_id: int | None, year: int | None) -> list[Brief]:
    """The published and filed issues of a series and/or year, oldest first."""
    query = select(Brief).where(Brief.state.in_([s.value for s in NUMBERED_STATES]))
    if series_id:
        query = query.where(Brief.series_id == series_id)
    if year:
        query = query.where(Brief.issue_year == year)
    return list(session.scalars(query.order_by(Brief.issue_date, Brief.total_number)))


def number_text(brief: Brief) -> str:
    supplement = "（增刊）" if brief.supplement else ""
    return f"第{brief.issue_number}期（总第{brief.total_number}期）{supplement}"


def folder_name(brief: Brief) -> str:
    if brief.archive_code:
        return brief.archive_code.replace("·", "-")
    return f"{brief.series_id}-{brief.issue_year}-{brief.number_sequence}-{brief.issue_number:03d}"


def archive_year_note(brief: Brief) -> str:
    """A filed issue whose date was corrected into another year keeps its 档号 (README)."""
    if brief.archive_year is not None and brief.archive_year != brief.issue_year:
        return f"日期经更正，档号年度{brief.archive_year}为归档时的印发年度"
    return ""


def catalogue_csv(briefs: Sequence[Brief]) -> str:
    """UTF-8 with BOM, so that Excel opens the Chinese text as it is; written by tabular/, which
    neutralises cells a spreadsheet would run as formulas (a title beginning with =)."""
    rows: list[list[object]] = [CATALOGUE_COLUMNS]
    for index, brief in enumerate(briefs, start=1):
        remarks = "；".join(filter(None, ["增刊" if brief.supplement else "", brief.provenance or "",
                                         archive_year_note(brief)]))
        rows.append([
            index,
            brief.archive_code or "",
            number_text(brief),
            brief.author_line,
            brief.title,
            brief.issue_date.strftime("%Y%m%d") if brief.issue_date else "",
            brief.classification,
            brief.master.pages if brief.master else "",
            remarks,
        ])
    return csv_text(rows)


def _signoff_and_instructions(brief: Brief, store: Store, folder: Path) -> dict[str, Any]:
    """The 签发单 as signed, the scans of a paper sign-off and of the 批示件 (each checked against
    its SHA-256), written beside issue.pdf; and what metadata.json says of them."""
    session = object_session(brief)
    assert session is not None
    files = session.scalars(select(StoredFile).where(
        StoredFile.brief_id == brief.id, StoredFile.kind.in_(["signoff_sheet", "signoff_scan", "instruction_scan"]))
        .order_by(StoredFile.id)).all()
    listed = []
    for stored in files:
        name = stored.name.replace("/", "-")
        (folder / name).write_bytes(store.read_verified(stored.path, stored.sha256))
        listed.append({"file": name, "kind": stored.kind, "sha256": stored.sha256, "pages": stored.pages,
                       "superseded": stored.superseded_by_id is not None})
    instructions = [
        {"leader": i.leader_name, "level": i.level, "date": i.given_on.isoformat(), "kind": i.kind, "text": i.text,
         "follow_up": None if i.follow_up is None else {
             "responsible": i.follow_up.responsible_name, "due": i.follow_up.due_on.isoformat(),
             "done": i.follow_up.done, "notes": [n.text for n in i.follow_up.notes]}}
        for i in session.scalars(select(Instruction).where(Instruction.brief_id == brief.id).order_by(Instruction.id))
    ]
    return {"signoff_files": listed, "instructions": instructions}


def export_bag(briefs: Sequence[Brief], store: Store, name: str,
               on_progress: Callable[[int], None] | None = None) -> Path:
    """A validated bag of `briefs`, zipped; the caller deletes the returned file's folder.
    `on_progress(done)` is called after each issue is written (1 … len(briefs)); making,
    validating and zipping the bag follows the last call."""
    work = Path(tempfile.mkdtemp(prefix="canyue-bag-"))
    bag_dir = work / name
    bag_dir.mkdir()
    try:
        for done, brief in enumerate(briefs, start=1):
            if brief.master is None:
                raise ExportError(f"{number_text(brief)} has no archival PDF")
            folder = bag_dir / folder_name(brief)
            folder.mkdir()
            with store.open_verified(brief.master.path, brief.master.sha256) as source, \
                    (folder / "issue.pdf").open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            (folder / "brief.md").write_text(brief_as_file(brief), encoding="utf-8")
            record = {**approval_record(brief), "archive_code": brief.archive_code, "retention": brief.retention,
                      "classification": brief.classification, "keywords": list(brief.keywords),
                      "pdf": {"sha256": brief.master.sha256, "pages": brief.master.pages, "bytes": brief.master.size},
                      "provenance": brief.provenance}
            record.update(_signoff_and_instructions(brief, store, folder))
            (folder / "metadata.json").write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
            if on_progress is not None:
                on_progress(done)
        (bag_dir / "catalogue.csv").write_text(catalogue_csv(briefs), encoding="utf-8")
        bag = bagit.make_bag(
            str(bag_dir),
            {"Source-Organization": "Canyue", "External-Description": f"{len(briefs)} issues",
             "Bagging-Date": datetime.now(UTC).date().isoformat()},
            checksums=["sha256", "sha512"],
        )
        bag.validate(fast=False)  # every file against both manifests, before anyone downloads it
        return Path(shutil.make_archive(str(work / name), "zip", root_dir=work, base_dir=name))
    except Exception as error:
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(error, ExportError):
            raise
        raise ExportError(str(error)) from error
