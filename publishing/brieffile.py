"""A brief as a file: Markdown with YAML front matter (DESIGN.md, "A brief as a file")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from rendering.markdown import render_body
from rendering.printing import PrintedIssue

# DESIGN.md, "A brief as a file": the keys, in the order an exported file writes them.
FILE_KEYS = (
    "series", "title", "author", "special_report", "issue", "total", "supplement", "date",
    "editor", "signer", "copies", "keywords", "classification", "urgency",
)
KNOWN_KEYS = set(FILE_KEYS)


class BriefFileError(ValueError):
    """The file is not a brief file; the message says where and why."""


@dataclass
class BriefFile:
    meta: dict[str, Any] = field(default_factory=dict)
    body: str = ""

    def content(self) -> dict[str, Any]:
        """The brief content fields this file sets."""
        meta = self.meta
        return {
            "title": str(meta.get("title") or "").strip(),
            "author_line": str(meta.get("author") or "").strip(),
            "special_report": [str(n).strip() for n in meta.get("special_report") or [] if str(n).strip()],
            "supplement": bool(meta.get("supplement", False)),
            "classification": str(meta.get("classification") or ""),
            "urgency": str(meta.get("urgency") or ""),
            "keywords": [str(k).strip() for k in meta.get("keywords") or [] if str(k).strip()],
            "body": self.body.strip("\n"),
        }

    def printed_issue(
        self, *, specimen: bool, hosts: list[str] | None = None, contact_phone: str = "", address: str = ""
    ) -> PrintedIssue:
        """The printed page of this file alone (proofing, past issues): the series' host line
        and contacts are not part of a brief file, so the caller supplies them."""
        meta, content = self.meta, self.content()
        return PrintedIssue(
            series_name=str(meta.get("series") or ""),
            hosts=list(hosts or []),
            issue_number=meta.get("issue"),
            total_number=meta.get("total"),
            supplement=content["supplement"],
            issue_date=meta.get("date"),
            special_report=content["special_report"],
            classification=content["classification"],
            urgency=content["urgency"],
            title=content["title"],
            author_line=content["author_line"],
            body_html=render_body(content["body"]),
            editor_name=str(meta["editor"]) if meta.get("editor") else None,
            contact_phone=contact_phone,
            address=address,
            print_run=meta.get("copies"),
            specimen=specimen,
        )


def parse_brief_file(text: str) -> BriefFile:
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    if not text.startswith("---\n"):
        raise BriefFileError("the file must start with a '---' line opening its front matter")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise BriefFileError("the front matter is not closed by a '---' line")
    try:
        meta = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError as error:
        raise BriefFileError(f"the front matter is not valid YAML: {error}") from error
    except ValueError as error:  # YAML reads 2022-13-40 as a date and fails on it
        raise BriefFileError(f"a date in the front matter is not a real date: {error}") from error
    if not isinstance(meta, dict):
        raise BriefFileError("the front matter must be a mapping of keys to values")
    unknown = set(meta) - KNOWN_KEYS
    if unknown:
        raise BriefFileError(f"unknown front matter keys: {', '.join(sorted(unknown))}")
    for key in ("special_report", "keywords"):
        if key in meta and not isinstance(meta[key], list):
            raise BriefFileError(f"'{key}' must be a list")
    for key in ("issue", "total", "copies"):
        value = meta.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise BriefFileError(f"'{key}' must be a whole number from 1 up")
    if "supplement" in meta and not isinstance(meta["supplement"], bool):
        raise BriefFileError("'supplement' must be true or false")
    if meta.get("date") is not None:
        meta["date"] = _parse_date(meta["date"])
    if not str(meta.get("title") or "").strip():
        raise BriefFileError("'title' is missing")
    return BriefFile(meta=meta, body=text[end + 5:])


def _parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise BriefFileError(f"'date' must be YYYY-MM-DD, not {value!r}") from error


def dump_brief_file(meta: dict[str, Any], body: str) -> str:
    """Markdown with YAML front matter, keys in the documented order, empty ones left out."""
    ordered: dict[str, Any] = {}
    for key in FILE_KEYS:
        value = meta.get(key)
        if key == "supplement" and key in meta:
            ordered[key] = bool(value)
        elif value not in (None, "", []):
            ordered[key] = value
    front = yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False, default_flow_style=None)
    return f"---\n{front}---\n\n{body.strip()}\n"


def brief_as_file(brief: Any) -> str:
    """A brief (the ORM object) as a brief file, with whatever its publication settled."""
    return dump_brief_file(
        {
            "series": brief.series.name,
            "title": brief.title,
            "author": brief.author_line,
            "special_report": list(brief.special_report),
            "issue": brief.issue_number,
            "total": brief.total_number,
            "supplement": brief.supplement,
            "date": brief.issue_date,
            "editor": brief.editor_name,
            "signer": brief.signer_name,
            "copies": brief.print_run,
            "keywords": list(brief.keywords),
            "classification": brief.classification,
            "urgency": brief.urgency,
        },
        brief.body,
    )
