"""A brief as a file: Markdown with YAML front matter (DESIGN.md, "A brief as a file")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

KNOWN_KEYS = {
    "series", "title", "author", "special_report", "issue", "total", "supplement", "date",
    "editor", "signer", "copies", "keywords", "classification", "urgency",
}


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
    if not isinstance(meta, dict):
        raise BriefFileError("the front matter must be a mapping of keys to values")
    unknown = set(meta) - KNOWN_KEYS
    if unknown:
        raise BriefFileError(f"unknown front matter keys: {', '.join(sorted(unknown))}")
    for key in ("special_report", "keywords"):
        if key in meta and not isinstance(meta[key], list):
            raise BriefFileError(f"'{key}' must be a list")
    return BriefFile(meta=meta, body=text[end + 5:])
