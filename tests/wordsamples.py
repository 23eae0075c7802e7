"""Word files as drafters make them, built with python-docx: direct formatting everywhere
(fonts and sizes set by hand on each run, Normal style), heading numbers typed by hand, bold
lead sentences, a table, a chart picture, a soft line break and a manual page break.
LibreOffice re-saves them (`resave`), since Word's and WPS's files differ from python-docx's."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from PIL import Image, ImageDraw

TITLE = "关于加快我市低空经济产业发展的几点建议"
AUTHOR = "苏州太湖智库"
LEAD = "当前，低空经济正成为各地竞相布局的新赛道。现根据初步调研，形成分析建议，供领导参阅。"
LONG = ("据测算，2023年我国低空经济规模已超过5000亿元，到2030年有望达到2万亿元。深圳、合肥、成都等地"
        "纷纷出台专项政策，抢占“低空+”应用场景。")
AFTER_BREAK = "我市具备较好的产业基础和应用需求，应当乘势而上。"
TABLE = [["城市", "企业数量（家）", "规模（亿元）"], ["深圳", "1700", "960"], ["合肥", "300", "200"]]


def chart_png() -> bytes:
    """A bar chart as a drafter pastes it (a picture in the text)."""
    image = Image.new("RGB", (600, 360), "white")
    draw = ImageDraw.Draw(image)
    for i, height in enumerate((300, 180, 120)):
        draw.rectangle([80 + i * 170, 340 - height, 180 + i * 170, 340], fill=(200, 40, 40))
    draw.line([40, 340, 580, 340], fill="black", width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _run(paragraph, text: str, *, bold: bool = False, size: float = 16, face: str = "仿宋_GB2312"):
    run = paragraph.add_run(text)
    run.bold = bold or None
    run.font.size = Pt(size)
    run.font.name = face
    run._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), face)
    run.font.color.rgb = RGBColor(0x20, 0x20, 0x20)
    return run


def typed_docx(*, picture: bytes | None = None) -> bytes:
    """The drafter's file: everything in Normal style, formatted by hand."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, TITLE, size=22, face="方正小标宋简体")
    author = document.add_paragraph()
    author.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(author, AUTHOR, face="楷体_GB2312")
    document.add_paragraph()  # an empty line typed for spacing
    lead = document.add_paragraph()
    _run(lead, "\u3000\u3000" + LEAD)
    heading = document.add_paragraph()
    _run(heading, "\u3000\u3000一、发展态势", face="黑体")
    body = document.add_paragraph()
    _run(body, "\u3000\u3000" + LONG[:LONG.index("。") + 1])
    body.runs[-1].add_break()  # a soft line break (Shift+Enter) inside the paragraph
    _run(body, LONG[LONG.index("。") + 1:])
    second = document.add_paragraph()
    _run(second, "\u3000\u3000（一）产业基础", face="楷体_GB2312")
    bold_lead = document.add_paragraph()
    _run(bold_lead, "\u3000\u3000")
    _run(bold_lead, "1.加强顶层设计。", bold=True)
    _run(bold_lead, "结合我市实际，加快编制低空经济发展规划，明确发展路径。")
    page_break = document.add_paragraph()
    _run(page_break, "\u3000\u3000" + AFTER_BREAK[:10])
    page_break.runs[-1].add_break(WD_BREAK.PAGE)  # a manual page break mid-paragraph
    _run(page_break, AFTER_BREAK[10:])
    fourth = document.add_paragraph()
    _run(fourth, "（1）完善基础设施", face="仿宋_GB2312")
    caption = document.add_paragraph()
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(caption, "表1 主要城市低空经济情况", bold=True, size=14)
    table = document.add_table(rows=len(TABLE), cols=len(TABLE[0]))
    table.style = "Table Grid"
    for r, row in enumerate(TABLE):
        for c, text in enumerate(row):
            cell = table.cell(r, c)
            _run(cell.paragraphs[0], text, size=14, bold=r == 0)
    pic = document.add_paragraph()
    pic.alignment = WD_ALIGN_PARAGRAPH.CENTER
    pic.add_run().add_picture(io.BytesIO(picture or chart_png()), width=Mm(120))
    pic_caption = document.add_paragraph()
    pic_caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(pic_caption, "图1 各地低空经济规模", size=14)
    last = document.add_paragraph()
    _run(last, "\u3000\u3000以上建议，供参考。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def has_libreoffice() -> bool:
    return shutil.which("soffice") is not None


def soffice(source: Path, target_format: str, outdir: Path, *, fontconfig: Path | None = None) -> Path:
    """Convert with LibreOffice in a throwaway profile; the converted file."""
    profile = Path(tempfile.mkdtemp(prefix="canyue-lo-"))
    env = {**os.environ, "HOME": str(profile)}
    if fontconfig is not None:
        env["FONTCONFIG_FILE"] = str(fontconfig)
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}/profile", "--headless", "--norestore",
                    "--convert-to", target_format, "--outdir", str(outdir), str(source)],
                   check=True, capture_output=True, timeout=180, env=env)
    shutil.rmtree(profile, ignore_errors=True)
    produced = outdir / (source.stem + "." + target_format.split(":")[0])
    assert produced.is_file(), f"LibreOffice made no {produced.name}"
    return produced


def resave(data: bytes) -> bytes:
    """The same document as LibreOffice saves it (`soffice --convert-to docx`)."""
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "in" / "draft.docx"
        source.parent.mkdir()
        source.write_bytes(data)
        return soffice(source, "docx:MS Word 2007 XML", Path(work)).read_bytes()


# The official face names an exported .docx asks for, mapped to the free faces installed here
# (the first of each list that exists), as an office without the licensed fonts would see it.
FREE_FACES = {
    "仿宋_GB2312": ["FandolFang", "Noto Serif CJK SC"],
    "方正小标宋简体": ["Noto Serif CJK SC"],
    "黑体": ["Noto Sans CJK SC"],
    "楷体_GB2312": ["FandolKai", "AR PL UKai CN", "Noto Serif CJK SC"],
}


def fontconfig_file(folder: Path) -> Path:
    """A fontconfig configuration: the system's, plus the official names as aliases."""
    rules = []
    for name, faces in FREE_FACES.items():
        prefer = "".join(f"<string>{face}</string>" for face in faces)
        # 小标宋 is a heavy face: its free stand-in is the bold Song (FORMAT.md).
        weight = '<edit name="weight" mode="assign"><const>bold</const></edit>' if name == "方正小标宋简体" else ""
        rules.append(f'<match target="pattern"><test name="family"><string>{name}</string></test>'
                     f'<edit name="family" mode="assign" binding="strong">{prefer}</edit>{weight}</match>')
    path = folder / "fonts.conf"
    path.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
                    + "".join(rules) + "</fontconfig>", encoding="utf-8")
    return path


def chart_emf() -> bytes:
    """A small EMF (a red bar on a 400 × 300 canvas), as Excel charts arrive when pasted."""
    import struct

    def record(kind: int, payload: bytes) -> bytes:
        return struct.pack("<II", kind, 8 + len(payload)) + payload

    body = (record(39, struct.pack("<IIII", 1, 0, 0x0000FF, 0))  # CREATEBRUSHINDIRECT: solid red (BGR)
            + record(37, struct.pack("<I", 1))  # SELECTOBJECT
            + record(43, struct.pack("<4i", 50, 50, 350, 250))  # RECTANGLE
            + record(14, struct.pack("<III", 0, 0x10, 20)))  # EOF
    fixed = (struct.pack("<4i", 0, 0, 400, 300) + struct.pack("<4i", 0, 0, 10583, 7937)
             + struct.pack("<II", 0x464D4520, 0x10000))
    header_size = 8 + len(fixed) + struct.calcsize("<IIHHIIIiiii")
    tail = struct.pack("<IIHHIIIiiii", header_size + len(body), 5, 2, 0, 0, 0, 0, 1024, 768, 320, 240)
    return record(1, fixed + tail) + body
