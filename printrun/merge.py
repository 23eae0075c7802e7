"""All paper copies of an issue in one PDF, in 份号 order, for a double-sided printer.

Each copy must start on a right-hand page (the front of a new sheet), so a copy with an odd
number of pages is followed by one blank page of its last page's size. The copies are the
stamped, fingerprinted files as stored (publishing/stamping.py): their pages are taken over
unchanged by pypdf, the library the stamping already uses; nothing is rendered again.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from pypdf import PdfReader, PdfWriter


def merge_for_duplex(copies: Iterable[bytes]) -> tuple[bytes, int]:
    """(the merged PDF, how many blank pages were put in)."""
    writer = PdfWriter()
    blanks = 0
    for data in copies:
        reader = PdfReader(io.BytesIO(data))
        for page in reader.pages:
            writer.add_page(page)
        if len(reader.pages) % 2:
            last = reader.pages[-1].mediabox
            writer.add_blank_page(width=float(last.width), height=float(last.height))
            blanks += 1
    writer.add_metadata({"/Title": "Paper copies for printing"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), blanks
