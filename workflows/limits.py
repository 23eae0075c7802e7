"""Domain limits: how long a text, how large a number, how big a file may be.

One place for every bound, read by the models (column lengths), the forms, the CSV reader, the
brief-file reader and import, the operations in workflows/ (which check again, whatever calls
them: a view, a command, the API later) and the views' URL and query parsing. Pure Python: no
Flask, no models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from workflows.i18n import N_

# --- Texts (characters). Where a column holds the text, the column is String(<this>). -------------

TITLE_LENGTH = 200
AUTHOR_LINE_LENGTH = 100
# The body of a brief: a long bulletin runs to 30,000 characters; this leaves room and keeps a
# render within a worker's timeout.
BODY_LENGTH = 200_000
SPECIAL_REPORT_TEXT_LENGTH = 2_000  # the 本期专报 names as typed, one per line
KEYWORDS_TEXT_LENGTH = 300  # the keywords as typed, separated by 、
COMMENT_LENGTH = 5_000  # a reason, a sign-off opinion
NOTE_LENGTH = 2_000  # a copy move's note, a recall's reason
PERSON_NAME_LENGTH = 64  # a person or unit as printed: 责任编辑, 签发人, recipient, courier, witness
ORGANISATION_LENGTH = 120
CLASSIFICATION_LENGTH = 20  # 密级, 紧急程度
SERIES_NAME_LENGTH = 40
USERNAME_LENGTH = 64

# --- Numbers --------------------------------------------------------------------------------------

# Ids are PostgreSQL `integer` columns (SQLite would take more; both engines answer alike).
MAX_ID = 2**31 - 1
MAX_COPIES_PER_LINE = 1_000  # copies of one line of a distribution list, a recipient's default
MAX_ISSUE_NUMBER = 9_999  # 期号 within a year
MAX_TOTAL_NUMBER = 999_999  # 总期号
MAX_RECORDED_PRINT_RUN = 100_000  # 共印 of a past issue, a series' default (publishing has its own cap)
EARLIEST_YEAR = 1949
LATEST_YEAR = 2999
MAX_PAGE = 10_000  # a page of a list or of search results
MAX_REVISION = 100_000

# --- Files ----------------------------------------------------------------------------------------

# A brief file (Markdown + YAML front matter): the body's limit in three-byte characters, and room.
BRIEF_FILE_BYTES = 1_000_000
FRONT_MATTER_BYTES = 20_000
# A recipients CSV.
CSV_FILE_BYTES = 2_000_000
CSV_ROWS = 10_000


@dataclass
class Problem:
    """What is wrong with a value: a message marked for translation and its %(…)s values."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message % self.params if self.params else self.message

    def to_json(self) -> dict[str, Any]:
        """As JSON (a job's result): a value that is itself a Problem is nested as one."""
        return {"message": self.message, "params": {
            key: {"problem": value.to_json()} if isinstance(value, Problem) else value
            for key, value in self.params.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        return cls(data["message"], {
            key: cls.from_json(value["problem"]) if isinstance(value, dict) and "problem" in value else value
            for key, value in (data.get("params") or {}).items()})


class LimitExceeded(ValueError):
    """An operation was given a value beyond a domain limit (the message is marked for
    translation; `params` fill it), whoever called it."""

    def __init__(self, message: str, **params: Any):
        super().__init__(message)
        self.params = params


class ContentRefused(LimitExceeded):
    """A brief's content field beyond its limits (`field` names it; `problem` says why)."""

    def __init__(self, field_name: str, problem: Problem):
        super().__init__(problem.message, **problem.params)
        self.field = field_name
        self.problem = problem


class InputRefused(ValueError):
    """Input that no part of Canyue stores (a NUL character reaching the database): the request
    is refused with nothing written."""

    def __init__(self, message: str, **params: Any):
        super().__init__(message)
        self.params = params


# --- Whole numbers --------------------------------------------------------------------------------

_ASCII_DIGITS = re.compile(r"[0-9]+")


def parse_whole_number(text: Any, low: int, high: int) -> int | None:
    """`text` as a whole number from `low` to `high`, or None.

    Only ASCII digits (surrounding spaces allowed): Python's int() also takes '٣', '１', '+7',
    '1_0', and a string of 5,000 digits raises; none of them is a number anyone types here."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if low <= text <= high else None
    if not isinstance(text, str):
        return None
    text = text.strip(" ")
    if not text or len(text) > len(str(high)) or not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def check_copies(copies: Any) -> int:
    """A line's copy count, or LimitExceeded (for the operations in workflows/distribution)."""
    value = parse_whole_number(copies, 1, MAX_COPIES_PER_LINE)
    if value is None:
        raise LimitExceeded(N_("Each line needs a number of copies from 1 to %(high)d."), high=MAX_COPIES_PER_LINE)
    return value


# --- Texts ----------------------------------------------------------------------------------------

# Tab, line feed and carriage return are text; every other control character (C0, DEL, C1:
# Unicode's Cc) and lone surrogates are not: PostgreSQL refuses NUL outright, the rest are
# invisible, and a surrogate cannot even be encoded.
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def control_characters(text: str) -> list[str]:
    """The refused characters in `text`, each once, in order of appearance (as U+XXXX)."""
    seen: dict[str, None] = {}
    for match in _REFUSED.finditer(text):
        seen.setdefault(f"U+{ord(match.group()):04X}", None)
    return list(seen)


def without_control_characters(text: str) -> str:
    return _REFUSED.sub("", text)


def text_problem(text: str, *, limit: int | None = None, single_line: bool = False) -> Problem | None:
    """What is wrong with a text from outside, if anything: refused characters, line breaks in a
    one-line value, more than `limit` characters."""
    found = control_characters(text)
    if found:
        return Problem(N_("It contains control characters (%(codes)s), which cannot be stored."),
                       {"codes": ", ".join(found[:5])})
    if single_line and ("\n" in text or "\r" in text):
        return Problem(N_("It must be on one line."))
    if limit is not None and len(text) > limit:
        return Problem(N_("It is longer than %(limit)d characters (it has %(length)d)."),
                       {"limit": limit, "length": len(text)})
    return None


# The content of a brief (workflows.transitions and the import check it; the form has the same).
CONTENT_TEXT_LIMITS: dict[str, tuple[int, bool]] = {  # field: (characters, one line)
    "title": (TITLE_LENGTH, False),  # may hold the line breaks of the printed title
    "author_line": (AUTHOR_LINE_LENGTH, True),
    "classification": (CLASSIFICATION_LENGTH, True),
    "urgency": (CLASSIFICATION_LENGTH, True),
    "body": (BODY_LENGTH, False),
}
CONTENT_LIST_LIMITS: dict[str, int] = {  # field: characters of the list joined by 、
    "special_report": SPECIAL_REPORT_TEXT_LENGTH,
    "keywords": KEYWORDS_TEXT_LENGTH,
}


def check_content(content: dict[str, Any]) -> None:
    """ContentRefused for the first content field beyond its limits (the operations call this)."""
    for name, problem in content_problems(content).items():
        raise ContentRefused(name, problem)


# A printed title runs to at most this many lines (GB/T 9704 7.3.1: one or more lines, and
# a 2号 title of more than three would crowd the first page).
TITLE_LINES = 3


def clean_title(text: str) -> str:
    """A title as typed: CR LF as LF, each line's spaces trimmed, blank lines dropped."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def content_problems(content: dict[str, Any]) -> dict[str, Problem]:
    """Per content field given, what is wrong with it (empty: nothing)."""
    problems: dict[str, Problem] = {}
    title = content.get("title")
    if isinstance(title, str) and len(clean_title(title).split("\n")) > TITLE_LINES:
        problems["title"] = Problem(N_("A title has at most %(count)d lines."), {"count": TITLE_LINES})
    for name, (limit, single_line) in CONTENT_TEXT_LIMITS.items():
        if name in content and isinstance(content[name], str):
            problem = text_problem(content[name], limit=limit, single_line=single_line)
            if problem:
                problems[name] = problem
    for name, limit in CONTENT_LIST_LIMITS.items():
        items = content.get(name)
        if not items:
            continue
        for item in items:
            problem = text_problem(str(item), single_line=True)
            if problem:
                problems[name] = problem
                break
        else:
            joined = "、".join(str(i) for i in items)
            if len(joined) > limit:
                problems[name] = Problem(N_("It is longer than %(limit)d characters (it has %(length)d)."),
                                         {"limit": limit, "length": len(joined)})
    return problems
