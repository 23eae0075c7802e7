"""Reading a drafter's .docx (Word or WPS) into a brief: title, author line, body as Markdown.

python-docx reads the WordprocessingML (paragraphs, runs with their bold, tables and the
pictures they hold, in document order); what a drafter typed decides the structure:

- the title is the first paragraph if it is large (≥ 18 pt), centred or in a title style;
  the author line is a short centred paragraph right after it;
- headings come from heading styles (标题 1–4, Heading 1–4, an outline level) or from the
  numbers typed by hand in Normal style: 一、 → ``#``, （一） → ``##``, 1. / 1、 → ``###``,
  （1） → ``####`` — when the paragraph is a heading line, not a paragraph with a bold lead;
- bold runs become ``**…**``; soft line breaks and page breaks never split a paragraph;
- tables become pipe tables (表N … above them stays their caption), pictures become stored
  images (figures/) with the 图N … paragraph below as their caption;
- fonts, sizes and colours are dropped: the bulletin's format decides those.

Why python-docx and not mammoth: mammoth maps Word *styles* to HTML and keeps bold and italic,
but ignores font sizes and alignment (how drafters mark a title by hand) and page breaks, which
the rules above need; python-docx gives each paragraph and run with its formatting, and the
pictures' parts, so the rules can be applied to what was typed.

Everything is checked before python-docx sees the file (size, zip structure, the
decompressed size, encryption, old binary .doc); macros and embedded objects are ignored and
reported.
"""

from __future__ import annotations

import contextvars
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from figures.images import CleanImage, ImageRefused, clean_image
from wordfiles import styles
from workflows.i18n import N_

MAX_DOCX_BYTES = 16 * 1024 * 1024  # below MAX_CONTENT_LENGTH, so the refusal is this message
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # all parts decompressed: a zip bomb stops here
MAX_RATIO = 200  # decompressed / compressed, per part
MAX_PARTS = 5000
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class WordRefused(ValueError):
    """A .docx that cannot be imported; nothing was stored."""

    def __init__(self, message: str, **params: object):
        super().__init__(message)
        self.params = params


@dataclass(frozen=True)
class LeftOut:
    """Something in the file that was not imported: `message` (an N_ msgid) and which parts."""

    message: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.message}: {self.detail}" if self.detail else self.message


@dataclass
class ImportedDraft:
    title: str
    author_line: str
    body: str
    images: list[CleanImage] = field(default_factory=list)
    ignored: list[LeftOut] = field(default_factory=list)  # what was left out, for the user and the audit row


# ---------------------------------------------------------------------------------------------
# The container
# ---------------------------------------------------------------------------------------------


def _check_container(data: bytes, name: str) -> list[LeftOut]:
    """Refuse what is not a readable .docx; what will be ignored (macros, embedded objects)."""
    if len(data) > MAX_DOCX_BYTES:
        raise WordRefused(N_("%(name)s is larger than %(limit)d MB, the most a Word file may be."),
                          name=name, limit=MAX_DOCX_BYTES // (1024 * 1024))
    if data.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data or b"EncryptedPackage" in data:
            raise WordRefused(N_("%(name)s is protected by a password. Remove the password in Word or WPS "
                                 "(File › Info › Protect Document) and upload it again."), name=name)
        raise WordRefused(N_("%(name)s is an old Word 97–2003 document (.doc). Open it in Word or WPS and save it "
                             "as \"Word Document (*.docx)\", then upload that file."), name=name)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise WordRefused(N_("%(name)s is not a Word document (.docx)."), name=name)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            if len(parts) > MAX_PARTS:
                raise WordRefused(N_("%(name)s holds too many parts to be a Word document."), name=name)
            total = 0
            for part in parts:
                total += part.file_size
                if total > MAX_UNPACKED_BYTES or (
                        part.compress_size and part.file_size / part.compress_size > MAX_RATIO
                        and part.file_size > 1024 * 1024):
                    raise WordRefused(N_("%(name)s unpacks to far more data than a Word document holds "
                                         "(a zip bomb?); it was not read."), name=name)
            names = {part.filename for part in parts}
            if "[Content_Types].xml" not in names or "word/document.xml" not in names:
                raise WordRefused(N_("%(name)s is not a Word document (.docx)."), name=name)
            ignored = []
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                ignored.append(LeftOut(N_("macros (ignored, never run)")))
            embedded = sorted(n for n in names if n.startswith("word/embeddings/"))
            if embedded:
                ignored.append(LeftOut(N_("embedded objects (ignored)"), ", ".join(n.rsplit("/", 1)[-1] for n in embedded)))
            return ignored
    except zipfile.BadZipFile as error:
        raise WordRefused(N_("%(name)s is damaged and cannot be read."), name=name) from error


# ---------------------------------------------------------------------------------------------
# Paragraphs
# ---------------------------------------------------------------------------------------------

_NUMBERED = [
    (1, re.compile(r"^[一二三四五六七八九十百]+、")),
    (2, re.compile(r"^[（(][一二三四五六七八九十百]+[）)]")),
    (3, re.compile(r"^[0-9０-９]+[\.．、](?![0-9])")),
    (4, re.compile(r"^[（(][0-9０-９]+[）)]")),
]
_SENTENCE_END = re.compile(r"[。！？；]")
_FIGURE_CAPTION = re.compile(r"^图\s*[0-9０-９一二三四五六七八九十]+")
_TABLE_CAPTION = re.compile(r"^(?:续)?表\s*[0-9０-９一二三四五六七八九十]+")
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_MD_SPECIAL = re.compile(r"([\\*_\[\]|!<>#`])")


def _escape(text: str) -> str:
    """What a drafter typed, safe as Markdown text (a "*" or "#" stays that character)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _join_break(before: str, after: str) -> str:
    """A soft line break inside a paragraph: nothing between Chinese, a space between words."""
    if not before or not after:
        return ""
    return " " if before[-1].isascii() and after[0].isascii() and before[-1].isalnum() and after[0].isalnum() else ""


class _Styles:
    """The document's styles by id, looked up once: python-docx's `paragraph.style` searches
    all the styles for the default on every paragraph that names none."""

    def __init__(self, document: Any) -> None:
        self.by_id = {style.style_id: style for style in document.styles}
        defaults = [s for s in document.styles if s.type == 1 and s.element.default]  # paragraph styles
        self.default = defaults[0] if defaults else None

    def of(self, paragraph: Paragraph) -> Any:
        ppr = paragraph._p.pPr
        style_id = ppr.style if ppr is not None else None
        return self.by_id.get(style_id, self.default) if style_id else self.default

    def of_run(self, run: Any) -> Any:
        rpr = run._r.rPr
        style_id = rpr.style if rpr is not None else None
        return self.by_id.get(style_id) if style_id else None


# The styles of the document being read, for the helpers below (per call and per thread).
_CURRENT_STYLES: contextvars.ContextVar[_Styles] = contextvars.ContextVar("canyue_docx_styles")


def _styles() -> _Styles:
    return _CURRENT_STYLES.get()


def _style_chain(paragraph: Paragraph) -> list[Any]:
    chain, style = [], _styles().of(paragraph)
    while style is not None and len(chain) < 10:
        chain.append(style)
        style = style.base_style
    return chain


def _is_bold(run: Any, paragraph: Paragraph) -> bool:
    if run.bold is not None:
        return bool(run.bold)
    style = _styles().of_run(run)
    while style is not None:
        if style.font.bold is not None:
            return bool(style.font.bold)
        style = style.base_style
    return False


def _font_size(paragraph: Paragraph) -> float:
    sizes = [run.font.size.pt for run in paragraph.runs if run.font.size is not None and run.text.strip()]
    if sizes:
        return max(sizes)
    for style in _style_chain(paragraph):
        if style.font.size is not None:
            return style.font.size.pt
    return 0.0


def _is_centred(paragraph: Paragraph) -> bool:
    alignment = paragraph.alignment
    if alignment is None:
        for style in _style_chain(paragraph):
            if style.paragraph_format.alignment is not None:
                alignment = style.paragraph_format.alignment
                break
    return alignment == WD_ALIGN_PARAGRAPH.CENTER


def _style_level(paragraph: Paragraph) -> int | None:
    for style in _style_chain(paragraph):
        match = _HEADING_STYLE.match((style.name or "").strip())
        if match:
            return min(int(match.group(1)), 4)
    outline = paragraph._p.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}")
    if outline is not None:
        value = int(outline.get(qn("w:val"), "9"))
        if value < 9:
            return min(value + 1, 4)
    return None


def _numbered_level(text: str) -> int | None:
    """The level of a heading line typed with its number; None for a paragraph (a long
    paragraph opening with a numbered bold lead sentence stays a paragraph)."""
    for level, pattern in _NUMBERED:
        match = pattern.match(text)
        if match:
            rest = text[match.end():].rstrip("。")
            if len(rest) <= 30 and not _SENTENCE_END.search(rest):
                return level
            return None
    return None


@dataclass
class _Para:
    text: str  # plain text, as typed
    markdown: str  # with **bold** and image references
    images: list[CleanImage]
    style_name: str
    paragraph: Paragraph
    page_break_before: bool = False
    page_break_after: bool = False  # its last run is a page break


def _picture_blobs(element: Any, part: Any) -> list[tuple[bytes, str]]:
    """The pictures of a run (DrawingML blips, and VML imagedata that WPS writes)."""
    found = []
    ids = element.xpath(".//a:blip/@r:embed") + element.xpath(".//*[local-name()='imagedata']/@*[local-name()='id']")
    for rid in ids:
        related = part.related_parts.get(rid)
        if related is not None and hasattr(related, "blob"):
            found.append((related.blob, str(getattr(related, "partname", rid)).rsplit("/", 1)[-1]))
    return found


# The runs of a paragraph as it now reads, in order: its own, and those inside hyperlinks,
# tracked insertions, smart tags, content controls and simple fields. Tracked deletions
# (w:del) are not part of the text.
_RUNS = ("./w:r | ./w:hyperlink/w:r | ./w:ins/w:r | ./w:smartTag/w:r | ./w:sdt/w:sdtContent/w:r"
         " | ./w:fldSimple/w:r | ./w:ins/w:hyperlink/w:r | ./w:hyperlink/w:ins/w:r")


def _runs(paragraph: Paragraph) -> list[Run]:
    return [Run(r, paragraph) for r in paragraph._p.xpath(_RUNS)]


def _read_paragraph(paragraph: Paragraph, part: Any) -> _Para:
    pieces: list[tuple[str, bool]] = []  # (text, bold)
    images: list[CleanImage] = []
    for run in _runs(paragraph):
        for blob, name in _picture_blobs(run._r, part):
            try:
                images.append(clean_image(blob, name))
            except ImageRefused as refused:
                raise WordRefused(str(refused), **refused.params) from refused
        text = run.text.replace("\t", " ")
        if text:
            pieces.append((text, _is_bold(run, paragraph)))
    # Soft line breaks ("\n"): joined, never a new paragraph.
    plain = ""
    for text, _bold in pieces:
        plain += text
    markdown = _bold_markdown(pieces)
    plain = _join_lines(plain)
    before = paragraph._p.find(f"{qn('w:pPr')}/{qn('w:pageBreakBefore')}")
    page_break = before is not None and before.get(qn("w:val"), "true") not in ("false", "0", "off")
    last = paragraph._p.xpath("./w:r[last()]/*[last()]")
    ends_in_break = bool(last) and last[0].tag == qn("w:br") and last[0].get(qn("w:type")) == "page"
    style = _styles().of(paragraph)
    return _Para(plain.strip(" \u3000"), markdown, images, style.name if style is not None else "",
                 paragraph, page_break, ends_in_break)


def _join_lines(text: str) -> str:
    lines = text.split("\n")
    out = lines[0]
    for line in lines[1:]:
        before, after = out.rstrip(), line.lstrip()
        out = before + _join_break(before, after) + after
    return out


def _bold_markdown(pieces: list[tuple[str, bool]]) -> str:
    """Runs as Markdown: consecutive bold runs as one **…**, spaces kept outside the marks."""
    merged: list[list[Any]] = []
    for text, bold in pieces:
        if merged and merged[-1][1] == bold:
            merged[-1][0] += text
        else:
            merged.append([text, bold])
    out = ""
    for text, bold in merged:
        text = _join_lines(text)
        if bold and text.strip():
            lead = text[: len(text) - len(text.lstrip(" \u3000"))]
            trail = text[len(text.rstrip(" \u3000")):]
            out += f"{lead}**{_escape(text.strip(' ' + chr(0x3000)))}**{trail}"
        else:
            out += _escape(text)
    # A break between two runs (one ending a line, the next starting one) is joined too.
    return _join_lines(out).strip(" \u3000")


def _is_furniture_table(table: Table) -> bool:
    try:
        first = table.cell(0, 0).paragraphs[0]
    except IndexError:
        return False
    style = _styles().of(first)
    return bool(style is not None and style.name in styles.FURNITURE)


def _strip_bold(markdown: str) -> str:
    return markdown.replace("**", "") if markdown.startswith("**") and markdown.endswith("**") else markdown


def _table_markdown(table: Table, part: Any, left_out: set[str]) -> str:
    """The table as a pipe table; what a pipe table cannot hold is added to `left_out`."""
    rows: list[list[str]] = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                cells.append("")  # a merged cell: its text once
                continue
            seen.add(id(cell._tc))
            if cell._tc.findall(qn("w:tbl")):
                left_out.add(N_("tables inside table cells (left out)"))
            read = [_read_paragraph(p, part) for p in cell.paragraphs]
            if any(r.images for r in read):
                left_out.add(N_("pictures inside table cells (left out)"))
            texts = [r.markdown for r in read]
            cells.append(" ".join(t for t in texts if t).replace("**", "") or " ")
        rows.append(cells)
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [" "] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------


def read_docx(data: bytes, name: str) -> ImportedDraft:
    """The draft a .docx holds; WordRefused (a clear reason) when it cannot be read."""
    ignored = _check_container(data, name)
    try:
        document = Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises many kinds on a damaged package
        raise WordRefused(N_("%(name)s is damaged and cannot be read."), name=name) from error
    token = _CURRENT_STYLES.set(_Styles(document))
    try:
        return _read(document, name, ignored)
    finally:
        _CURRENT_STYLES.reset(token)


def _read(document: Any, name: str, ignored: list[LeftOut]) -> ImportedDraft:
    part = document.part
    blocks: list[Any] = []
    try:
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.append(item)
            else:
                blocks.append(_read_paragraph(item, part))
    except WordRefused:
        raise
    except Exception as error:
        raise WordRefused(N_("%(name)s is damaged and cannot be read."), name=name) from error

    title, author_line = "", ""
    body: list[str] = []
    images: list[CleanImage] = []
    figure_count = 0
    started = False
    index = 0
    broken = False  # the paragraph before ended in a page break
    left_in_tables: set[str] = set()
    while index < len(blocks):
        block = blocks[index]
        index += 1
        broken, was_broken = (isinstance(block, _Para) and block.page_break_after), broken
        if isinstance(block, _Para) and not block.text and not block.images:
            broken = was_broken or broken  # an empty paragraph between the halves
            continue
        if isinstance(block, Table):
            if _is_furniture_table(block):
                continue  # the colophon Canyue writes
            table_md = _table_markdown(block, part, left_in_tables)
            if table_md:
                body.append(table_md)
                started = True
            continue
        if block.style_name in styles.FURNITURE:
            continue
        if block.style_name == styles.TITLE:
            title = (title + block.text) if title else block.text
            continue
        if block.style_name == styles.AUTHOR:
            author_line = block.text
            continue
        if block.images:
            captions = []
            # The caption is the paragraph below the picture (图1 …), or text beside it.
            caption = block.text
            if not caption and index < len(blocks) and isinstance(blocks[index], _Para) \
                    and _FIGURE_CAPTION.match(blocks[index].text) and not blocks[index].images:
                caption = blocks[index].text
                index += 1
            for image in block.images:
                figure_count += 1
                digest = _digest(image)
                label = caption if len(block.images) == 1 and caption else (caption or f"图{figure_count}")
                captions.append(f"![{_caption(label)}](image:{digest})")
                images.append(image)
            body.append("\n".join(captions))
            started = True
            continue
        if not block.text:
            continue
        if not started and not title and (
                _font_size(block.paragraph) >= 18 or _is_centred(block.paragraph)
                or (block.style_name or "").lower() in ("title", "标题")):
            title = block.text
            # The author line: a short centred paragraph right after the title.
            if index < len(blocks) and isinstance(blocks[index], _Para) and blocks[index].text \
                    and len(blocks[index].text) <= 40 and _is_centred(blocks[index].paragraph) \
                    and not blocks[index].images:
                author_line = blocks[index].text
                index += 1
            continue
        started = True
        level = _style_level(block.paragraph)
        if level is None:
            level = _numbered_level(block.text)
        next_is_table = index < len(blocks) and isinstance(blocks[index], Table)
        if level is not None:
            body.append("#" * level + " " + _strip_bold(block.markdown))
        elif next_is_table and _TABLE_CAPTION.match(block.text):
            body.append(_strip_bold(block.markdown))
        elif (block.page_break_before or was_broken) and body and _unfinished(body[-1]):
            # LibreOffice (and so a file resaved by it) splits a paragraph at a manual page
            # break and marks the second half "page break before": one paragraph again.
            body[-1] += block.markdown
        else:
            body.append(block.markdown)
    ignored = [*ignored, *(LeftOut(message) for message in sorted(left_in_tables))]
    if document.element.body.xpath(".//w:txbxContent"):
        ignored.append(LeftOut(N_("text boxes (left out: copy their text into the body)")))
    if not title and not body:
        raise WordRefused(N_("%(name)s holds no text to import."), name=name)
    title = unicodedata.normalize("NFC", title)
    return ImportedDraft(title=title, author_line=author_line, body="\n\n".join(body) + "\n", images=images,
                         ignored=ignored)


_FINISHED = tuple("。！？；：…”’）)】」.!?;:")


def _unfinished(markdown: str) -> bool:
    """A body paragraph whose last sentence runs on (not a heading, table or picture)."""
    if markdown.startswith(("#", "|", "![")):
        return False
    return not markdown.rstrip("*").endswith(_FINISHED)


def _digest(image: CleanImage) -> str:
    from publishing.storage import sha256_of
    return sha256_of(image.data)


def _caption(text: str) -> str:
    return " ".join(text.replace("[", "［").replace("]", "］").split())
