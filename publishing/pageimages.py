"""The pages of an issue's PDF as the HTML preview shows them (the honest preview).

The preview shows the PDF that will print, not a second layout of the same HTML in the
browser: page breaks, folios, the colophon at the foot of the last page, every line break
and every font fallback are WeasyPrint's, as in the 样稿 and the archival master. Each page
is a PNG rasterised by PDFium (pypdfium2, the maintained binding of Chromium's PDF engine),
and each page's text is read back from the same PDF, line by line with where the line
stands, so the preview page lays it over the image as a transparent SVG text layer: it can
be selected, copied, searched in the page and read by a screen reader, in reading order.

PDFium is not thread-safe: every call goes through one lock per process.
"""

from __future__ import annotations

import ctypes
import io
import json
import math
import threading
from dataclasses import asdict, dataclass
from typing import Any

# 150 dpi: an A4 page is 1,241 px wide, what a phone at 3 device pixels per CSS pixel
# shows across its 390 px; on a desktop the page is drawn smaller than that.
RESOLUTION_DPI = 150
# Quantised to a palette of 8: black text, the red masthead and rules, white, and the grey
# of anti-aliasing. A text page is then ~110 KB instead of ~380 KB.
PALETTE_COLOURS = 8

_lock = threading.Lock()


@dataclass(frozen=True)
class TextLine:
    """One line of a page's text: where it starts (x), its baseline, its width and its font
    size, in PDF points from the page's top left corner."""

    x: float
    baseline: float
    width: float
    size: float
    text: str


@dataclass(frozen=True)
class PageText:
    number: int  # 1…
    width: float  # PDF points
    height: float
    lines: tuple[TextLine, ...]


def _lines(text_page: Any, height: float) -> list[TextLine]:
    """The page's characters in content order, grouped into lines by their baseline. Rotated
    characters (the 样稿 mark drawn across the page) are left out: read into the lines they
    cross, they would break the sentences for a screen reader."""
    import pypdfium2.raw as pdfium_c

    raw = text_page.raw
    x, y = ctypes.c_double(), ctypes.c_double()
    matrix = pdfium_c.FS_MATRIX()
    lines: list[TextLine] = []
    chars: list[str] = []
    left = right = baseline = size = 0.0

    def close() -> None:
        text = " ".join("".join(chars).split())
        if text:
            lines.append(TextLine(round(left, 2), round(height - baseline, 2), round(right - left, 2),
                                  round(size, 2), text))
        chars.clear()

    for i in range(text_page.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(raw, i)
        char = chr(code) if code else ""
        if pdfium_c.FPDFText_IsGenerated(raw, i) == 1:
            if char in "\r\n":
                close()
            elif char == " " and chars:
                chars.append(" ")
            continue
        angle = pdfium_c.FPDFText_GetCharAngle(raw, i)
        if 0.01 < angle < 2 * math.pi - 0.01:
            continue
        pdfium_c.FPDFText_GetCharOrigin(raw, i, ctypes.byref(x), ctypes.byref(y))
        char_left, _bottom, char_right, _top = text_page.get_charbox(i)
        # The font size in text space, times the scale of the character's matrix: points.
        pdfium_c.FPDFText_GetMatrix(raw, i, ctypes.byref(matrix))
        char_size = pdfium_c.FPDFText_GetFontSize(raw, i) * math.hypot(matrix.a, matrix.b)
        if chars and (abs(y.value - baseline) > 0.5 * max(size, char_size) or char_left < left - 1):
            close()
        if not chars:
            left, right, baseline, size = char_left, char_right, y.value, char_size
        if char in "\r\n":
            close()
            continue
        chars.append(char)
        right, size = max(right, char_right), max(size, char_size)
    close()
    return lines


def page_texts(pdf: bytes) -> list[PageText]:
    """Every page's size and lines of text, in the PDF's content order."""
    import pypdfium2 as pdfium

    pages = []
    with _lock:
        document = pdfium.PdfDocument(pdf)
        try:
            for index in range(len(document)):
                page = document[index]
                width, height = page.get_size()
                text_page = page.get_textpage()
                lines = _lines(text_page, height)
                text_page.close()
                page.close()
                pages.append(PageText(index + 1, round(width, 2), round(height, 2), tuple(lines)))
        finally:
            document.close()
    return pages


def page_png(pdf: bytes, number: int) -> bytes:
    """Page `number` (1…) as a palette PNG at RESOLUTION_DPI. IndexError if there is none."""
    import pypdfium2 as pdfium
    from PIL import Image

    with _lock:
        document = pdfium.PdfDocument(pdf)
        try:
            if not 1 <= number <= len(document):
                raise IndexError(number)
            page = document[number - 1]
            image = page.render(scale=RESOLUTION_DPI / 72).to_pil()
            page.close()
        finally:
            document.close()
    image = image.convert("RGB").quantize(colors=PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def texts_to_json(pages: list[PageText]) -> bytes:
    return json.dumps([asdict(p) for p in pages], ensure_ascii=False, separators=(",", ":")).encode()


def texts_from_json(data: bytes) -> list[PageText]:
    return [PageText(p["number"], p["width"], p["height"], tuple(TextLine(**line) for line in p["lines"]))
            for p in json.loads(data)]
