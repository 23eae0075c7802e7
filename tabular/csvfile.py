"""CSV files, written safely and read strictly.

Writing (every export: the recipients directory, an issue's distribution record, the BagIt
catalogue). A cell that begins with = + - @, a tab or a carriage return is a formula to Excel,
LibreOffice and WPS: a recipient named ``=cmd|' /C calc'!A0`` would run on the machine of
whoever opens the export. Such cells are written with a leading apostrophe (OWASP, "CSV
Injection"), which spreadsheets show as text; so is a cell whose first visible character is one
of those (after spaces), and a cell that already begins with an apostrophe, so that `restore`
gives back exactly what was written. Numbers (int, float) are written as numbers. Files are
UTF-8 with a byte-order mark, which Excel needs to open Chinese text as such.

Reading (the recipients import). The bytes are UTF-8 (with or without a byte-order mark) or
GB18030 (what Excel saves on Chinese Windows), and the reader only believes an encoding when
the header row decodes to the expected column names: Big5 or Shift-JIS bytes mostly decode as
*some* GB18030 text, so a header of Chinese names that comes out right is the proof (an
all-ASCII header proves nothing, so a GB18030 file must carry the Chinese names). Otherwise
the file is refused, saying which encodings are accepted. The CSV itself is read strictly: a
quote never closed, text after a closing quote, a line with more or fewer cells than the
header, control characters in a cell, are refused naming the line (lines count from 1, the
header).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workflows.i18n import N_
from workflows.limits import CSV_FILE_BYTES, CSV_ROWS, Problem, text_problem

BOM = "\ufeff"
ACCEPTED_ENCODINGS = "UTF-8, GB18030"

# OWASP's list; the apostrophe itself, so that restoring is exact.
_TRIGGERS = frozenset("=+-@\t\r'")
_VISIBLE_TRIGGERS = frozenset("=+-@")


def _needs_quote_mark(text: str) -> bool:
    if not text:
        return False
    if text[0] in _TRIGGERS:
        return True
    stripped = text.lstrip(" \u3000")
    return bool(stripped) and stripped[0] in _VISIBLE_TRIGGERS


def neutralise(value: Any) -> Any:
    """A cell as it is safe to write: text that a spreadsheet would run gets a leading apostrophe."""
    if isinstance(value, str) and _needs_quote_mark(value):
        return "'" + value
    return value


def restore(text: str) -> str:
    """A cell as it was before `neutralise` (the import reads our own exports back exactly)."""
    if text.startswith("'") and _needs_quote_mark(text[1:]):
        return text[1:]
    return text


def csv_text(rows: Iterable[Iterable[Any]], *, bom: bool = True) -> str:
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()


def csv_bytes(rows: Iterable[Iterable[Any]], *, bom: bool = True) -> bytes:
    return csv_text(rows, bom=bom).encode("utf-8")


# --- Reading ---------------------------------------------------------------------------------------


class TableError(Exception):
    """A file that cannot be read as a table at all; `line` says where (1: the header)."""

    def __init__(self, line: int, message: str, **params: Any):
        super().__init__(message)
        self.line = line
        self.params = params

    @property
    def problem(self) -> Problem:
        return Problem(str(self), self.params)


@dataclass
class Table:
    encoding: str
    columns: list[str | None]  # the key of each header cell
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line, key -> cell)
    problems: list[tuple[int, Problem]] = field(default_factory=list)  # cells refused, by line


def _header_keys(header: list[str], names: Mapping[str, str]) -> list[str | None] | None:
    """The key of each header cell, if every non-empty cell names a known column once."""
    keys: list[str | None] = []
    for cell in header:
        cell = cell.strip().lstrip(BOM)
        if not cell:
            keys.append(None)
            continue
        key = names.get(cell)
        if key is None or key in keys:
            return None
        keys.append(key)
    return keys if any(keys) else None


def _first_row(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text), strict=True), [])
    except csv.Error:
        return []


def _decode(data: bytes, names: Mapping[str, str], expected: str) -> tuple[str, str, list[str | None]]:
    """(text, encoding, header keys), or TableError saying what is accepted."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        keys = _header_keys(_first_row(text), names)
        if keys is None:
            raise TableError(1, N_("The first line must name the columns, with these names: %(expected)s."),
                             expected=expected)
        return text, "UTF-8", keys
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    header = _first_row(text)
    keys = _header_keys(header, names) if text else None
    if keys is None or all(cell.isascii() for cell in header):
        raise TableError(1, N_("The file is not in an encoding Canyue reads (%(encodings)s, with the column "
                               "names as its first line: %(expected)s). Save it from Excel as \"CSV UTF-8\"; "
                               "Big5 and Shift-JIS files are not read."),
                         encodings=ACCEPTED_ENCODINGS, expected=expected)
    return text, "GB18030", keys


def read_table(data: bytes, names: Mapping[str, str], *, expected: str) -> Table:
    """The rows of a CSV file whose header row uses `names` (header text -> key; `expected`
    lists them for the messages). Cells are stripped, and restored from an export's
    neutralising apostrophe; empty lines are skipped."""
    if len(data) > CSV_FILE_BYTES:
        raise TableError(1, N_("The file is larger than %(size)d KB."), size=CSV_FILE_BYTES // 1000)
    if not data.strip():
        raise TableError(1, N_("The file is empty."))
    text, encoding, keys = _decode(data, names, expected)
    table = Table(encoding, keys)
    titles = [cell.strip().lstrip(BOM) for cell in _first_row(text)]
    reader = csv.reader(io.StringIO(text), strict=True)
    width = len(keys)
    first = True
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            if "unexpected end of data" in str(error) or "field larger than field limit" in str(error):
                raise TableError(line, N_("A quoted cell that starts on this line is never closed (a closing \" "
                                          "is missing).")) from error
            raise TableError(line, N_("This line is not valid CSV: %(detail)s"), detail=str(error)) from error
        if first:
            first = False
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(table.rows) >= CSV_ROWS:
            raise TableError(line, N_("The file has more than %(rows)d lines."), rows=CSV_ROWS)
        extra = cells[width:]
        if len(cells) < width or any(c.strip() for c in extra):
            raise TableError(line, N_("This line has %(found)d cells, but the first line names %(expected)d "
                                      "columns (is a comma or a quote missing or extra?)."),
                             found=len(cells), expected=width)
        row: dict[str, str] = {}
        for key, title, cell in zip(keys, titles, cells, strict=False):
            if key is None:
                continue
            problem = text_problem(cell)
            if problem:
                table.problems.append((line, Problem(N_("%(column)s: %(problem)s"),
                                                     {"column": title, "problem": problem})))
            row[key] = restore(cell.strip()).strip()
        table.rows.append((line, row))
    return table
