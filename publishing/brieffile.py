"""A brief as a file: Markdown with YAML front matter (DESIGN.md, "A brief as a file")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from rendering.markdown import render_body
from rendering.printing import PrintedIssue
from workflows import limits
from workflows.i18n import N_
from workflows.limits import Problem

# DESIGN.md, "A brief as a file": the keys, in the order an exported file writes them.
FILE_KEYS = (
    "series", "title", "author", "special_report", "issue", "total", "supplement", "date",
    "editor", "signer", "copies", "keywords", "classification", "urgency",
)
KNOWN_KEYS = set(FILE_KEYS)


class BriefFileError(ValueError):
    """The file is not a brief file; the message says where and why. It is marked for
    translation (`problem`, for the web pages); str() is the English text (the command line)."""

    def __init__(self, message: str, **params: Any):
        self.problem = Problem(message, params)
        super().__init__(str(self.problem))


class _BriefLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors and aliases (& and *): a front matter of a few hundred
    bytes could otherwise expand to billions of list items (a "billion laughs" alias bomb),
    and a brief file has no use for them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise BriefFileError(N_("the front matter may not use YAML anchors or aliases (& and *): line %(line)d"),
                                 line=event.start_mark.line + 2)
        return super().compose_node(parent, index)


def _load_front_matter(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_BriefLoader)  # noqa: S506 (a SafeLoader, without aliases)
    except BriefFileError:
        raise
    except yaml.YAMLError as error:
        raise BriefFileError(N_("the front matter is not valid YAML: %(detail)s"), detail=str(error)) from error
    except ValueError as error:  # YAML reads 2022-13-40 as a date and fails on it
        raise BriefFileError(N_("a date in the front matter is not a real date: %(detail)s"),
                             detail=str(error)) from error
    except RecursionError as error:
        raise BriefFileError(N_("the front matter is nested too deeply")) from error


@dataclass
class BriefFile:
    meta: dict[str, Any] = field(default_factory=dict)
    body: str = ""

    def content(self) -> dict[str, Any]:
        """The brief content fields this file sets."""
        meta = self.meta
        return {
            "title": limits.clean_title(str(meta.get("title") or "")),
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
            keywords=tuple(content["keywords"]),
        )


# The keys whose values are one line of text, and their limits (workflows/limits.py).
TEXT_KEYS = {
    "series": limits.SERIES_NAME_LENGTH,
    "editor": limits.PERSON_NAME_LENGTH,
    "signer": limits.PERSON_NAME_LENGTH,
}
CONTENT_KEYS = {"title": "title", "author": "author_line", "special_report": "special_report",
                "keywords": "keywords", "classification": "classification", "urgency": "urgency"}


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, date)) and not isinstance(value, bool)


def parse_brief_file(text: str) -> BriefFile:
    """A brief file, checked against the limits of workflows/limits.py (size, lengths, numbers,
    control characters), or BriefFileError saying where and why."""
    if len(text) > limits.BRIEF_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > limits.BRIEF_FILE_BYTES:
        raise BriefFileError(N_("The file is larger than %(size)d KB."), size=limits.BRIEF_FILE_BYTES // 1000)
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    found = limits.control_characters(text)
    if found:
        line = text[:text.index(chr(int(found[0][2:], 16)))].count("\n") + 1
        raise BriefFileError(N_("line %(line)d: %(problem)s"), line=line,
                             problem=limits.text_problem(text) or Problem(""))
    if not text.startswith("---\n"):
        raise BriefFileError(N_("the file must start with a '---' line opening its front matter"))
    end = text.find("\n---\n", 4)
    if end < 0:
        raise BriefFileError(N_("the front matter is not closed by a '---' line"))
    if len(text[4:end].encode("utf-8")) > limits.FRONT_MATTER_BYTES:
        raise BriefFileError(N_("the front matter is larger than %(size)d KB"), size=limits.FRONT_MATTER_BYTES // 1000)
    meta = _load_front_matter(text[4:end]) or {}
    if not isinstance(meta, dict):
        raise BriefFileError(N_("the front matter must be a mapping of keys to values"))
    unknown = {str(k) for k in meta} - KNOWN_KEYS
    if unknown:
        raise BriefFileError(N_("unknown front matter keys: %(keys)s"), keys=", ".join(sorted(unknown)))
    for key in ("special_report", "keywords"):
        if key in meta and meta[key] is not None and (
                not isinstance(meta[key], list) or not all(_scalar(item) for item in meta[key])):
            raise BriefFileError(N_("'%(key)s' must be a list of texts"), key=key)
    for key in ("title", "author", "classification", "urgency", *TEXT_KEYS):
        if meta.get(key) is not None and not _scalar(meta[key]):
            raise BriefFileError(N_("'%(key)s' must be a text"), key=key)
    for key in ("issue", "total", "copies"):
        value = meta.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise BriefFileError(N_("'%(key)s' must be a whole number from 1 up"), key=key)
    # 期号 and 总期号 beyond their bounds are refused by the import, which knows what they number.
    if meta.get("copies") is not None and meta["copies"] > limits.MAX_RECORDED_PRINT_RUN:
        raise BriefFileError(N_("'%(key)s' must be a whole number from 1 to %(high)d"), key="copies",
                             high=limits.MAX_RECORDED_PRINT_RUN)
    if "supplement" in meta and not isinstance(meta["supplement"], bool):
        raise BriefFileError(N_("'supplement' must be true or false"))
    if meta.get("date") is not None:
        meta["date"] = _parse_date(meta["date"])
    if not str(meta.get("title") or "").strip():
        raise BriefFileError(N_("'title' is missing"))
    for key, limit in TEXT_KEYS.items():
        if meta.get(key) is not None:
            problem = limits.text_problem(str(meta[key]), limit=limit, single_line=True)
            if problem:
                raise BriefFileError(N_("%(column)s: %(problem)s"), column=f"'{key}'", problem=problem)
    brief_file = BriefFile(meta=meta, body=text[end + 5:])
    content = brief_file.content()
    for key, name in {**CONTENT_KEYS, "body": "body"}.items():
        problem = limits.content_problems({name: content[name]}).get(name)
        if problem:
            column = f"'{key}'" if key != "body" else Problem(N_("the body"))
            raise BriefFileError(N_("%(column)s: %(problem)s"), column=column, problem=problem)
    return brief_file


def _parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise BriefFileError(N_("'date' must be YYYY-MM-DD, not %(value)s"), value=repr(value)[:40]) from error


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
