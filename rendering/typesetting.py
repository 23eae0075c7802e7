"""Chinese typesetting WeasyPrint 70 does not do by itself, active only while a
rendering.pdf.PdfRenderer renders (`active`); outside, WeasyPrint behaves as before.

Synthetic bold (`install_synthetic_bold`)
    仿宋 faces have no bold weight, so fontconfig hands Pango the regular face for
    ``font-weight: bold`` and WeasyPrint would print bold lead sentences exactly like body text.
    Word and WPS embolden such faces by drawing the glyph outlines filled and stroked (PDF
    text rendering mode 2) with a stroke of a few hundredths of an em; so does Canyue, with
    `BOLD_STROKE_EM`. The glyphs are the regular face's, drawn from the same embedded subset
    (one subset, not two), so the text extracts as the original characters.

Punctuation (`compress_punctuation`, `quote_breaks`, `install_fitting`)
    Consecutive marks are compressed (CLREQ, JIS X 4051): the first mark of ，“ ”， 。” … is
    set on half an em with the font's ``halt`` feature, before Pango breaks the lines. Pango
    will not break on either side of “ ”, so the PDF's body gets break opportunities there
    (U+200B, drawn as nothing). When a full line still comes up short (the next unbreakable
    run, such as 统”。, does not fit), `install_fitting` compresses single marks at the end
    of the line and then inside it, one at a time, while that lets the run in; only then
    does the justification spread the spacing.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from typing import Any

__all__ = [
    "BOLD_STROKE_EM",
    "CLOSING",
    "OPENING",
    "PUNCTUATION",
    "active",
    "compress_punctuation",
    "compressed_marks",
    "extra_compression",
    "install_fitting",
    "install_synthetic_bold",
    "quote_breaks",
]

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


# ---------------------------------------------------------------------------------------------
# Punctuation: compression of consecutive marks, break opportunities around quotation marks
# ---------------------------------------------------------------------------------------------

# Full-width marks whose glyph sits in one half of the em (CLREQ 3.1.6, JIS X 4051 3.1.2):
# closing marks (and 、，。；： in simplified Chinese) in the left half, opening marks in the
# right half. ？ and ！ stand in the middle: never compressed.
CLOSING = frozenset("，。、；：”’）》」』】〕〉〗")
OPENING = frozenset("“‘（《「『【〔〈〖")
PUNCTUATION = CLOSING | OPENING | frozenset("？！")

ZWSP = "\u200b"
WJ = "\u2060"  # word joiner: no break here
_INVISIBLE = (ZWSP, WJ)

# The OpenType feature that sets a full-width mark on a half em, its blank half removed
# (FandolFang, FandolKai, Noto CJK and the official faces have it).
_HALF_WIDTH = b"halt 1"


def _char_class(chars: frozenset[str]) -> str:
    return "[" + "".join(re.escape(ch) for ch in sorted(chars)) + "]"


# A closing mark before any mark, an opening mark before an opening mark, past the invisible
# characters quote_breaks inserts.
_PAIR_FIRST = re.compile(
    f"{_char_class(CLOSING)}(?=[{ZWSP}{WJ}]*{_char_class(PUNCTUATION)})"
    f"|{_char_class(OPENING)}(?=[{ZWSP}{WJ}]*{_char_class(OPENING)})"
)


def compressed_marks(text: str) -> list[int]:
    """Indexes of the marks in text that lose their blank half: the first of two consecutive
    marks (，“ ”， 。” ）、 “《 …), after CLREQ: a closing mark before any mark, an opening mark
    before another opening mark."""
    return [match.start() for match in _PAIR_FIRST.finditer(text)]


def compress_punctuation(layout: Any) -> None:
    """Set each compressed mark of a Pango layout's text on half an em (the `halt` feature
    on that character only), before Pango breaks the lines, so the line breaking counts the
    saved width."""
    from weasyprint.text.ffi import ffi, pango

    text = layout.text
    extra = getattr(layout, "canyue_extra", None)
    if extra is None:
        extra = _extra.get()
        if extra is not None:
            layout.canyue_extra = extra  # kept for the layout's later set_text (drawing)
    marks = compressed_marks(text) if text else []
    if extra and text:
        marks = sorted(set(marks) | {i for i in extra if i < len(text) and text[i] in CLOSING | OPENING})
    invisible = text and (ZWSP in text or WJ in text)
    if not marks and not invisible:
        return
    attr_list = pango.pango_layout_get_attributes(layout.layout)
    if attr_list == ffi.NULL:
        attr_list = ffi.gc(pango.pango_attr_list_new(), pango.pango_attr_list_unref)
    if invisible:
        # The inserted characters take no room: neither the tracking nor the justification's
        # letter-spacing may widen them.
        encoded = text.encode()
        for char in _INVISIBLE:
            start = encoded.find(char.encode())
            while start != -1:
                attr = pango.pango_attr_letter_spacing_new(0)
                attr.start_index, attr.end_index = start, start + 3
                pango.pango_attr_list_change(attr_list, attr)
                start = encoded.find(char.encode(), start + 3)
    offset, position = 0, 0
    for index in marks:
        offset += len(text[position:index].encode())
        position = index
        attr = pango.pango_attr_font_features_new(_HALF_WIDTH)
        attr.start_index, attr.end_index = offset, offset + len(text[index].encode())
        pango.pango_attr_list_insert(attr_list, attr)
    pango.pango_layout_set_attributes(layout.layout, attr_list)


_NO_BREAK_BEFORE = CLOSING | frozenset("？！…—·" + ZWSP + WJ)
_NO_BREAK_AFTER = OPENING | frozenset("—" + ZWSP + WJ)


def quote_breaks(text: str) -> str:
    """The text with a zero-width space where a line may break at a quotation mark, and a
    word joiner inside each pair of marks that is compressed.

    Pango follows UAX #14, where “ and ” (class QU) forbid a break on either side, so a
    line before a run of quoted terms (“元宇宙”) comes up short and is spread. Chinese
    allows a break before an opening and after a closing quotation mark, as long as no
    closing mark starts the next line and no opening mark ends this one: those places get a
    U+200B, which Pango breaks at and draws as nothing (it is not in the PDF's text).
    A compressed pair (，“ 。（ …) is kept on one line (U+2060): its first mark is measured
    half an em wide when the lines are broken, and must be drawn so.
    """
    if not (PUNCTUATION & set(text)):
        return text
    out = []
    last = len(text) - 1
    compressed = set(compressed_marks(text))
    for i, ch in enumerate(text):
        before = text[i - 1] if i > 0 else ""
        after = text[i + 1] if i < last else ""
        if ch in "“‘" and before and before not in _NO_BREAK_AFTER and before not in PUNCTUATION \
                and not before.isspace():
            out.append(ZWSP)
        out.append(ch)
        if i in compressed:
            out.append(WJ)
        elif ch in "”’" and after and after not in _NO_BREAK_BEFORE and after not in PUNCTUATION \
                and not after.isspace():
            out.append(ZWSP)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Fitting a short line: compress single marks before spreading
# ---------------------------------------------------------------------------------------------

# Marks compressed (by index in the text being laid out) besides the consecutive pairs, for
# the layouts made while this is set.
_extra: contextvars.ContextVar[tuple[int, ...] | None] = contextvars.ContextVar("canyue_extra", default=None)

# At most this many single marks are compressed to fit one line.
MAX_FIT_MARKS = 3

_fitting_installed = False


@contextlib.contextmanager
def extra_compression(marks: tuple[int, ...] | None) -> Iterator[None]:
    token = _extra.set(marks)
    try:
        yield
    finally:
        _extra.reset(token)


def _fit_candidates(text: str, line_chars: int) -> list[int]:
    """Marks that may give up their blank half to fit the line, best first: the closing marks
    just after the break (they would end the line: JIS X 4051 行末), then the opening marks
    in the line but its first (their blank half is before them), then its closing marks,
    from the end back; never a mark of a compressed pair, nor one next to another mark."""
    paired = set(compressed_marks(text))

    def neighbour(i: int, step: int) -> str:
        i += step
        while 0 <= i < len(text) and text[i] in _INVISIBLE:
            i += step
        return text[i] if 0 <= i < len(text) else ""

    def alone(i: int) -> bool:
        return i not in paired and neighbour(i, -1) not in PUNCTUATION and neighbour(i, 1) not in PUNCTUATION

    after = [i for i in range(line_chars, min(len(text), line_chars + 4)) if text[i] in CLOSING]
    inside = range(line_chars - 1, -1, -1)
    opening = [i for i in inside if text[i] in OPENING and i > 0]  # a line's first mark keeps its place
    closing = [i for i in inside if text[i] in CLOSING]
    return [i for i in after if i not in paired and neighbour(i, -1) not in PUNCTUATION] + [
        i for i in opening + closing if alone(i)
    ]


def install_fitting() -> None:
    """Patch WeasyPrint's split_first_line (as layout.inline calls it), once per process."""
    global _fitting_installed
    if _fitting_installed:
        return
    from weasyprint.layout import inline

    original = inline.split_first_line

    def split_first_line(text: str, style: Any, context: Any, max_width: Any, justification_spacing: Any,
                         is_line_start: bool = True, minimum: bool = False) -> Any:
        result = original(text, style, context, max_width, justification_spacing,
                          is_line_start=is_line_start, minimum=minimum)
        if not active.get() or minimum or max_width is None or style["text_align_all"] != "justify":
            return result
        _, _, resume_index, width, _, _ = result
        if resume_index is None or max_width - width < 0.4 * style["font_size"]:
            return result
        line_chars = len(text.encode()[:resume_index].decode(errors="ignore"))
        # A full line holds its measure in characters (28), one more where marks give room.
        spacing = style["letter_spacing"] if style["letter_spacing"] != "normal" else 0
        most = round(max_width / (style["font_size"] + spacing)) + 1
        chosen: list[int] = []
        for index in _fit_candidates(text, line_chars)[:MAX_FIT_MARKS]:
            chosen.append(index)
            with extra_compression(tuple(chosen)):
                trial = original(text, style, context, max_width, justification_spacing,
                                 is_line_start=is_line_start, minimum=minimum)
            if trial[2] is None or trial[2] > resume_index:
                line = text.encode()[: trial[2]].decode(errors="ignore") if trial[2] else text
                visible = len(line) - sum(line.count(ch) for ch in _INVISIBLE)
                return trial if visible <= most else result
        return result

    inline.split_first_line = split_first_line
    _fitting_installed = True
