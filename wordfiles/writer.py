"""Writing a brief as a .docx in the official format (python-docx), as Word and WPS open it.

The page follows FORMAT.md / GB/T 9704: A4, margins 37/35/28/26 mm, body 仿宋 3号 (16 pt) at
an exact 28.9 pt line pitch on a 22 × 28 document grid, title 2号 小标宋, headings 黑体 /
楷体 / 仿宋, red masthead, 期号 line, hosts and date, red rule, 本期专报 line, colophon with
共印 N 份, folios "— N —" as a PAGE field (odd pages right, even left). East Asian faces
are named as office PCs have them (w:eastAsia: 仿宋_GB2312 …, configurable). The parts
around the text carry the named styles of wordfiles/styles.py, which the reader skips.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from docx import Document
from docx.enum.section import WD_SECTION_START
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt, RGBColor
from PIL import Image

from rendering.markdown import IMAGE_REFERENCE, body_tokens
from rendering.printing import PrintedIssue
from wordfiles import styles

RED = RGBColor(0xE6, 0x00, 0x12)
LINE_PITCH = Pt(28.9)  # 22 lines in the 225 mm text block
TEXT_WIDTH = Mm(156)
BODY_SIZE = Pt(16)
COLOPHON_HEIGHT = Pt(2 * 24 + 4)
HEADING_FACES = {1: "hei", 2: "kai", 3: "fangsong", 4: "fangsong"}


def _set_faces(target: Any, face: str) -> None:
    """Name the face for every script (w:eastAsia is what Word and WPS use for Chinese)."""
    rpr = target.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), face)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)  # a theme font would win over the named face


def _paragraph_style(document: Any, name: str, *, face: str, size: Pt, base: str | None = "Normal",
                     align: Any = None, bold: bool | None = None, color: RGBColor | None = None,
                     indent: bool = False, exact: bool = True) -> Any:
    try:
        style = document.styles[name]
    except KeyError:
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    if base and name != base:
        style.base_style = document.styles[base]
    style.font.name = face
    _set_faces(style.element, face)
    style.font.size = size
    if bold is not None:
        style.font.bold = bold
    if color is not None:
        style.font.color.rgb = color
    fmt = style.paragraph_format
    if align is not None:
        fmt.alignment = align
    if exact:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = LINE_PITCH
    else:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE  # pictures and the masthead are not clipped
        snap = OxmlElement("w:snapToGrid")
        snap.set(qn("w:val"), "0")  # nor stretched onto the line grid
        style.element.get_or_add_pPr().append(snap)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    # Two characters of the tracked body face (see the Normal style below).
    fmt.first_line_indent = Pt((size.pt - 0.25) * 2) if indent else Pt(0)
    fmt.widow_control = False  # lines stay on the grid
    return style


def _border(paragraph_or_style: Any, side: str, size_eighths: int, color: str) -> None:
    ppr = paragraph_or_style.element.get_or_add_pPr() if hasattr(paragraph_or_style, "element") \
        else paragraph_or_style._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    line = OxmlElement(f"w:{side}")
    line.set(qn("w:val"), "single")
    line.set(qn("w:sz"), str(size_eighths))
    line.set(qn("w:space"), "1")
    line.set(qn("w:color"), color)
    borders.append(line)


def _define_styles(document: Any, fonts: Mapping[str, str]) -> None:
    fang, title, hei, kai = fonts["fangsong"], fonts["title"], fonts["hei"], fonts["kai"]
    normal = _paragraph_style(document, "Normal", face=fang, size=BODY_SIZE, base=None, indent=True,
                              align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    normal.font.color.rgb = RGBColor(0, 0, 0)
    # 28 characters a line: 156 mm is a pitch of 15.8 pt, so the 16 pt face is tracked 0.25 pt
    # tighter (15.75 × 28 = 441 pt, a little room for rounding) (w:spacing in twentieths of a point), as typesetters and the 公文 templates do.
    tracking = OxmlElement("w:spacing")
    tracking.set(qn("w:val"), "-5")
    normal.element.get_or_add_rPr().append(tracking)
    for level in range(1, 5):
        face = fonts[HEADING_FACES[level]]
        style = _paragraph_style(document, f"Heading {level}", face=face, size=BODY_SIZE, indent=True,
                                 bold=False, color=RGBColor(0, 0, 0), align=WD_ALIGN_PARAGRAPH.JUSTIFY)
        style.paragraph_format.keep_with_next = True
        style.font.italic = False
    _paragraph_style(document, styles.COPY_NUMBER, face=hei, size=BODY_SIZE)
    _paragraph_style(document, styles.SPECIAL_REPORT, face=fang, size=BODY_SIZE)
    masthead = _paragraph_style(document, styles.MASTHEAD, face=title, size=Pt(60), color=RED,
                                align=WD_ALIGN_PARAGRAPH.CENTER, exact=False)
    masthead.paragraph_format.space_before = Pt(12)
    masthead.paragraph_format.space_after = Pt(6)
    _paragraph_style(document, styles.ISSUE_LINE, face=fang, size=BODY_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER)
    hosts = _paragraph_style(document, styles.HOSTS_LINE, face=fang, size=BODY_SIZE)
    hosts.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
    rule = _paragraph_style(document, styles.RED_RULE, face=fang, size=Pt(8), exact=False)
    _border(rule, "top", 12, "E60012")  # 1.5 pt red rule the width of the text block
    _paragraph_style(document, styles.TITLE, face=title, size=Pt(22), align=WD_ALIGN_PARAGRAPH.CENTER,
                     bold=False).paragraph_format.line_spacing = Pt(36)
    _paragraph_style(document, styles.AUTHOR, face=kai, size=BODY_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph_style(document, styles.CAPTION, face=fang, size=Pt(14), align=WD_ALIGN_PARAGRAPH.CENTER,
                     exact=False)
    caption = document.styles[styles.CAPTION].paragraph_format
    caption.space_before, caption.space_after = Pt(6), Pt(4)
    figure = _paragraph_style(document, styles.FIGURE, face=fang, size=Pt(14), align=WD_ALIGN_PARAGRAPH.CENTER,
                              exact=False)
    figure.paragraph_format.space_before = Pt(8)
    figure.paragraph_format.keep_with_next = True
    cell = _paragraph_style(document, styles.TABLE_TEXT, face=fang, size=Pt(14))
    cell.paragraph_format.line_spacing = Pt(22)
    colophon = _paragraph_style(document, styles.COLOPHON, face=fang, size=Pt(14), exact=False)
    colophon.paragraph_format.tab_stops.add_tab_stop(Mm(148), WD_TAB_ALIGNMENT.RIGHT)
    # The rules in the style, not on the paragraphs (LibreOffice 7.4 does not frame paragraphs
    # with borders of their own): thick above and below the group, thin between its lines.
    _border(colophon, "top", 8, "000000")
    _border(colophon, "bottom", 8, "000000")
    _border(colophon, "between", 4, "000000")
    colophon.paragraph_format.left_indent = Pt(14)
    colophon.paragraph_format.line_spacing = Pt(24)
    colophon.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    _paragraph_style(document, styles.FOLIO, face=fang, size=Pt(14), exact=False)
    _paragraph_style(document, styles.SPECIMEN, face=hei, size=Pt(14), color=RED, align=WD_ALIGN_PARAGRAPH.RIGHT,
                     exact=False)
    for style in document.styles:
        if style.name in styles.FURNITURE or style.name.startswith("Canyue"):
            assert style.style_id == _style_id(style.name), style.name


def _page(document: Any, specimen: bool) -> None:
    section = document.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance = Mm(15)
    section.footer_distance = Mm(22)  # the folio's line about 7 mm below the text block
    # The line grid: 22 lines a page (w:linePitch in twentieths of a point). A character grid
    # ("linesAndChars") is left out: LibreOffice snaps each character to two cells of it.
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(int(LINE_PITCH.pt * 20)))
    document.settings.odd_and_even_pages_header_footer = True
    _folio(document, section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    _folio(document, section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)
    for header in (section.header, section.even_page_header):
        paragraph = header.paragraphs[0]
        if specimen:
            paragraph._p.style = _style_id(styles.SPECIMEN)
            paragraph.add_run("样稿")


def _folio(document: Any, paragraph: Any, align: Any) -> None:
    """— N — with N a PAGE field, one character in from the edge of the text block."""
    paragraph._p.style = _style_id(styles.FOLIO)
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        fmt.right_indent = Pt(14)
    else:
        fmt.left_indent = Pt(14)
    paragraph.add_run("— ")
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            t = OxmlElement("w:t")
            t.text = text
            run._r.append(t)
    paragraph.add_run(" —")
    for run in paragraph.runs:
        run.font.size = Pt(14)


def _style_id(name: str) -> str:
    # Setting the style by its id: python-docx's `style=` looks for the default style among all
    # ~160 of the template on every call, which made an export take a second.
    return name.replace(" ", "")


def _styled(document: Any, style: str) -> Any:
    paragraph = document.add_paragraph()
    paragraph._p.style = _style_id(style)
    return paragraph


def _add(document: Any, style: str, text: str = "") -> Any:
    paragraph = _styled(document, style)
    if text:
        paragraph.add_run(text)
    return paragraph


def _inline(paragraph: Any, children: list[Any], images: Mapping[str, bytes], document: Any) -> None:
    bold = False
    for token in children:
        if token.type == "strong_open":
            bold = True
        elif token.type == "strong_close":
            bold = False
        elif token.type in ("text", "text_special") and token.content:
            run = paragraph.add_run(token.content)
            if bold:
                run.bold = True
        elif token.type == "softbreak":
            paragraph.add_run(" ")
        elif token.type == "hardbreak":
            paragraph.add_run().add_break()
        elif token.type == "image":
            digest = str(token.attrGet("src") or "")[len("image:"):]
            data = images.get(digest)
            if data is None:
                paragraph.add_run(f"[{token.content}]")
                continue
            with Image.open(io.BytesIO(data)) as probe:
                width_px, height_px = probe.size
            width = min(TEXT_WIDTH, Emu(int(width_px / 150 * 914400)))  # 150 dpi at most full width
            height = Emu(int(width * height_px / width_px))
            if height > Mm(180):
                width, height = Emu(int(width * Mm(180) / height)), Mm(180)
            paragraph.add_run().add_picture(io.BytesIO(data), width=width, height=height)


def _write_table(document: Any, rows: list[list[list[Any]]], images: Mapping[str, bytes]) -> None:
    width = max(len(r) for r in rows)
    table = document.add_table(rows=len(rows), cols=width)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _table_borders(table)
    for r, row in enumerate(rows):
        for c in range(width):
            cell = table.cell(r, c)
            paragraph = cell.paragraphs[0]
            paragraph._p.style = _style_id(styles.TABLE_TEXT)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if r == 0 else WD_ALIGN_PARAGRAPH.LEFT
            if c < len(row):
                _inline(paragraph, row[c], images, document)
            if r == 0:
                for run in paragraph.runs:
                    run.bold = True
    # The header row repeats at the top of each page the table runs onto.
    trpr = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    trpr.append(header)


def _table_borders(table: Any) -> None:
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        line = OxmlElement(f"w:{side}")
        line.set(qn("w:val"), "single")
        line.set(qn("w:sz"), "6")  # 0.75 pt: thin rules
        line.set(qn("w:color"), "000000")
        borders.append(line)
    tblpr.append(borders)
    width = OxmlElement("w:tblW")
    width.set(qn("w:w"), "5000")
    width.set(qn("w:type"), "pct")  # the full text block
    tblpr.append(width)


def _body(document: Any, source: str, images: Mapping[str, bytes]) -> None:
    tokens = body_tokens(source)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open":
            level = min(int(token.tag[1:]), 4)
            paragraph = _styled(document, f"Heading {level}")
            _inline(paragraph, tokens[index + 1].children or [], images, document)
            index += 3
            continue
        if token.type == "paragraph_open":
            inline = tokens[index + 1]
            klass = token.attrGet("class")
            if klass == "figure":
                paragraph = _styled(document, styles.FIGURE)
                _inline(paragraph, inline.children or [], images, document)
                captions = [c.content for c in inline.children or [] if c.type == "image" and c.content]
                for caption in captions:
                    _add(document, styles.CAPTION, caption)
            elif klass == "table-caption":
                paragraph = _add(document, styles.CAPTION)
                paragraph.paragraph_format.keep_with_next = True
                _inline(paragraph, inline.children or [], images, document)
                for run in paragraph.runs:
                    run.bold = True
            else:
                paragraph = _styled(document, "Normal")
                _inline(paragraph, inline.children or [], images, document)
            index += 3
            continue
        if token.type == "table_open":
            rows: list[list[list[Any]]] = []
            index += 1
            while tokens[index].type != "table_close":
                if tokens[index].type == "tr_open":
                    rows.append([])
                elif tokens[index].type == "inline":
                    rows[-1].append(tokens[index].children or [])
                index += 1
            if rows:
                _write_table(document, rows, images)
            index += 1
            continue
        index += 1


def _colophon(document: Any, issue: PrintedIssue) -> None:
    """版记: two lines between thick rules (a thin one between them), in a frame at the foot of
    the text block on the page of the body's last lines (GB/T 9704 7.4). Consecutive paragraphs
    with the same w:framePr share one frame, as Word and LibreOffice read it."""
    rows = [f"责任编辑：{issue.editor_name or ''}\t联系电话：{issue.contact_phone}",
            f"地址：{issue.address}\t共印：{issue.print_run_text} 份"]
    for text in rows:
        paragraph = _add(document, styles.COLOPHON, text)
        frame = OxmlElement("w:framePr")
        # w:y rather than yAlign="bottom", which LibreOffice 7.4 does not place: the frame's top
        # at the text block's height less the colophon's (two 24 pt lines and their rules).
        for key, value in (("w:w", str(int(TEXT_WIDTH.twips))), ("w:wrap", "around"), ("w:vAnchor", "margin"),
                           ("w:hAnchor", "margin"), ("w:xAlign", "center"),
                           ("w:y", str(int(Mm(225).twips - COLOPHON_HEIGHT.twips)))):
            frame.set(qn(key), value)
        ppr = paragraph._p.get_or_add_pPr()
        ppr.insert(1 if ppr.find(qn("w:pStyle")) is not None else 0, frame)



def write_docx(issue: PrintedIssue, body: str, images: Mapping[str, bytes],
               fonts: Mapping[str, str] | None = None) -> bytes:
    """The issue as a .docx; `images` holds the bytes of each stored image the body names."""
    document = Document()
    faces = {**styles.DEFAULT_FONTS, **(fonts or {})}
    _define_styles(document, faces)
    body_paragraph = document.paragraphs[0] if document.paragraphs else None
    if body_paragraph is not None:
        body_paragraph._p.getparent().remove(body_paragraph._p)
    _page(document, issue.specimen)
    if issue.copy_number or issue.classification or issue.urgency:
        marks = "　".join(x for x in (issue.copy_number or "", issue.classification, issue.urgency) if x)
        _add(document, styles.COPY_NUMBER, marks)
    if issue.special_report:
        _add(document, styles.SPECIAL_REPORT, f"本期专报：{issue.special_report_text}")
    _add(document, styles.MASTHEAD, issue.series_name)
    _add(document, styles.ISSUE_LINE, issue.number_line + ("（增刊）" if issue.supplement else ""))
    _add(document, styles.HOSTS_LINE, f"{issue.hosts_text}\t{issue.date_text}")
    _add(document, styles.RED_RULE)
    for line in issue.title_lines or [issue.title]:
        _add(document, styles.TITLE, line)
    if issue.author_line:
        _add(document, styles.AUTHOR, issue.author_line)
    _body(document, body, images)
    _colophon(document, issue)
    document.core_properties.title = issue.title
    document.core_properties.subject = issue.series_name
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


__all__ = ["write_docx", "IMAGE_REFERENCE"]
