"""What the printed page of an issue shows: one flat object for templates/print/issue.html.

The same template serves the on-screen preview and the PDF, so everything the page needs is
worked out here (the number line, the date in Chinese, the 共印 count) and the template stays
a plain layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from markupsafe import Markup

from rendering.markdown import render_body

__all__ = ["PrintedIssue", "chinese_date", "printed_issue_from_brief"]

# A blank where a number will go, one full-width character wide (draft previews).
BLANK = "\u3000"


def chinese_date(d: date) -> str:
    """2022年1月28日: Arabic numerals, no zero padding."""
    return f"{d.year}年{d.month}月{d.day}日"


@dataclass(frozen=True, kw_only=True)
class PrintedIssue:
    series_name: str
    hosts: list[str] = field(default_factory=list)
    issue_number: int | None = None
    total_number: int | None = None
    supplement: bool = False
    issue_date: date | None = None
    special_report: list[str] = field(default_factory=list)
    classification: str = ""
    urgency: str = ""
    title: str
    author_line: str = ""
    body_html: Markup = field(default_factory=Markup)
    editor_name: str | None = None
    contact_phone: str = ""
    address: str = ""
    print_run: int | None = None
    copy_number: str | None = None  # 份号; None on the archival master (the place stays blank)
    specimen: bool = False  # 样稿 watermark

    @property
    def number_line(self) -> str:
        """第3期（总第31期）; blanks where the numbers are not yet allocated."""
        issue = BLANK if self.issue_number is None else str(self.issue_number)
        total = BLANK if self.total_number is None else str(self.total_number)
        return f"第{issue}期（总第{total}期）"

    @property
    def date_text(self) -> str:
        """2022年1月28日, or blanks before the issue date is set."""
        if self.issue_date is None:
            return f"{BLANK * 2}年{BLANK}月{BLANK}日"
        return chinese_date(self.issue_date)

    @property
    def hosts_text(self) -> str:
        """苏州太湖书院　　苏州太湖智库 主办 (empty when the series names no host)."""
        if not self.hosts:
            return ""
        return f"{BLANK * 2}".join(self.hosts) + " 主办"

    @property
    def special_report_text(self) -> str:
        """The 专报 names joined with 、 in their order."""
        return "、".join(self.special_report)

    @property
    def print_run_text(self) -> str:
        return BLANK if self.print_run is None else str(self.print_run)


def printed_issue_from_brief(brief: Any, *, specimen: bool, copy_number: str | None = None) -> PrintedIssue:
    """The printed page of ``brief`` (a Brief, duck-typed, with its ``series``).

    Before publication the brief has no 共印 count: the series' default print run stands in.
    """
    series = brief.series
    print_run = brief.print_run if brief.print_run is not None else series.default_print_run
    return PrintedIssue(
        series_name=series.name,
        hosts=list(series.host_list),
        issue_number=brief.issue_number,
        total_number=brief.total_number,
        supplement=bool(brief.supplement),
        issue_date=brief.issue_date,
        special_report=list(brief.special_report or []),
        classification=brief.classification or "",
        urgency=brief.urgency or "",
        title=brief.title or "",
        author_line=brief.author_line or "",
        body_html=render_body(brief.body or ""),
        editor_name=brief.editor_name,
        contact_phone=series.contact_phone or "",
        address=series.address or "",
        print_run=print_run,
        copy_number=copy_number,
        specimen=specimen,
    )
