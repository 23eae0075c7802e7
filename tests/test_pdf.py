"""rendering.pdf: the printed brief as a PDF/A-3b file, checked on the PDF itself.

Geometry comes from pdfplumber (each character with its font, size and position), text and
metadata from pypdf. Measurements follow FORMAT.md (GB/T 9704-2012): A4, margins 37/28/26/35 mm
(the binding edge mirrored on even pages), body 16 pt on a 28.9 pt grid of 22 lines × 28
characters, title 22 pt, colophon and page numbers 14 pt.
"""

from __future__ import annotations

import io
import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pdfplumber
import pytest
from fontTools.cffLib import CFFFontSet
from markupsafe import Markup
from pypdf import PdfReader
from weasyprint import HTML

from publishing.brieffile import parse_brief_file
from rendering.markdown import plain_text, render_body
from rendering.pdf import (
    CanyueUrlFetcher,
    PdfAttachment,
    PdfRenderer,
    RefusedUrl,
    RenderedPdf,
    default_renderer,
)
from rendering.fonts import ROLES, FontSetup, default_stacks, guess_role
from rendering.printing import PrintedIssue, title_lines

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_BODY = (Path(__file__).parent / "fixtures" / "sample_brief.md").read_text(encoding="utf-8")
DEMO = parse_brief_file((ROOT / "demo" / "briefs" / "ai-manufacturing.md").read_text(encoding="utf-8"))

MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM
TOP, BOTTOM = 37 * MM, (297 - 35) * MM  # the text block, vertically
LINE = 28.9  # pt, the body's line pitch
CLOSING = set("，。、；：？！”）》")

# A body in the style of the reference brief, with its punctuation: “”、——《》（）：；…·
REFERENCE_STYLE = """\
当前，“元宇宙”已成为社会高度关注的热词，各级政府和互联网企业正在加速布局“元宇宙”赛道。苏州作为制造业大市，如何把握“元宇宙”发展机遇，值得研究。现根据初步调研，形成分析建议，供领导参阅。

# 一、“元宇宙”知多少？

“元宇宙”并非一个全新概念：尼尔·斯蒂芬森1992年出版的科幻小说《雪崩》第一次提出了它的构想；2021年则被称为“元宇宙”元年……

——上海制定的《电子信息产业发展“十四五”规划》特别提及“元宇宙”，将部署量子计算、6G通信等领域。

——深圳成立“元宇宙”创新实验室（由市科协指导），推动“元宇宙”从概念走向现实。

## （一）共同做法

一是规划先行；二是场景牵引；三是设施配套：加快建设算力中心和通信基站。

### 1. 避免一哄而上。

#### （1）防止概念炒作。

**1、加强我市“元宇宙”产业发展的顶层设计。**结合我市发展实际，加快开展顶层设计，尽快构建起产业发展的“四梁八柱”。
"""

# Every character of the reference brief (/work/shared/reference), Markdown markers aside.
REFERENCE_CHARS = (
    "()+-.0123456789G·—“”、。《》一万三上下不与专世业两个中丰临为主举之乐也习书了"
    "予争事二于云互五交产享京人亿仅今从代令以们件价任份企伐众优会传估伸但位低体何作供促保信修值倾假做"
    "健储像元充先入全八公共关兴其具典养内册再写决准几出分切刊划列刚创初利别到制刻前剖力办加务动助势勤"
    "包化北区升半华协南博占印即历厂发变口另只召台史叫号各合同名向含周命和品响哪商嘴器四回因团围国图土"
    "在地场址均坚型埠培基塔增处备复外多大天太头夺如妙始娱子字学孙孪宇守安完宏官定宙实宣室宫家容寸对将"
    "小少尚就尼局层展属崩工市布希幕幻广庄应底度座康延建引强归当录形彩影往征径很律得循心必志快念态思急"
    "性总息惊想意感慧成我或战所手才扩扬扶技把投抢护抓抢指按推撬擎支收放政效敏教数文斐斯新方施旅旗无日"
    "早时明易星是显智暑曾最月有服望期未本术机权李材村束条来杭松极构析林染查标树格框梁梳棋森椭模次欢止"
    "正此步武段每比毛民气水求汇汽沉没治沿泛法波注洲活派流浙海消涉深混添清渐游湖湾溢滴演潜澳激点热焦然"
    "照熟爆牌物特犹独玩环现球理生用由电画界略疆疗疫的监盖盘目直相省看真着知石码研破础社神福科秘积称移"
    "程稳究空穿立竞竟章端第等筑策简算管类粤精系素索紧繁纳线组细织终经结给统继续绪维综编缺网置美群翔者"
    "而联聚肇育胆能脑自致般色节芯花英范荐营落著蓄虚融行街衍表要见观规视览角解言计认议讨让训记讲设访证"
    "识诉词试诗话该详语误说请诸读课谁调谋谓谷资赋赛赶起超越足跃跑路身转轮软载较辅辐边达迁过迈运近还这"
    "进远连迫述迭途通速造遇道遍遐遴那部都重量金钢链销锁锋长门间阶队防阵际陆限院除险随隐难雪零需震露青"
    "非面顶项顺须领频题颠飞首香马驱验高鲁鸿黄鼓齐齿"
)


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------


def make_issue(**changes) -> PrintedIssue:
    values = dict(
        series_name="领导参阅",
        hosts=["苏州太湖书院", "苏州太湖智库"],
        issue_number=3,
        total_number=31,
        supplement=True,
        issue_date=date(2022, 1, 28),
        special_report=["曹路宝书记", "吴庆文代市长", "潘国强秘书长"],
        classification="内部",
        urgency="",
        title="关于我市加紧研究布局“元宇宙”产业发展的分析建议",
        author_line="苏州太湖智库",
        body_html=render_body(REFERENCE_STYLE),
        editor_name="李长青",
        contact_phone="18106219189  65519639（传真）",
        address="苏州市吴中区胥口镇灵山路 609 号",
        print_run=30,
        copy_number=None,
        specimen=False,
        keywords=("元宇宙", "数字经济", "产业布局"),
    )
    values.update(changes)
    return PrintedIssue(**values)


def demo_issue(**changes) -> PrintedIssue:
    content = DEMO.content()
    return make_issue(
        title=content["title"],
        special_report=content["special_report"],
        body_html=render_body(content["body"]),
        keywords=tuple(content["keywords"]),
        **changes,
    )


@pytest.fixture(scope="module")
def renderer() -> PdfRenderer:
    return PdfRenderer()


_cache: dict[str, bytes] = {}


def rendered(renderer: PdfRenderer, key: str, issue: PrintedIssue, **kwargs) -> bytes:
    if key not in _cache:
        result = renderer.render(issue, **kwargs)
        assert isinstance(result, RenderedPdf)
        assert result.pages == len(PdfReader(io.BytesIO(result.data)).pages)
        _cache[key] = result.data
    return _cache[key]


@pytest.fixture(scope="module")
def sample_pdf(renderer) -> bytes:
    return rendered(renderer, "sample", make_issue())


@pytest.fixture(scope="module")
def demo_pdf(renderer) -> bytes:
    return rendered(renderer, "demo", demo_issue())


@dataclass
class Line:
    page: int  # 0-based
    baseline: float  # pt from the top of the page
    chars: list[dict]

    @property
    def text(self) -> str:
        return "".join(c["text"] for c in self.chars)

    @property
    def x0(self) -> float:
        return self.chars[0]["x0"]

    @property
    def x1(self) -> float:
        return self.chars[-1]["x1"]

    @property
    def end(self) -> float:
        """Where the line's last character ends: x1, or half an em earlier for a closing mark
        compressed at the end of a full line (its glyph, in the left half of its em, keeps
        its em box in the PDF's widths, which is what pdfplumber reports)."""
        last = self.chars[-1]
        if last["text"] in CLOSING and last["text"] not in "？！":
            half = last["x1"] - last["size"] / 2
            if abs(half - right_edge(self.page)) < 1:
                return half
        return self.x1

    @property
    def top(self) -> float:
        return min(c["top"] for c in self.chars)

    @property
    def size(self) -> float:
        return max(round(c["size"], 1) for c in self.chars)


def lines_of(data: bytes, *, skip_watermark: bool = True) -> list[Line]:
    """Every line of text, page by page, top to bottom: characters grouped by baseline."""
    lines: list[Line] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages):
            rows: dict[float, list[dict]] = {}
            for char in page.chars:
                if skip_watermark and char["size"] > 100:
                    continue  # the 样稿 mark
                baseline = page.height - char["matrix"][5]
                key = next((k for k in rows if abs(k - baseline) < 2), baseline)
                rows.setdefault(key, []).append(char)
            for baseline in sorted(rows):
                chars = sorted(rows[baseline], key=lambda c: c["x0"])
                lines.append(Line(number, baseline, chars))
    return lines


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def find(lines: Iterable[Line], text: str) -> Line:
    """The line that is ``text``, or else the first that holds it."""
    lines = list(lines)
    for line in lines:
        if squeeze(line.text) == squeeze(text):
            return line
    for line in lines:
        if squeeze(text) in squeeze(line.text):
            return line
    raise AssertionError(f"no line holds {text!r}")


def left_edge(page: int) -> float:
    return 28 * MM  # GB/T 9704 5.2.2: 订口 28 mm on every page, odd and even (no mirroring)


def right_edge(page: int) -> float:
    return PAGE_W - 26 * MM


def body_lines(lines: list[Line], issue: PrintedIssue) -> list[Line]:
    """The body's lines: after the author line, 16 pt, inside the text block."""
    author = next(line for line in lines if squeeze(line.text) == squeeze(issue.author_line))
    start = lines.index(author) + 1
    return [
        line for line in lines[start:]
        if line.size == 16 and TOP <= line.baseline <= BOTTOM
    ]


def is_indented(line: Line) -> bool:
    return abs(line.x0 - left_edge(line.page) - 2 * 15.77) < 2


def is_red(color) -> bool:
    return bool(color) and isinstance(color, tuple) and len(color) == 3 and color[0] > 0.6 and color[1] < 0.2


def text_of(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# ---------------------------------------------------------------------------------------------
# Anatomy
# ---------------------------------------------------------------------------------------------


def test_anatomy_top_to_bottom(sample_pdf):
    lines = lines_of(sample_pdf)
    order = [
        "内部",
        "本期专报：曹路宝书记、吴庆文代市长、潘国强秘书长",
        "领导参阅",
        "第3期（总第31期）",
        "（增刊）",
        "2022年1月28日",
        "关于我市加紧研究布局“元宇宙”",
        "产业发展的分析建议",
        "苏州太湖智库",
        "当前，“元宇宙”已成为",
        "一、“元宇宙”知多少？",
        "（一）共同做法",
        "1.避免一哄而上。",
        "（1）防止概念炒作。",
        "责任编辑：李长青",
        "地址：苏州市吴中区胥口镇灵山路609号",
    ]
    found = [find(lines, text) for text in order]
    positions = [(line.page, line.baseline) for line in found]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert all(line.page == 0 for line in found[:10])


def test_header_lines(sample_pdf):
    lines = lines_of(sample_pdf)
    page = [line for line in lines if line.page == 0]
    # 本期专报 names in their order, at the left
    special = find(page, "本期专报")
    assert squeeze(special.text) == "本期专报：曹路宝书记、吴庆文代市长、潘国强秘书长"
    assert abs(special.x0 - 28 * MM) < 1
    # the masthead: large, red, centred
    masthead = find(page, "领导参阅")
    assert masthead.size >= 36
    assert all(is_red(c["non_stroking_color"]) for c in masthead.chars)
    centre = (28 * MM + right_edge(0)) / 2
    assert abs((masthead.x0 + masthead.x1) / 2 - centre) < 0.25 * masthead.size  # letter-spacing balanced
    number = find(page, "第3期（总第31期）")
    assert abs((number.x0 + number.x1) / 2 - centre) < 1
    supplement = find(page, "（增刊）")
    assert number.baseline < supplement.baseline < find(page, "主办").baseline
    # hosts and 主办 at the left, the date at the right, on one line
    hosts = find(page, "苏州太湖书院")
    assert squeeze(hosts.text) == "苏州太湖书院苏州太湖智库主办2022年1月28日"
    assert abs(hosts.x0 - 28 * MM) < 1 and abs(hosts.x1 - right_edge(0)) < 1
    assert "2022年01月" not in text_of(sample_pdf)


def test_red_rule_spans_the_text_block_under_the_hosts_line(sample_pdf):
    lines = lines_of(sample_pdf)
    hosts, title = find(lines, "主办"), find(lines, "关于我市")
    with pdfplumber.open(io.BytesIO(sample_pdf)) as pdf:
        red = [r for r in pdf.pages[0].rects if is_red(r["non_stroking_color"])]
    assert red, "no red rule"
    rule_bottom = max(r["bottom"] for r in red)
    assert hosts.baseline < rule_bottom < title.top
    assert all(abs(r["x0"] - 28 * MM) < 1 and abs(r["x1"] - right_edge(0)) < 1 for r in red)


def test_title_and_author_line(sample_pdf):
    lines = lines_of(sample_pdf)
    first, second = find(lines, "关于我市加紧研究布局“元宇宙”"), find(lines, "产业发展的分析建议")
    centre = (28 * MM + right_edge(0)) / 2
    for line in (first, second):
        assert line.size == 22
        assert all("Bold" in c["fontname"] for c in line.chars)
        assert abs((line.x0 + line.x1) / 2 - centre) < 1
        assert line.text[0] not in CLOSING
    assert 0 < second.baseline - first.baseline < 2 * 22
    author = [line for line in lines if squeeze(line.text) == "苏州太湖智库"][0]
    assert author.size == 16 and abs((author.x0 + author.x1) / 2 - centre) < 1


def test_long_title_wraps_in_balanced_lines(renderer):
    title = "关于在长三角一体化背景下进一步提升苏州国际化水平、打造具有全球影响力的产业科技创新中心的思考与建议"
    data = rendered(renderer, "long-title", make_issue(title=title, body_html=render_body("正文。")))
    lines = [line for line in lines_of(data) if line.size == 22]
    assert "".join(squeeze(line.text) for line in lines) == title
    assert len(lines) == 3
    lengths = [len(line.chars) for line in lines]
    assert max(lengths) - min(lengths) <= 4
    assert all(line.text[0] not in CLOSING for line in lines)
    assert [squeeze(x) for x in title_lines(title)] == [squeeze(line.text) for line in lines]


def test_title_lines_break_at_natural_places():
    assert title_lines("关于加快培育我市低空经济新增长点的建议") == ["关于加快培育我市低空经济新增长点的建议"]
    # A verb keeps its object (赋能 / 我市制造业 would split the phrase: issue 10).
    assert title_lines("关于以“人工智能+”赋能我市制造业转型升级的建议") == ["关于以“人工智能+”", "赋能我市制造业转型升级的建议"]
    lines = title_lines("关于加快推进数据要素市场化配置改革、释放数据要素价值的若干建议")
    assert lines == ["关于加快推进数据要素市场化配置改革、", "释放数据要素价值的若干建议"]
    for lines in (title_lines("关于我市加紧研究布局“元宇宙”产业发展的分析建议"),
                  title_lines("关于2025年推进5G+工业互联网融合应用的建议")):
        assert all(line[0] not in CLOSING for line in lines)
        assert not any(line.endswith(("“元", "5", "工业")) for line in lines)


def test_heading_levels_and_fonts(sample_pdf):
    lines = lines_of(sample_pdf)
    level1, level2 = find(lines, "一、“元宇宙”知多少？"), find(lines, "（一）共同做法")
    level3, level4 = find(lines, "1.避免一哄而上。"), find(lines, "（1）防止概念炒作。")
    body = find(lines, "一是规划先行")
    assert all("Sans" in c["fontname"] for c in level1.chars)  # 黑体 role
    assert all("FandolKai" in c["fontname"] for c in level2.chars)  # 楷体 role
    for line in (level3, level4, body):
        assert all("FandolFang" in c["fontname"] for c in line.chars)  # 仿宋 role
    for line in (level1, level2, level3, level4, body):
        assert line.size == 16 and is_indented(line)
    # The bold lead is FandolFang too (it has no bold: synthetic, see test_typesetting.py).
    lead = find(lines, "1、加强我市")
    assert all("FandolFang" in c["fontname"] for c in lead.chars)


def test_copy_number_place_is_blank_on_the_master_and_holds_the_number_on_a_copy(renderer, sample_pdf):
    master = lines_of(sample_pdf)
    copy = lines_of(rendered(renderer, "copy", make_issue(copy_number="000017", urgency="特急")))
    assert squeeze(master[0].text) == "内部"  # nothing printed in the 份号 place
    assert not re.search(r"\d{6}", PdfReader(io.BytesIO(sample_pdf)).pages[0].extract_text().split("领")[0])
    number = find(copy, "000017")
    assert number.page == 0 and squeeze(number.text) == "000017"
    assert abs(number.x0 - 28 * MM) < 1
    assert TOP <= number.top <= TOP + (LINE - 16)  # the first line of the text block
    # the place is kept on the master: 内部 sits where it sits on the copy
    assert abs(find(master, "内部").baseline - find(copy, "内部").baseline) < 0.5
    order = [find(copy, text).baseline for text in ("000017", "内部", "特急", "本期专报", "领导参阅")]
    assert order == sorted(order)
    assert "特急" not in text_of(sample_pdf)


def test_supplement_line_only_when_flagged(renderer, sample_pdf):
    plain = rendered(renderer, "regular", make_issue(supplement=False, classification="", special_report=[]))
    assert "（增刊）" in squeeze(text_of(sample_pdf))
    text = squeeze(text_of(plain))
    assert "（增刊）" not in text and "第3期（总第31期）" in text
    assert "本期专报" not in text and "内部" not in text


def test_colophon_between_its_rules_at_the_foot_of_the_last_page(sample_pdf):
    lines = lines_of(sample_pdf)
    last = lines[-1].page
    editor, address = find(lines, "责任编辑：李长青"), find(lines, "地址：")
    assert editor.page == address.page == last
    assert "联系电话：18106219189 65519639（传真）" in " ".join(editor.text.split())
    assert squeeze(address.text).endswith("共印：30份")
    assert re.search(r"共印：30 份", address.text)
    assert editor.size == address.size == 14
    assert abs(editor.x0 - left_edge(last) - 14) < 1.5  # one character in
    with pdfplumber.open(io.BytesIO(sample_pdf)) as pdf:
        rules = [r for r in pdf.pages[last].rects if r["non_stroking_color"] in ((0, 0, 0), 0)]
    assert rules
    bottom = max(r["bottom"] for r in rules)
    top = min(r["top"] for r in rules)
    assert abs(bottom - BOTTOM) < 1 * MM  # the lower rule on the lower edge of the text block
    assert top < editor.top and address.baseline < bottom
    # the body's last line comes before it on the same page
    body = body_lines(lines, make_issue())
    assert body[-1].page == last and body[-1].baseline < top


def test_colophon_never_stands_alone(renderer):
    filler = "这是一段用于排版测试的正文，每段恰好只占一行。"  # 22 characters + indent: one line
    page_counts = set()
    for count in range(3, 10):  # around the point where the colophon no longer fits on page 1
        issue = make_issue(body_html=render_body("\n\n".join([filler] * count)))
        lines = lines_of(renderer.render(issue).data)
        last = lines[-1].page
        page_counts.add(last + 1)
        assert sum(squeeze(line.text) == filler for line in lines) == count
        on_last_page = [line for line in lines if line.page == last and squeeze(line.text) == filler]
        assert on_last_page, count
        assert find(lines, "责任编辑").page == last
    assert page_counts == {1, 2}


# ---------------------------------------------------------------------------------------------
# Page geometry
# ---------------------------------------------------------------------------------------------


def test_page_size_and_numbers(demo_pdf):
    lines = lines_of(demo_pdf)
    pages = max(line.page for line in lines) + 1
    assert pages >= 4
    with pdfplumber.open(io.BytesIO(demo_pdf)) as pdf:
        assert all(abs(p.width - PAGE_W) < 0.5 and abs(p.height - PAGE_H) < 0.5 for p in pdf.pages)
    for page in range(pages):
        numbers = [line for line in lines if line.page == page and line.baseline > BOTTOM]
        assert len(numbers) == 1
        number = numbers[0]
        assert squeeze(number.text) == f"—{page + 1}—"
        dashes = [c for c in number.chars if c["text"] == "—"]
        digits = [c for c in number.chars if c["text"].isdigit()]
        assert digits[0]["x0"] - dashes[0]["x1"] > 2 and dashes[1]["x0"] - digits[-1]["x1"] > 2  # "— N —"
        assert number.size == 14
        assert abs(number.top - (BOTTOM + 7 * MM)) < 1 * MM
        if page % 2 == 0:  # odd page: at the right, one character in
            assert abs(number.x1 - (right_edge(page) - 14)) < 1.5
        else:
            assert abs(number.x0 - (left_edge(page) + 14)) < 1.5


def test_margins(demo_pdf):
    lines = lines_of(demo_pdf)
    issue = demo_issue()
    body = body_lines(lines, issue)
    for page in {line.page for line in body}:
        on_page = [line for line in body if line.page == page]
        assert abs(min(line.x0 for line in on_page) - left_edge(page)) < 1 * MM
        assert abs(max(line.end for line in on_page) - right_edge(page)) < 1 * MM
        assert max(line.top for line in on_page) < BOTTOM
    second_page = [line for line in lines if line.page == 1]
    assert TOP <= second_page[0].top <= TOP + (LINE - 16)  # the first line of the text block


def test_body_grid_22_lines_of_28_characters(demo_pdf):
    body = body_lines(lines_of(demo_pdf), demo_issue())
    pages = sorted({line.page for line in body})[1:-1]  # the pages between the first and the last
    counts = [sum(line.page == page for line in body) for page in pages]
    assert max(counts) == 22 and counts.count(22) >= len(pages) // 2
    for page in pages:  # on the grid: the first line at the top, the pitch 28.9 pt
        on_page = [line for line in body if line.page == page]
        assert TOP <= on_page[0].top <= TOP + (LINE - 16)
        assert all(abs(b.baseline - a.baseline - LINE) < 0.1 for a, b in zip(on_page, on_page[1:]))
    cjk_full = [
        line for line in body
        if line.page in pages and not is_indented(line) and abs(line.end - right_edge(line.page)) < 1
        and all(ord(c["text"][0]) > 0x2000 for c in line.chars)
    ]
    # 28 characters, or fewer where closing punctuation may not start the next line
    lengths = [len(line.text) for line in cjk_full]
    # (29 where compressed punctuation leaves room for one more character, 27 where the next
    # run cannot be split)
    assert len(lengths) > 40 and 27 <= min(lengths) and max(lengths) <= 29, sorted(lengths)
    assert lengths.count(28) >= 0.7 * len(lengths)


def test_sizes(sample_pdf):
    lines = lines_of(sample_pdf)
    body = body_lines(lines, make_issue())
    assert {round(c["size"], 1) for line in body for c in line.chars} == {16}
    assert {round(c["size"], 1) for c in find(lines, "产业发展的分析建议").chars} == {22}
    assert {round(c["size"], 1) for c in find(lines, "责任编辑").chars} == {14}


# ---------------------------------------------------------------------------------------------
# Justification and line breaking
# ---------------------------------------------------------------------------------------------


def punctuation_heavy_body(paragraphs: int = 40, seed: int = 9704) -> str:
    """Short clauses of varied length, each closed by punctuation, so that closing punctuation
    falls at or just after the end of many lines."""
    rng = random.Random(seed)
    words = "发展产业经济数字创新城市企业服务体系平台项目人才资源价值能力水平中心建设融合应用"
    marks = list("，。、；：？！") + ["”", "）", "》"]
    out = []
    for _ in range(paragraphs):
        parts = []
        for _ in range(rng.randint(10, 18)):
            clause = "".join(rng.choice(words) for _ in range(rng.randint(1, 9)))
            mark = rng.choice(marks)
            opening = {"”": "“", "）": "（", "》": "《"}.get(mark, "")
            parts.append(f"{opening}{clause}{mark}")
        out.append("".join(parts))
    return "\n\n".join(out)


def test_full_lines_end_flush_at_the_right_edge(renderer, demo_pdf):
    punctuated = make_issue(body_html=render_body(punctuation_heavy_body()))
    for data, issue in ((demo_pdf, demo_issue()), (rendered(renderer, "punct", punctuated), punctuated)):
        body = body_lines(lines_of(data), issue)
        full = [line for line, after in zip(body, body[1:]) if not is_indented(after)]
        assert len(full) > 60
        ragged = [(line.page, line.text, round(line.end - right_edge(line.page), 2)) for line in full
                  if abs(line.end - right_edge(line.page)) > 1]
        assert not ragged


def lines_starting_with_closing_punctuation(body: list[Line]) -> list[str]:
    return [line.text for line in body if line.text[0] in CLOSING]


def test_no_line_starts_with_closing_punctuation(renderer):
    issue = make_issue(body_html=render_body(punctuation_heavy_body()))
    body = body_lines(lines_of(rendered(renderer, "punct", issue)), issue)
    assert len(body) > 80
    assert lines_starting_with_closing_punctuation(body) == []
    # the sample does put closing punctuation at many line ends …
    assert sum(line.text[-1] in CLOSING for line in body) > 20
    # … and the check sees a line that does start with it (here, after a forced break)
    forced = make_issue(body_html=Markup("<p>文字文字<br>，标点在行首。</p>"))
    assert lines_starting_with_closing_punctuation(body_lines(lines_of(renderer.render(forced).data), forced))


def test_extracted_text_is_the_original_text(demo_pdf, sample_pdf):
    for data, source in ((demo_pdf, DEMO.content()["body"]), (sample_pdf, REFERENCE_STYLE)):
        pages = PdfReader(io.BytesIO(data)).pages
        # each page's text without its page number, the pages one after the other
        text = "".join(re.sub(r"\n— \d+ —$", "", page.extract_text().rstrip()) for page in pages)
        joined = text.replace("\n", "")
        paragraphs = plain_text(source).splitlines()
        assert max(len(p) for p in paragraphs) > 60  # paragraphs of several lines
        for paragraph in paragraphs:
            assert paragraph in joined, paragraph  # verbatim: no character added, none lost


# ---------------------------------------------------------------------------------------------
# Characters and fonts
# ---------------------------------------------------------------------------------------------


def embedded_cids(data: bytes) -> dict[str, set[int]]:
    """For each embedded font program, the CIDs its CFF charset holds (non-empty glyphs)."""
    reader = PdfReader(io.BytesIO(data))
    result: dict[str, set[int]] = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            program = descriptor.get("/FontFile3")
            assert program is not None, f"{font['/BaseFont']} is not embedded as CFF"
            stream = program.get_object()
            assert stream["/Subtype"] == "/CIDFontType0C"
            cff = CFFFontSet()
            cff.decompile(io.BytesIO(stream.get_data()), None)
            top = cff[cff.fontNames[0]]
            cids = set()
            for name in top.charset:
                if name.startswith("cid"):
                    charstring = top.CharStrings[name]
                    charstring.decompile()
                    if len(charstring.program) > 1:  # more than a bare endchar
                        cids.add(int(name[3:]))
            result[str(font["/BaseFont"])] = cids
    return result


def used_cids(data: bytes) -> dict[str, dict[int, str]]:
    """For each font, the CIDs the text uses and the characters they stand for (ToUnicode)."""
    reader = PdfReader(io.BytesIO(data))
    result: dict[str, dict[int, str]] = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            mapping = result.setdefault(str(font["/BaseFont"]), {})
            entries = "".join(re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S))
            for cid, code in re.findall(r"<([0-9a-f]{4})> <([0-9a-f]+)>", entries):
                mapping[int(cid, 16)] = bytes.fromhex(code).decode("utf-16-be")
    return result


def test_every_character_of_the_reference_renders(renderer, caplog):
    chunks = [REFERENCE_CHARS[i:i + 40] for i in range(0, len(REFERENCE_CHARS), 40)]
    body = "\n\n".join(chunk.replace("*", "") for chunk in chunks)
    issue = make_issue(body_html=render_body(REFERENCE_STYLE + "\n\n" + body))
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        data = renderer.render(issue).data
    assert not [r for r in caplog.records if "notdef" in r.getMessage()]
    lines = lines_of(data)
    chars = {c["text"] for line in lines for c in line.chars}
    assert "\ufffd" not in "".join(chars)
    text = squeeze(text_of(data))
    for ch in REFERENCE_CHARS + "“”、——《》（）：；…·":
        assert ch in text, ch
    # every character the text uses is a real glyph in the font program embedded for it
    programs, uses = embedded_cids(data), used_cids(data)
    covered = set()
    for font, mapping in uses.items():
        missing = {cid: ch for cid, ch in mapping.items() if cid not in programs[font] and not ch.isspace()}
        assert not missing, (font, missing)
        covered.update("".join(mapping.values()))
    assert set(REFERENCE_CHARS) <= covered


def test_font_subsets_are_compact(demo_pdf):
    # Each face embeds the glyphs the text uses and no other (no empty glyph for every id below
    # the highest used), synthetic bold shares the regular face's program, and FandolFang's
    # detailed outlines cost about 560 bytes a glyph before compression (about 440 after).
    uses = used_cids(demo_pdf)
    names = sorted(uses)
    assert sum("FandolFang" in name for name in names) == 1, names
    reader = PdfReader(io.BytesIO(demo_pdf))
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            program = descriptor["/FontFile3"].get_object()
            glyphs = len(uses[str(font["/BaseFont"])])
            assert len(program.get_data()) / glyphs < 650, str(font["/BaseFont"])


def make_font(path: Path, family: str, chars: str) -> None:
    """A TrueType font with a square glyph for each of ``chars``."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    names = [".notdef"] + [f"uni{ord(c):04X}" for c in chars]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in chars})
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        pen.moveTo((100, -100))
        pen.lineTo((100, 800))
        pen.lineTo((900, 800))
        pen.lineTo((900, -100))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (1000, 100) for name in names})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": family, "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    builder.save(str(path))


def fonts_of(data: bytes, chars: str) -> set[str]:
    return {re.sub(r"^[A-Z]{6}\+", "", c["fontname"]) for line in lines_of(data) for c in line.chars
            if c["text"] in chars}


def test_licensed_fonts_dropped_into_the_fonts_directory_are_used(tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    make_font(fonts / "fangsong.ttf", "FangSong_GB2312", "当前热词")  # a name print.css lists
    make_font(fonts / "kai.ttf", "测试楷体", "共同做法")  # a name that says 楷: the kai role
    make_font(fonts / "hei.ttf", "Canyue Test Hei Face", "知多少")  # named in roles.toml
    (fonts / "roles.toml").write_text('hei = "Canyue Test Hei Face"\n', encoding="utf-8")
    data = PdfRenderer(fonts_dir=fonts).render(make_issue()).data
    assert fonts_of(data, "当前热词") == {"FangSong_GB2312"}
    assert fonts_of(data, "做法") == {"测试楷体"} or all("Noto" not in f for f in fonts_of(data, "做法"))
    assert "Canyue-Test-Hei-Face" in fonts_of(data, "知多少")
    # a character the licensed face lacks falls back to the free face
    assert any("Noto" in f for f in fonts_of(data, "元宇宙"))


def test_roles_from_font_names():
    names = {
        "仿宋_GB2312": "fangsong", "方正仿宋_GBK": "fangsong", "STFangsong": "fangsong",
        "方正小标宋简体": "title", "FZXiaoBiaoSong-B05S": "title",
        "SimHei": "hei", "黑体": "hei", "STHeiti": "hei",
        "楷体_GB2312": "kai", "华文楷体": "kai", "KaiTi": "kai", "AR PL UKai CN": "kai",
        "SimSun": "song", "宋体": "song", "STSong": "song",
        # the free faces scripts/install installs, should their files be put in instance/fonts/
        "FandolFang": "fangsong", "FandolFang R": "fangsong", "FandolKai": "kai",
        "FandolHei": "hei", "FandolSong": "song",
        "微软雅黑": None, "Microsoft YaHei": None, "Noto Sans CJK SC": None, "Arial": None,
    }
    assert {name: guess_role(name) for name in names} == names


def test_stacks_come_from_print_css_and_configured_faces_go_first():
    stacks = default_stacks()
    assert set(stacks) == set(ROLES)
    assert all(stack[-1] == "Noto Sans CJK SC" if role == "hei" else stack[-1] == "Noto Serif CJK SC"
               for role, stack in stacks.items())
    setup = FontSetup.discover(None, {"fangsong": ["Office Fangsong", "FangSong"]})
    assert setup.stacks["fangsong"][:2] == ("Office Fangsong", "FangSong")
    assert setup.stacks["fangsong"].count("FangSong") == 1
    css = setup.stylesheet()
    assert '--font-fangsong: "Office Fangsong", "FangSong", ' in css and css.count("@bottom-") == 2


def test_font_roles_argument_overrides(tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    make_font(fonts / "title.ttf", "Canyue Test Title", "关于我市")
    data = PdfRenderer(fonts_dir=fonts, font_roles={"title": "Canyue Test Title"}).render(make_issue()).data
    assert any("Canyue-Test-Title" in f for f in fonts_of(data, "关于"))
    with pytest.raises(ValueError):
        PdfRenderer(font_roles={"fangsong": 'X"; } body { background: url(http://169.254.169.254/)'})
    with pytest.raises(ValueError):
        PdfRenderer(font_roles={"no-such-role": "FangSong"})


# ---------------------------------------------------------------------------------------------
# PDF/A, metadata, attachments
# ---------------------------------------------------------------------------------------------


def test_pdfa_3u_with_metadata(renderer):
    data = renderer.render(
        make_issue(), extra_metadata={"canyue-audit-head": "ab12" * 16, "canyue-note": "样稿"}
    ).data
    reader = PdfReader(io.BytesIO(data))
    xmp = reader.xmp_metadata
    assert xmp is not None
    root = xmp.rdf_root.toxml()
    assert "<pdfaid:part>3</pdfaid:part>" in root and "<pdfaid:conformance>U</pdfaid:conformance>" in root
    info = reader.metadata
    assert info.title == "关于我市加紧研究布局“元宇宙”产业发展的分析建议"
    assert info.author == "苏州太湖智库"
    assert info.subject == "领导参阅 第3期（总第31期）"
    assert [k.strip() for k in info["/Keywords"].split(",")] == ["元宇宙", "数字经济", "产业布局"]
    assert info["/canyue-audit-head"] == "ab12" * 16 and info["/canyue-note"] == "样稿"
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"
    assert data.startswith(b"%PDF-1.7")


def test_subject_of_an_unnumbered_specimen(renderer):
    data = renderer.render(make_issue(issue_number=None, total_number=None, specimen=True)).data
    assert PdfReader(io.BytesIO(data)).metadata.subject == "领导参阅 样稿"


def test_bad_metadata_names_are_refused(renderer):
    for key in ("", "Title", "has space", "bad/slash", "x" * 80):
        with pytest.raises(ValueError):
            renderer.render(make_issue(), extra_metadata={key: "v"})


def test_attachments(renderer):
    brief = "---\ntitle: 标题\n---\n\n正文".encode()
    record = b'{"signed": {"signer": "\\u738b"}}'
    data = renderer.render(
        make_issue(),
        attachments=[
            PdfAttachment("brief.md", brief, "The brief as a file", "text/markdown"),
            PdfAttachment("record.json", record, "Approval record", "application/json"),
        ],
    ).data
    reader = PdfReader(io.BytesIO(data))
    assert reader.attachments == {"brief.md": [brief], "record.json": [record]}
    names = reader.trailer["/Root"]["/Names"]["/EmbeddedFiles"]["/Names"]
    specs = {str(names[i]): names[i + 1].get_object() for i in range(0, len(names), 2)}
    assert specs["brief.md"]["/EF"]["/F"].get_object()["/Subtype"] in ("/text/markdown", "/text#2fmarkdown")
    assert specs["record.json"]["/EF"]["/F"].get_object()["/Subtype"] in ("/application/json",
                                                                          "/application#2fjson")
    assert specs["brief.md"]["/AFRelationship"] == "/Source"
    assert specs["brief.md"]["/Desc"] == "The brief as a file"
    assert len(reader.trailer["/Root"]["/AF"]) == 2


def test_specimen_mark_on_every_page(renderer, demo_pdf):
    data = renderer.render(demo_issue(specimen=True)).data
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) >= 4
        for page in pdf.pages:
            marks = "".join(c["text"] for c in page.chars if c["size"] > 100)
            assert marks == "样稿"
    assert "样稿" not in text_of(demo_pdf)


def test_default_renderer_is_one_per_process():
    assert default_renderer() is default_renderer()


# ---------------------------------------------------------------------------------------------
# Fetching nothing
# ---------------------------------------------------------------------------------------------

HOSTILE = [
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "url(file:///etc/passwd)",
    "url('http://169.254.169.254/x.css')",
    '<link rel="attachment" href="file:///etc/passwd">',
    "<style>@import url(http://169.254.169.254/a.css); body{background:url(file:///etc/passwd)}</style>",
    '<img src="file:///etc/passwd">',
    '<a rel="attachment" href="file:///etc/passwd">附件</a>',
]


@pytest.fixture()
def recording(renderer, monkeypatch):
    """Every URL the renderer's fetcher is asked for."""
    asked: list[str] = []
    fetch = renderer.url_fetcher.fetch

    def recorder(url, headers=None):
        asked.append(url)
        return fetch(url, headers)

    monkeypatch.setattr(renderer.url_fetcher, "fetch", recorder)
    return asked


def assert_nothing_leaked(data: bytes, attachments: Iterable[str] = ()) -> None:
    reader = PdfReader(io.BytesIO(data))
    assert set(reader.attachments) == set(attachments)
    assert b"root:x:0:0" not in data and b"root:" not in data
    for page in reader.pages:
        assert "/XObject" not in page["/Resources"] or not page["/Resources"]["/XObject"]


def test_recording_fetcher_sees_what_weasyprint_asks_for(renderer, recording):
    # the instrument works: HTML that does refer to these URLs does reach the fetcher, which refuses
    html = '<img src="http://169.254.169.254/x.png"><link rel="attachment" href="file:///etc/passwd">'
    data = HTML(string=html, url_fetcher=renderer.url_fetcher).write_pdf()
    assert "http://169.254.169.254/x.png" in recording and "file:///etc/passwd" in recording
    assert_nothing_leaked(data)


def test_hostile_text_fields_render_as_text_and_fetch_nothing(renderer, recording):
    joined = " ".join(HOSTILE)
    issue = make_issue(
        title="标题" + HOSTILE[0] + HOSTILE[2],
        author_line=HOSTILE[1],
        special_report=[HOSTILE[3], HOSTILE[4]],
        editor_name=HOSTILE[5],
        contact_phone=HOSTILE[6],
        address=HOSTILE[7],
        classification=HOSTILE[2],
        urgency=HOSTILE[3],
        hosts=[HOSTILE[0], HOSTILE[1]],
        series_name="领导参阅" + HOSTILE[3],
        keywords=tuple(HOSTILE),
        body_html=render_body(joined),
    )
    data = renderer.render(issue, extra_metadata={"canyue-audit-head": joined}).data
    assert recording == []
    assert_nothing_leaked(data)
    text = squeeze(text_of(data))
    assert squeeze("标题" + HOSTILE[0] + HOSTILE[2]) in text
    assert squeeze(HOSTILE[1]) in text and squeeze(HOSTILE[7]) in text


def test_hostile_markdown_and_front_matter_fetch_nothing(renderer, recording):
    source = "---\ntitle: 'file:///etc/passwd'\nauthor: 'http://169.254.169.254/'\n---\n\n" + "\n\n".join([
        "![图](file:///etc/passwd)",
        "![图](http://169.254.169.254/latest/meta-data/)",
        "[链接](file:///etc/passwd)",
        "[元数据](http://169.254.169.254/latest/meta-data/)",
        '<a rel="attachment" href="file:///etc/passwd">附件</a>',
        '<img src="http://169.254.169.254/x.png">',
        '<div style="background: url(http://169.254.169.254/)">样式</div>',
        "正文 url(file:///etc/passwd) 与 @import url(http://169.254.169.254/a.css);",
    ])
    brief = parse_brief_file(source)
    content = brief.content()
    issue = make_issue(title=content["title"], author_line=content["author_line"],
                       body_html=render_body(content["body"]))
    data = renderer.render(issue).data
    assert recording == []
    assert_nothing_leaked(data)
    assert "file:///etc/passwd" in text_of(data)


def test_body_html_not_from_the_sanitiser_fetches_nothing(renderer, recording):
    body = Markup(
        '<p>正文<a rel="attachment" href="file:///etc/passwd">附件</a>'
        '<img src="file:///etc/passwd"><img src="http://169.254.169.254/x.png"></p>'
        '<link rel="attachment" href="file:///etc/passwd">'
        '<style>@import url(http://169.254.169.254/a.css);</style>'
        '<p style="background: url(http://169.254.169.254/)">样式</p>'
        '<object data="file:///etc/passwd"></object><iframe src="http://169.254.169.254/"></iframe>'
    )
    data = renderer.render(make_issue(body_html=body)).data
    assert recording == []
    assert_nothing_leaked(data)
    assert "正文附件" in squeeze(text_of(data))


def test_given_attachments_are_the_only_ones(renderer, recording):
    data = renderer.render(
        make_issue(body_html=render_body("[附件](http://169.254.169.254/a.pdf)")),
        attachments=[PdfAttachment("brief.md", b"x", "source", "text/markdown")],
    ).data
    assert recording == []
    assert_nothing_leaked(data, ["brief.md"])


def test_fetcher_allows_only_data_and_canyues_own_files(tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "a.ttf").write_bytes(b"font")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (fonts / "link.ttf").symlink_to(outside)
    fetcher = CanyueUrlFetcher([ROOT / "static", fonts])
    assert fetcher.fetch("data:text/plain;base64,5q2j5paH").read() == "正文".encode()
    assert fetcher.fetch("data:,a%20b").read() == b"a b"
    assert fetcher.fetch((ROOT / "static" / "print.css").as_uri()).read().startswith(b"/*")
    assert fetcher.fetch((fonts / "a.ttf").as_uri()).read() == b"font"
    refused = [
        "file:///etc/passwd",
        outside.as_uri(),
        (fonts / "link.ttf").as_uri(),  # a symbolic link out of the directory
        (ROOT / "static").as_uri() + "/../config.py",
        (ROOT / "static").as_uri() + "/%2e%2e/config.py",
        "file://169.254.169.254/etc/passwd",
        "file://localhost/etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/x.css",
        "ftp://example.org/x",
        "relative/path.css",
        (ROOT / "static").as_uri(),  # a directory
    ]
    for url in refused:
        with pytest.raises(RefusedUrl):
            fetcher.fetch(url)
        with pytest.raises(RefusedUrl):
            fetcher(url)  # the way WeasyPrint calls it
    assert fetcher._allowed_protocols == ("data", "file")
