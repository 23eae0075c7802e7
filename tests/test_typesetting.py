"""The printed issue reads as the real thing (issue 10), measured from the PDF: 仿宋 and 楷体
faces, synthetic bold, compressed punctuation, full lines, margins.

Rendered: a fixture written in the style of a real issue (tests/fixtures/digital_twin_brief.md:
≥ 9 pages, many consecutive punctuation pairs and runs of quoted terms) and the demo briefs.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from rendering.pdf import PdfRenderer
from rendering.typesetting import CLOSING, OPENING, PUNCTUATION
from tests.test_pdf import MM, Line, is_indented, lines_of

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "digital_twin_brief.md"
DEMOS = sorted((ROOT / "demo" / "briefs").glob("*.md"))

_spec = importlib.util.spec_from_file_location("bench_render", ROOT / "bench" / "render.py")
bench_render = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_render)

HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)")
KAI_HEADING = re.compile(r"^（[一二三四五六七八九十]+）")


@pytest.fixture(scope="module")
def renderer() -> PdfRenderer:
    return PdfRenderer()


@pytest.fixture(scope="module")
def pdfs(renderer, tmp_path_factory) -> dict[str, bytes]:
    out = {}
    for path in (FIXTURE, *DEMOS):
        issue, _ = bench_render.load_issue(path)
        out[path.stem] = renderer.render(issue).data
    return out


def body_of(lines: list[Line]) -> list[Line]:
    """The 16 pt lines from the first indented paragraph on, without headings and folios."""
    start = next(i for i, line in enumerate(lines) if line.size == 16 and is_indented(line)
                 and not HEADING.match(line.text.strip()))
    body = []
    for line in lines[start:]:
        if line.size != 16:
            continue
        if HEADING.match(line.text.strip()):
            continue
        body.append(line)
    return body


def test_fixture_is_reference_length_with_pairs_and_quoted_runs(pdfs):
    import io

    import pypdf

    assert len(pypdf.PdfReader(io.BytesIO(pdfs[FIXTURE.stem])).pages) >= 9
    text = FIXTURE.read_text(encoding="utf-8")
    pairs = sum(1 for a, b in zip(text, text[1:], strict=False) if a in CLOSING and b in PUNCTUATION)
    assert pairs >= 30
    assert "”“" in text  # runs of quoted terms


@pytest.mark.parametrize("name", [FIXTURE.stem, *(p.stem for p in DEMOS)])
def test_body_is_fangsong_without_fallback(pdfs, name):
    body = body_of(lines_of(pdfs[name]))
    chars = [c for line in body for c in line.chars if not c["text"].isspace()]
    fang = [c for c in chars if "FandolFang" in c["fontname"]]
    assert len(fang) >= 0.99 * len(chars), {c["fontname"] for c in chars} - {fang[0]["fontname"]}


def test_kai_headings_and_author_line(pdfs):
    lines = lines_of(pdfs[FIXTURE.stem])
    author = next(line for line in lines if line.text.strip() == "苏州太湖智库")
    assert all("FandolKai" in c["fontname"] for c in author.chars)
    headings = [line for line in lines if KAI_HEADING.match(line.text.strip())]
    assert len(headings) >= 5
    for line in headings:
        assert all("FandolKai" in c["fontname"] for c in line.chars), line.text


def ink(png: Image.Image, chars: list[dict], scale: float) -> float:
    """Mean darkness (0–1) of the boxes of chars in a greyscale rendering."""
    total = area = 0.0
    for c in chars:
        box = tuple(int(round(v * scale)) for v in (c["x0"], c["top"], c["x1"], c["bottom"]))
        region = png.crop(box)
        pixels = region.width * region.height
        total += (255 - ImageStat.Stat(region).mean[0]) * pixels
        area += 255 * pixels
    return total / area


def test_bold_leads_are_darker_than_body(pdfs, tmp_path):
    data = pdfs[FIXTURE.stem]
    lines = lines_of(data)
    lead = next(line for line in lines if line.text.strip().startswith("1、加强顶层设计。"))
    text = lead.text.strip()
    split = len("1、加强顶层设计。")
    chars = [c for c in lead.chars if not c["text"].isspace()]
    bold, regular = chars[2:split - 1], chars[split:]  # Chinese characters only
    assert "".join(c["text"] for c in bold) == "加强顶层设计" and text.startswith("1、加强顶层设计。建议")
    pdf = tmp_path / "issue.pdf"
    pdf.write_bytes(data)
    page = str(lead.page + 1)
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-png", "-f", page, "-l", page, str(pdf), str(tmp_path / "page")],
                   check=True)
    png = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    scale = 150 / 72
    assert ink(png, bold, scale) > 1.2 * ink(png, regular, scale)
    assert "加强顶层设计" in "".join(c["text"] for c in lead.chars)  # extracts as the characters


def pair_advances(body: list[Line]) -> list[float]:
    """For each consecutive pair of marks inside a line, the advance of the first (pt)."""
    advances = []
    for line in body:
        chars = [c for c in line.chars if c["text"] not in "\u200b\u2060"]
        for a, b in zip(chars, chars[1:], strict=False):
            first, second = a["text"], b["text"]
            if (first in CLOSING and second in PUNCTUATION) or (first in OPENING and second in OPENING):
                advances.append(b["x0"] - a["x0"])
    return advances


@pytest.mark.parametrize("name", [FIXTURE.stem, *(p.stem for p in DEMOS)])
def test_consecutive_punctuation_is_compressed(pdfs, name):
    advances = pair_advances(body_of(lines_of(pdfs[name])))
    if name == FIXTURE.stem:
        assert len(advances) >= 30
    compressed = [a for a in advances if a < 0.7 * 16]  # half an em (8 pt) plus spacing, not 15.8
    assert len(compressed) >= 0.9 * len(advances)


def full_lines(body: list[Line]) -> list[Line]:
    pairs = zip(body, body[1:], strict=False)
    return [line for line, after in pairs if after.page == line.page and not is_indented(after)]


def pitch(line: Line) -> float:
    return (line.end - line.x0) / len([c for c in line.chars if c["text"] not in "\u200b\u2060"])


@pytest.mark.parametrize("name", [FIXTURE.stem, *(p.stem for p in DEMOS)])
def test_left_margin_is_28_mm_on_odd_and_even_pages(pdfs, name):
    body = body_of(lines_of(pdfs[name]))
    full = full_lines(body)
    assert len(full) > 40
    pages = {line.page for line in body if not is_indented(line)}  # pages with a full line
    assert any(p % 2 == 0 for p in pages) and any(p % 2 == 1 for p in pages)
    for page in pages:
        left = min(line.x0 for line in body if line.page == page)
        assert abs(left - 28 * MM) < 1 * MM, (page, left / MM)


@pytest.mark.parametrize("name", [FIXTURE.stem, *(p.stem for p in DEMOS)])
def test_no_full_line_is_looser_than_16_4_pt_a_character(pdfs, name):
    full = full_lines(body_of(lines_of(pdfs[name])))
    loose = [(line.page, line.text, round(pitch(line), 2)) for line in full if pitch(line) > 16.4]
    assert not loose


def test_each_roles_free_face_covers_the_reference_issue():
    """Every character of a real issue (REFERENCE_CHARS) has a glyph in the face its role uses
    out of the box, so nothing falls back to another face: found as fontconfig finds it."""
    from fontTools.ttLib import TTFont

    from tests.test_pdf import REFERENCE_CHARS

    wanted = {ch for ch in REFERENCE_CHARS + "“”‘’、——《》（）：；…·，。？！0123456789" if not ch.isspace()}
    faces = (("FandolFang", "FandolFang"), ("FandolKai", "FandolKai"),
             ("Noto Serif CJK SC:bold", "Noto Serif CJK SC"), ("Noto Sans CJK SC", "Noto Sans CJK SC"))
    for pattern, family in faces:
        found = subprocess.run(["fc-match", "-f", "%{file}\n%{index}\n%{family}", pattern],
                               check=True, capture_output=True, text=True).stdout.split("\n")
        path, index, families = found[0], int(found[1]), found[2]
        assert family in families.split(","), (pattern, families)  # installed, not a substitute
        cmap = TTFont(path, fontNumber=index, lazy=True).getBestCmap()
        missing = sorted(ch for ch in wanted if ord(ch) not in cmap)
        assert not missing, (family, "".join(missing))
