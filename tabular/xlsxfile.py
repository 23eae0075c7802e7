"""Excel (.xlsx) files, made by openpyxl: every cell neutralised as the CSV's are (a text
starting with = + - @ is never a formula), the header bold, the first row frozen."""

from __future__ import annotations

import io
from typing import Any

from tabular.csvfile import neutralise


def xlsx_bytes(sheets: list[tuple[str, list[list[Any]]]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title[:31])
        for row in rows:
            sheet.append([neutralise(cell) for cell in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(8, width * 1.6), 40)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
