"""The printed brief as a tagged PDF/A-3u file (WeasyPrint), from the template the preview uses.

One `PdfRenderer` per process holds what is costly to build: WeasyPrint's FontConfiguration
(fontconfig and Pango font caches), the parsed stylesheets, a Jinja environment of its own
(so the command line and the benchmark render without a Flask app) and the URL fetcher.

Things WeasyPrint 70 does not do by itself are done here:

- Chinese justification. WeasyPrint justifies by stretching spaces only
  (weasyprint/layout/inline.py, count_expandable_spaces), and Chinese has none, so lines end
  ragged by up to a character. While a PdfRenderer renders, a line holding CJK text is
  justified between characters instead (CSS ``text-justify: inter-character``, what browsers
  do for Chinese): the line's spare width is spread evenly over the gaps between its
  characters as Pango letter-spacing, so glyphs only move. The text stays the original
  characters (nothing is inserted: copying and searching work), and where lines break is
  still decided by Pango's line breaking, which never puts closing punctuation (，。、；：？！”）》)
  at the start of a line.
- Chinese typesetting (rendering.typesetting): synthetic bold for faces without a bold
  weight, consecutive punctuation compressed, line breaks allowed at quotation marks, short
  lines fitted by compressing punctuation before they are spread. The body's HTML gets the
  break opportunities (`_quote_breaks_in_text`) and its 黑体/楷体 headings a 仿宋 strut
  (`_on_grid`) before WeasyPrint reads it.
- Compact font subsets (rendering.fonts.install_compact_subsetting).
- Document-info entries with the exact names the caller gives (``canyue-audit-head``):
  WeasyPrint's custom metadata strips everything but letters and digits from the name.

The colophon (版记) is moved to the foot of the last page after layout (`pin_colophon`).
These adjustments reach into WeasyPrint 70's internals; pyproject.toml pins weasyprint<71.

The renderer fetches nothing but data: URIs and files inside static/ and the fonts
directory (`CanyueUrlFetcher`): no network, no other file, no redirect.
"""

from __future__ import annotations

import contextlib
import functools
import io
import mimetypes
import os
import re
import threading
import unicodedata
import zlib
from base64 import b64decode
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from urllib.request import url2pathname

import jinja2
import nh3
import pydyf
from markupsafe import Markup
from weasyprint import CSS, HTML, Attachment, URLFetcher
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcherResponse

from rendering import typesetting
from rendering.fonts import FontSetup, embed_compact_fonts_as_cff, install_compact_subsetting
from rendering.markdown import BODY_ATTRIBUTES, BODY_CLASSES, BODY_TAGS, BODY_URL_SCHEMES, filter_body_attribute
from rendering.printing import PrintedIssue
from rendering.xmp import DocumentIdentity, write_metadata

__all__ = [
    "CanyueUrlFetcher",
    "PdfAttachment",
    "PdfRenderer",
    "RenderedPdf",
    "RefusedUrl",
    "default_renderer",
]

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
PRINT_CSS = STATIC_DIR / "print.css"

# PDF/A-3u: every font carries a ToUnicode map, so all text maps to Unicode (tests check each
# font); tagged (a structure tree, /Lang) for screen readers. Not 3a: see README "The archival PDF".
PDF_VARIANT = "pdf/a-3u"
PDF_CONFORMANCE = "U"


@dataclass(frozen=True)
class PdfAttachment:
    name: str  # e.g. "brief.md"
    data: bytes
    description: str
    mime_type: str  # e.g. "text/markdown"


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int


# ---------------------------------------------------------------------------------------------
# Fetching: data: URIs and Canyue's own files, nothing else
# ---------------------------------------------------------------------------------------------


class RefusedUrl(ValueError):
    """A URL the renderer will not fetch."""


MAX_DATA_URI_BYTES = 16 * 1024 * 1024


class CanyueUrlFetcher(URLFetcher):
    """WeasyPrint's URLFetcher, narrowed: ``data:`` URIs, and ``file:`` URLs of regular files
    inside the allowed directories (after resolving symbolic links and ``..``). Everything
    else (http, https, ftp, any other file, a file URL naming a host) is refused, and a path
    outside the directories is refused before it is even looked at. Nothing is redirected:
    there is no network to redirect."""

    def __init__(self, allowed_dirs: Sequence[Path]) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, timeout=1)
        given = [Path(os.path.abspath(d)) for d in allowed_dirs]
        self.allowed_dirs = tuple(dict.fromkeys([*given, *(d.resolve() for d in given)]))

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            mime_type, data = _parse_data_uri(url)
            return URLFetcherResponse(url, data, {"Content-Type": mime_type})
        if scheme == "file":
            path = self._allowed_path(url)
            mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime_type})
        raise RefusedUrl(f"the PDF renderer fetches no {scheme or 'relative'} URL: {url[:200]}")

    def open(self, url: Any, data: Any = None, timeout: Any = None) -> Any:
        # urllib's OpenerDirector entry point: through fetch too, never urllib's handlers.
        return self.fetch(url.full_url if hasattr(url, "full_url") else url)

    def _allowed_path(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise RefusedUrl(f"file URL with a host: {url[:200]}")
        path = Path(os.path.normpath(url2pathname(unquote(parts.path))))
        if not path.is_absolute() or not self._inside(path):
            raise RefusedUrl(f"file outside Canyue's static and fonts directories: {url[:200]}")
        try:
            resolved = path.resolve(strict=True)  # a symbolic link must not lead out either
        except (OSError, RuntimeError) as error:
            raise RefusedUrl(f"no such file: {url[:200]}") from error
        if not self._inside(resolved) or not resolved.is_file():
            raise RefusedUrl(f"not a file inside Canyue's static and fonts directories: {url[:200]}")
        return resolved

    def _inside(self, path: Path) -> bool:
        return any(path.is_relative_to(directory) for directory in self.allowed_dirs)


def _parse_data_uri(url: str) -> tuple[str, bytes]:
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise RefusedUrl("malformed data: URI")
    params = header.split(";")
    mime_type = params[0].strip() or "text/plain"
    if "base64" in (p.strip().lower() for p in params[1:]):
        data = b64decode(unquote(payload), validate=False)
    else:
        data = unquote_to_bytes(payload)
    if len(data) > MAX_DATA_URI_BYTES:
        raise RefusedUrl("data: URI too large")
    return mime_type, data


# ---------------------------------------------------------------------------------------------
# Inter-character justification for Chinese lines (WeasyPrint 70)
# ---------------------------------------------------------------------------------------------

_justify_cjk = typesetting.active  # set while a PdfRenderer renders

# Spare width larger than this per gap is left at the line end (a line broken before a long
# unbreakable Latin word): wider gaps would read as spaces, in print and to text extraction.
MAX_GAP_EM = 0.25

_IGNORABLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")

# Han, kana, Hangul, CJK and full-width punctuation: a line holding any is justified
# between characters.
_CJK = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fff\u3000-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]"
)


# Characters that may not be units of their own (combining marks, joiners, selectors).
_MAYBE_NOT_UNIT = re.compile("[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f"
                             "\u0900-\u0dff\u1ab0-\u1aff\u1dc0-\u1dff\u200b\u200c\u200d\u2060\u20d0-\u20ff"
                             "\u3099\u309a\ufe00-\ufe0f\ufe20-\ufe2f\ufeff\U000e0100-\U000e01ef]")


def _units(text: str) -> int:
    """Grapheme-ish units: characters, not counting combining marks and selectors."""
    if not _MAYBE_NOT_UNIT.search(text):
        return len(text)  # the common case: Chinese, punctuation, digits, Latin letters
    count = 0
    for ch in text:
        code = ord(ch)
        if (
            unicodedata.combining(ch)
            or ch in _IGNORABLE
            or 0xFE00 <= code <= 0xFE0F
            or 0xE0100 <= code <= 0xE01EF
        ):
            continue
        count += 1
    return count


def _letter_spacing(style: Any) -> float:
    value = style["letter_spacing"]
    return 0.0 if value == "normal" else float(value)


_patched = False


def _install_justification() -> None:
    """Patch WeasyPrint's justify_line and Layout.set_text (once per process). Outside a
    PdfRenderer.render call both behave exactly as before."""
    global _patched
    if _patched:
        return
    from weasyprint.formatting_structure import boxes
    from weasyprint.layout import inline
    from weasyprint.text import line_break
    from weasyprint.text.ffi import TO_UNITS, ffi, pango

    original_justify_line = inline.justify_line
    original_set_text = line_break.Layout.set_text

    def text_boxes(box: Any) -> Iterator[Any]:
        if isinstance(box, boxes.TextBox):
            yield box
        elif isinstance(box, (boxes.LineBox, boxes.InlineBox)):
            for child in box.children:
                if child.is_in_normal_flow():
                    yield from text_boxes(child)

    def spread(context: Any, box: Any, spacing: float, x_advance: float) -> float:
        if isinstance(box, boxes.TextBox):
            box.position_x += x_advance
            units = _units(box.text)
            if units:
                # The box's Pango layout is made again from its text when the box is drawn
                # (Layout.reactivate): the spacing is applied then (set_text below).
                layout = box.pango_layout
                if layout is None or layout.text != box.text:
                    extra = getattr(layout, "canyue_extra", None)  # marks compressed to fit
                    with typesetting.extra_compression(extra):
                        layout = line_break.create_layout(
                            box.text, box.style, context, max_width=None, justification_spacing=0
                        )
                    layout.deactivate()
                    box.pango_layout = layout
                layout.canyue_spacing = spacing
                box.width += units * spacing
                x_advance += units * spacing
        elif isinstance(box, (boxes.LineBox, boxes.InlineBox)):
            box.position_x += x_advance
            before = x_advance
            children = box.children[::-1] if box.style["direction"] == "rtl" else box.children
            for child in children:
                if child.is_in_normal_flow():
                    x_advance = spread(context, child, spacing, x_advance)
            box.width += x_advance - before
        else:
            box.translate(x_advance, 0)  # an atomic inline
        return x_advance

    def justify_line(context: Any, line: Any, extra_width: float) -> None:
        if not _justify_cjk.get():
            return original_justify_line(context, line, extra_width)
        texts = list(text_boxes(line))
        if not any(_CJK.search(box.text) for box in texts):
            return original_justify_line(context, line, extra_width)
        units = sum(_units(box.text) for box in texts)
        if units < 2:
            return None
        # Each box's width counts letter-spacing after its last character; the line's last
        # character shows none, so the spare width to fill includes the last box's spacing.
        spare = extra_width + _letter_spacing(texts[-1].style)
        spacing = spare / (units - 1)
        if spacing <= 0:
            return None
        if spacing > MAX_GAP_EM * texts[-1].style["font_size"]:
            spacing = MAX_GAP_EM * texts[-1].style["font_size"]
        spread(context, line, spacing, 0)
        return None

    def set_text(self: Any, text: str, justify: bool = False) -> None:
        original_set_text(self, text, justify)
        spacing = getattr(self, "canyue_spacing", 0.0)
        if justify and spacing and self.text:
            add_spacing(self, spacing)
        if _justify_cjk.get():
            typesetting.compress_punctuation(self)

    def add_spacing(self: Any, spacing: float) -> None:
        bytestring = self.text.encode().replace(b"\x00", b"")
        attr_list = pango.pango_layout_get_attributes(self.layout)
        if attr_list == ffi.NULL:
            attr_list = ffi.gc(pango.pango_attr_list_new(), pango.pango_attr_list_unref)
        letter_spacing = _letter_spacing(self.style) + spacing
        attr = pango.pango_attr_letter_spacing_new(int(letter_spacing * TO_UNITS))
        attr.start_index, attr.end_index = 0, len(bytestring)
        pango.pango_attr_list_change(attr_list, attr)
        word_spacing = self.style["word_spacing"]
        if word_spacing:  # as WeasyPrint does for spaces, on top of the new letter-spacing
            space = int((word_spacing + letter_spacing) * TO_UNITS)
            ends = (0, len(bytestring) - 1)
            for match in re.finditer(" |\u00a0".encode(), bytestring):
                attr = pango.pango_attr_letter_spacing_new((1 + (match.start() in ends)) * space)
                attr.start_index, attr.end_index = match.start(), match.end()
                pango.pango_attr_list_change(attr_list, attr)
        pango.pango_layout_set_attributes(self.layout, attr_list)

    inline.justify_line = justify_line
    line_break.Layout.set_text = set_text
    _patched = True


class _Zlib:
    """zlib for pydyf at level 6: pydyf deflates every stream at level 9, which costs about
    5 % of a render for 0.3 % smaller files."""

    def __init__(self, level: int) -> None:
        self.level = level

    def compressobj(self, level: int = 9, *args: Any, **kwargs: Any) -> Any:
        return zlib.compressobj(min(level, self.level), *args, **kwargs)

    def compress(self, data: bytes, level: int = 9) -> bytes:
        return zlib.compress(data, min(level, self.level))

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)


def _install_faster_compression() -> None:
    if pydyf.zlib is zlib:
        pydyf.zlib = _Zlib(6)


# ---------------------------------------------------------------------------------------------
# Body HTML, once more through the allow-list
# ---------------------------------------------------------------------------------------------

# PrintedIssue.body_html comes from rendering.markdown.render_body, already sanitised. The
# renderer cleans it again with a stricter list (no rel, so no rel="attachment"), so a body
# built some other way cannot make WeasyPrint fetch or embed anything.
_body_cleaner = nh3.Cleaner(
    tags=set(BODY_TAGS),
    clean_content_tags={"script", "style"},
    attributes=BODY_ATTRIBUTES,
    allowed_classes=BODY_CLASSES,
    attribute_filter=filter_body_attribute,  # images: re-encoded data: URIs only (figures/)
    url_schemes=BODY_URL_SCHEMES,
    url_relative="deny",
    link_rel=None,
    strip_comments=True,
)


# ---------------------------------------------------------------------------------------------
# The renderer
# ---------------------------------------------------------------------------------------------

_METADATA_KEY = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,62}")
_RESERVED_KEYS = {"Title", "Author", "Subject", "Keywords", "Creator", "Producer", "CreationDate",
                  "ModDate", "Trapped"}


_TAG = re.compile(r"(<[^>]*>)")


def _quote_breaks_in_text(html: str) -> str:
    """typesetting.quote_breaks on the text between the tags of cleaned HTML (no character
    it inserts or looks at is markup)."""
    parts = _TAG.split(html)
    return "".join(part if i % 2 else typesetting.quote_breaks(part) for i, part in enumerate(parts))


_HEADING = re.compile(r'<h([3-6]) class="(level-[12])">(.*?)</h\1>', re.S)


def _on_grid(html: str) -> str:
    """Headings in 黑体 or 楷体 on the body's baseline grid: a line's baseline sits where its
    block's first font puts it, and 黑体/楷体 have other ascents than 仿宋, so each such heading
    is a 仿宋 block whose text is an inline box in its own face (print.css: .on-grid)."""
    return _HEADING.sub(r'<h\1 class="\2 on-grid"><span class="grid-text">\3</span></h\1>', html)


def _find(box: Any, predicate: Any) -> Any:
    if predicate(box):
        return box
    for child in getattr(box, "children", ()):
        found = _find(child, predicate)
        if found is not None:
            return found
    return None


def _is_colophon(box: Any) -> bool:
    element = getattr(box, "element", None)
    return (
        element is not None
        and getattr(box, "element_tag", None) == "footer"
        and "colophon" in (element.get("class") or "").split()
        and not getattr(box, "pseudo_type", None)
    )


def pin_colophon(document: Any) -> None:
    """Move the colophon (版记) down to the foot of the last page, its lower rule on the lower
    edge of the text block (GB/T 9704). The layout keeps it with at least the last line of the
    body (print.css: break-before: avoid); it is the last thing on the page, so moving it down
    moves nothing else."""
    if not document.pages:
        return
    page_box = document.pages[-1]._page_box  # noqa: SLF001 (WeasyPrint 70 layout tree)
    colophon = _find(page_box, _is_colophon)
    if colophon is None:
        return
    bottom = page_box.content_box_y() + page_box.height
    shift = bottom - (colophon.border_box_y() + colophon.border_height())
    if shift > 0:
        colophon.translate(0, shift)


def pdf_subject(issue: PrintedIssue) -> str:
    """领导参阅 第3期（总第31期）, or 领导参阅 样稿 before the numbers are allocated."""
    if issue.issue_number is None or issue.total_number is None:
        return f"{issue.series_name} 样稿"
    return f"{issue.series_name} {issue.number_line}"


class PdfRenderer:
    """Renders PrintedIssue objects to PDF/A-3u. Make one per process and reuse it; it renders
    one document at a time (WeasyPrint's font configuration is not made for threads)."""

    def __init__(self, fonts_dir: Path | None = None, font_roles: Mapping[str, str] | None = None) -> None:
        _install_justification()
        typesetting.install_synthetic_bold()
        typesetting.install_fitting()
        _install_faster_compression()
        install_compact_subsetting()

        self.fonts_dir = Path(fonts_dir).resolve() if fonts_dir else None
        self.fonts = FontSetup.discover(self.fonts_dir, font_roles)
        allowed = [STATIC_DIR] + ([self.fonts_dir] if self.fonts_dir and self.fonts_dir.is_dir() else [])
        self.url_fetcher = CanyueUrlFetcher(allowed)
        self.font_config = FontConfiguration()
        self.fonts.register(self.font_config)
        self.jinja = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.base_url = STATIC_DIR.as_uri() + "/"
        self._lock = threading.Lock()
        self.stylesheets = [
            CSS(filename=str(PRINT_CSS), url_fetcher=self.url_fetcher, font_config=self.font_config),
            CSS(string=self.fonts.stylesheet(), base_url=self.base_url, url_fetcher=self.url_fetcher,
                font_config=self.font_config),
        ]

    # -- HTML -------------------------------------------------------------------------------

    def html(self, issue: PrintedIssue) -> str:
        """The page as HTML, as the PDF is made from it (no stylesheet link: the renderer
        applies print.css itself)."""
        body = Markup(_on_grid(_quote_breaks_in_text(_body_cleaner.clean(str(issue.body_html)))))
        pdf = {
            "subject": pdf_subject(issue),
            "keywords": ", ".join(k.replace(",", "，") for k in issue.keywords),
        }
        return self.jinja.get_template("print/issue.html").render(
            issue=issue, body_html=body, stylesheet_url=None, pdf=pdf
        )

    # -- PDF --------------------------------------------------------------------------------

    def render(
        self,
        issue: PrintedIssue,
        *,
        attachments: Sequence[PdfAttachment] = (),
        extra_metadata: Mapping[str, str] | None = None,
        identity: DocumentIdentity | None = None,
    ) -> RenderedPdf:
        """The issue as a PDF. `identity`: its XMP DocumentID, InstanceID and dates
        (rendering/xmp.py); a fresh one when not given."""
        info = self._info_entries(extra_metadata or {})
        identity = identity or DocumentIdentity.new()
        html = self.html(issue)
        pdf_attachments = [_BytesAttachment(a) for a in attachments]
        document_pages: list[int] = []

        def finisher(document: Any, pdf: Any) -> None:
            document_pages.append(len(document.pages))
            embed_compact_fonts_as_cff(pdf)
            if "AF" in pdf.catalog:  # WeasyPrint 70 lists each attachment twice
                unique = list(dict.fromkeys(pdf.catalog["AF"]))
                pdf.catalog["AF"] = pydyf.Array(unique)
            for key, value in info.items():
                pdf.info[key] = pydyf.String(value)
            write_metadata(pdf, document.metadata, identity, info, PDF_CONFORMANCE)

        options = {"pdf_variant": PDF_VARIANT, "pdf_tags": True, "attachments": pdf_attachments}
        with self._lock:
            data = self._write(html, options, finisher)
        return RenderedPdf(data=data, pages=document_pages[0])

    def render_sheet(self, html: str, stylesheet: Path) -> RenderedPdf:
        """A form of the office (the 签发单): plain A4 HTML with `stylesheet` (a file of static/),
        in the issue's fonts, through the same fetcher: nothing is fetched but data: URIs and
        Canyue's own files. No PDF/A, no justification tricks: it is a sheet, not an issue."""
        sheet_css = CSS(filename=str(stylesheet), url_fetcher=self.url_fetcher, font_config=self.font_config)
        with self._lock:
            document = HTML(string=html, base_url=self.base_url, url_fetcher=self.url_fetcher).render(
                stylesheets=[sheet_css, self.stylesheets[1]], font_config=self.font_config)
            # The compact font subsets (install_compact_subsetting) are embedded as CFF here too.
            data = document.write_pdf(finisher=lambda _document, pdf: embed_compact_fonts_as_cff(pdf))
        return RenderedPdf(data=data, pages=len(document.pages))

    def _write(self, html: str, options: dict[str, Any], finisher: Any) -> bytes:
        from monitoring.metrics import RENDER_SECONDS, timed

        token = _justify_cjk.set(True)
        try:
            with timed(RENDER_SECONDS):
                document = HTML(string=html, base_url=self.base_url, url_fetcher=self.url_fetcher).render(
                    stylesheets=self.stylesheets, font_config=self.font_config, **options
                )
                pin_colophon(document)
                return document.write_pdf(finisher=finisher, **options)
        finally:
            _justify_cjk.reset(token)

    @staticmethod
    def _info_entries(extra: Mapping[str, str]) -> dict[str, str]:
        entries = {}
        for key, value in extra.items():
            if not _METADATA_KEY.fullmatch(key) or key in _RESERVED_KEYS:
                raise ValueError(f"not a usable document-info name: {key!r}")
            entries[key] = str(value)
        return entries


_RELATIONSHIPS = {"text/markdown": "Source", "application/json": "Data"}


class _BytesAttachment(Attachment):
    """An embedded file with the caller's bytes, name and media type exactly as given."""

    def __init__(self, attachment: PdfAttachment) -> None:
        super().__init__(
            string=attachment.data,
            name=attachment.name,
            description=attachment.description,
            relationship=_RELATIONSHIPS.get(attachment.mime_type, "Unspecified"),
        )
        self.source = self._source(attachment)

    @staticmethod
    @contextlib.contextmanager
    def _source(attachment: PdfAttachment) -> Iterator[tuple[io.BytesIO, None, None, str]]:
        yield io.BytesIO(attachment.data), None, None, attachment.mime_type


@functools.cache
def default_renderer() -> PdfRenderer:
    """The process-wide renderer for code without a Flask app (command line, benchmark):
    licensed fonts from $CANYUE_FONTS_DIR when it is set."""
    fonts_dir = os.environ.get("CANYUE_FONTS_DIR")
    return PdfRenderer(fonts_dir=Path(fonts_dir) if fonts_dir else None)
