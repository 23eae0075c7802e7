"""Chinese typesetting WeasyPrint 70 does not do by itself, active only while a
rendering.pdf.PdfRenderer renders (`active`); outside, WeasyPrint behaves as before.

Synthetic bold (`install_synthetic_bold`)
    仿宋 faces have no bold weight, so fontconfig hands Pango the regular face for
    ``font-weight: bold`` and WeasyPrint would print bold lead sentences exactly like body text.
    Word and WPS embolden such faces by drawing the glyph outlines filled and stroked (PDF
    text rendering mode 2) with a stroke of a few hundredths of an em; so does Canyue, with
    `BOLD_STROKE_EM`. The glyphs are the regular face's, drawn from the same embedded subset
    (one subset, not two), so the text extracts as the original characters.

Punctuation compression (`compress_punctuation`, called by the justification in rendering.pdf)
    See that function.
"""

from __future__ import annotations

import contextvars
from typing import Any

__all__ = ["BOLD_STROKE_EM", "active", "install_synthetic_bold"]

active: contextvars.ContextVar[bool] = contextvars.ContextVar("canyue_typesetting", default=False)

# Stroke width of synthetic bold, in ems: 0.035 em is 0.56 pt at 3号 (16 pt), each outline
# growing by 0.28 pt, about what WPS adds to 仿宋_GB2312.
BOLD_STROKE_EM = 0.035

# A face whose OS/2 weight class is below this is not a bold face.
_BOLD_WEIGHT = 600

_bold_installed = False


def _face_weight(hb_face: Any) -> int:
    """The OS/2 usWeightClass of a HarfBuzz face (400 when it has no OS/2 table)."""
    from weasyprint.text.ffi import ffi, harfbuzz

    blob = harfbuzz.hb_face_reference_table(hb_face, harfbuzz.hb_tag_from_string(b"OS/2", -1))
    try:
        length = ffi.new("unsigned int *")
        data = harfbuzz.hb_blob_get_data(blob, length)
        if length[0] < 6:
            return 400
        return int.from_bytes(ffi.buffer(data, 6)[4:6], "big")
    finally:
        harfbuzz.hb_blob_destroy(blob)


def install_synthetic_bold() -> None:
    """Patch WeasyPrint's Stream.add_font and draw_text (once per process)."""
    global _bold_installed
    if _bold_installed:
        return
    from weasyprint import draw
    from weasyprint.pdf import stream as pdf_stream
    from weasyprint.pdf.fonts import Font
    from weasyprint.text.ffi import pango
    from weasyprint.text.fonts import get_pango_font_hb_face, get_pango_font_key

    original_add_font = pdf_stream.Stream.add_font
    original_draw_text = draw.draw_text
    synthetic: dict[int, bool] = {}  # font key → drawn as synthetic bold (per process)

    def add_font(self: Any, pango_font: Any) -> Any:
        if not active.get():
            return original_add_font(self, pango_font)
        key, description, font_size = get_pango_font_key(pango_font)
        font = self._fonts.get(key)  # noqa: SLF001 (WeasyPrint 70: the document's fonts)
        if font is None:
            weight = pango.pango_font_description_get_weight(description)
            if weight >= _BOLD_WEIGHT and _face_weight(get_pango_font_hb_face(pango_font)) < _BOLD_WEIGHT:
                # The regular face standing in for bold: share the regular face's Font, so
                # the glyphs go into one subset.
                pango.pango_font_description_set_weight(description, pango.PANGO_WEIGHT_NORMAL)
                regular_key = pango.pango_font_description_hash(description)
                font = self._fonts.get(regular_key)  # noqa: SLF001
                if font is None:
                    font = self._fonts[regular_key] = Font(pango_font, description, font_size)  # noqa: SLF001
                synthetic[key] = True
            else:
                font = Font(pango_font, description, font_size)
                synthetic[key] = False
            self._fonts[key] = font  # noqa: SLF001
        bold = synthetic.get(key, False)
        if bold != getattr(self, "canyue_bold", False):
            # add_font is called in a text object, once per run, before the run's Tf.
            if bold:
                self.set_line_width(round(BOLD_STROKE_EM * font_size, 3))
            self.set_text_rendering(2 if bold else 0)
            self.canyue_bold = bold
        return font, font_size

    def draw_text(stream: Any, textbox: Any, *args: Any, **kwargs: Any) -> Any:
        if not active.get() or textbox.style["font_weight"] < _BOLD_WEIGHT:
            return original_draw_text(stream, textbox, *args, **kwargs)
        # Bold text may be drawn fill + stroke: stroke in the text colour, and restore the
        # line width and rendering mode afterwards (q … Q).
        stream.push_state()
        stream.set_color(textbox.style["color"], stroke=True)
        try:
            return original_draw_text(stream, textbox, *args, **kwargs)
        finally:
            stream.canyue_bold = False
            stream.pop_state()

    pdf_stream.Stream.add_font = add_font
    draw.draw_text = draw_text
    _bold_installed = True
