"""What the printed page of an issue shows: one flat object for templates/print/issue.html.

The same template serves the on-screen preview and the PDF, so everything the page needs is
worked out here (the number line, the date in Chinese, the 共印 count) and the template stays
a plain layout.
"""

from __future__ import annotations

import logging
import math
import tempfile
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from rendering.markdown import render_body

__all__ = ["PrintedIssue", "chinese_date", "printed_issue_from_brief", "title_lines"]

# A blank where a number will go, one full-width character wide (draft previews).
BLANK = "\u3000"


def chinese_date(d: date) -> str:
    """2022年1月28日: Arabic numerals, no zero padding."""
    return f"{d.year}年{d.month}月{d.day}日"


# ---------------------------------------------------------------------------------------------
# Title lines
#
# A line break typed in the title (a new line in the field) is kept as it is. Otherwise a title
# that does not fit on one line is broken into lines of nearly equal length, the upper ones no
# shorter than the lower (梯形 or 菱形, as GB/T 9704 7.3.1 asks: 词意完整，排列对称), at the
# most natural place near the balance point: between words (jieba's segmentation, with the
# words of policy writing below added to its dictionary), after punctuation or a function
# word, never inside a run of Latin letters or digits, never before closing or after opening
# punctuation.
# ---------------------------------------------------------------------------------------------

# 2号 (22pt) characters in the 156 mm text block: 442.2pt / 22pt.
TITLE_MEASURE = 20.0

_CLOSING = set("，。、；：？！”’）》」』】〕〉…—·%")
_OPENING = set("“‘（《「『【〔〈")
_AFTER_GOOD = set("，、；： ")  # a break right after these reads naturally
_AFTER_OK = set("的与和及并对在于为”）》")
# Without a dictionary a break may fall inside a word. These words of policy writing are kept
# whole, and a line may well start with the verbs.
_WORDS = (
    "人工智能", "工业互联网", "互联网", "制造业", "影响力", "数字经济", "实体经济", "全球", "一体化", "国际化", "现代化", "高质量", "数字化", "智能化",
    "长三角", "新质生产力", "产业链", "供应链", "创新链", "生态圈", "元宇宙", "大模型",
    "苏州", "我市", "全市", "我省", "经济", "产业", "科技", "数据", "要素", "市场", "改革",
    "工业", "企业", "城市", "发展", "建设", "创新", "转型", "升级", "融合", "应用", "服务",
    "体系", "机制", "政策", "平台", "项目", "人才", "资源", "价值", "能力", "水平", "中心",
    "建议", "思考", "对策", "分析", "研究", "报告", "问题", "举措", "路径", "情况", "调研",
)
_VERBS = (
    "关于", "推进", "推动", "加快", "加强", "加紧", "提升", "打造", "培育", "构建", "完善", "深化",
    "促进", "实施", "优化", "释放", "赋能", "抢占", "布局", "进一步", "持续", "全面", "着力",
)


_segmenter: Any = None
_segmenter_lock = threading.Lock()


def _word_starts(text: str) -> set[int]:
    """The indexes in text where jieba's words begin (one dictionary, loaded on first use)."""
    global _segmenter
    with _segmenter_lock:
        if _segmenter is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # it announces loading its dictionary
            tokenizer = jieba.Tokenizer()
            # jieba caches its parsed dictionary in the shared /tmp by default, where anyone
            # could leave a file for it to load: keep the cache in the user's own directory.
            cache = Path.home() / ".cache" / "canyue"
            try:
                cache.mkdir(mode=0o700, parents=True, exist_ok=True)
                tokenizer.tmp_dir = str(cache)
            except OSError:  # no home directory to write: a private one for this process
                tokenizer.tmp_dir = tempfile.mkdtemp(prefix="canyue-jieba-")

            for word in (*_WORDS, *_VERBS):
                tokenizer.add_word(word, freq=50_000)
            _segmenter = tokenizer
        words = _segmenter.lcut(text, HMM=False)
    starts, position = set(), 0
    for word in words:
        starts.add(position)
        position += len(word)
    return starts


def _char_width(ch: str) -> float:
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") or ch in "“”‘’…—" else 0.5


def _inside(text: str, k: int, words: tuple[str, ...]) -> bool:
    """True when a break before index ``k`` would split one of ``words``."""
    for word in words:
        for offset in range(1, len(word)):
            if text.startswith(word, k - offset):
                return True
    return False


def _break_cost(text: str, k: int, word_starts: set[int] | None = None) -> float | None:
    """Cost of breaking ``text`` before index ``k`` (None: not allowed)."""
    before, after = text[k - 1], text[k]
    if after in _CLOSING or before in _OPENING:
        return None
    if before.isascii() and after.isascii() and before.isalnum() and after.isalnum():
        return None
    if before in "—…" and after in "—…":
        return None
    cost = 3.0  # inside a run of Chinese: may split a word
    if before in _AFTER_GOOD:
        cost = 0.0
    elif before in _AFTER_OK:
        cost = 1.0
    elif before.isascii() != after.isascii():
        cost = 1.5  # between Chinese and Latin letters or digits
    if any(text.startswith(verb, k) for verb in _VERBS):
        cost = min(cost, 0.5)
    elif any(text.endswith(verb, 0, k) for verb in _VERBS if verb != "关于"):
        cost += 2.5  # a verb keeps its object: 赋能 / 我市制造业 splits the phrase
    if _inside(text, k, _WORDS) or (word_starts is not None and k not in word_starts):
        cost += 6.0  # inside a word
    if text.count("“", 0, k) > text.count("”", 0, k):
        cost += 6.0  # inside a quotation
    return cost


def title_lines(title: str, measure: float = TITLE_MEASURE) -> list[str]:
    """``title`` as its printed lines."""
    typed = [" ".join(line.split()) for line in title.replace("\r\n", "\n").split("\n")]
    typed = [line for line in typed if line]
    if len(typed) > 1:
        return typed  # the editor's own line breaks
    title = typed[0] if typed else ""
    widths = [_char_width(ch) for ch in title]
    total = sum(widths)
    if total <= measure or len(title) < 2:
        return [title] if title else []
    count = math.ceil(total / measure)
    word_starts = _word_starts(title)
    lines: list[str] = []
    start = 0
    for remaining in range(count, 1, -1):
        rest = sum(widths[start:])
        target = rest / remaining
        best: tuple[float, int] | None = None
        width = 0.0
        for k in range(start + 1, len(title)):
            width += widths[k - 1]
            if width > measure:
                break
            if rest - width > measure * (remaining - 1):
                continue  # the lines below could not hold the rest
            cost = _break_cost(title, k, word_starts)
            if cost is None:
                continue
            shortfall = target - width  # positive: this line would be shorter than the balance
            cost += 0.5 * shortfall**2 * (1.5 if shortfall > 0 else 1.0)
            if best is None or cost < best[0]:
                best = (cost, k)
        if best is None:
            break
        lines.append(title[start:best[1]].strip())
        start = best[1]
    lines.append(title[start:].strip())
    return [line for line in lines if line]


@dataclass(frozen=True, kw_only=True)
class PrintedIssue:
    series_name: str
    hosts: list[str] = field(default_factory=list)
    issue_number: int | None = None
    total_number: int | None = None
    supplement: bool = False
    issue_date: date | None = None
    special_report: list[str] = field(default_factory=list)
    classification: str = ""
    urgency: str = ""
    title: str
    author_line: str = ""
    body_html: Markup = field(default_factory=Markup)
    editor_name: str | None = None
    contact_phone: str = ""
    address: str = ""
    print_run: int | None = None
    copy_number: str | None = None  # 份号; None on the archival master (the place stays blank)
    specimen: bool = False  # 样稿 watermark
    keywords: tuple[str, ...] = ()  # the PDF's metadata; not printed
    corrected_edition: bool = False  # a 更正版: （更正版） under the numbers, like （增刊）

    @property
    def number_line(self) -> str:
        """第3期（总第31期）; blanks where the numbers are not yet allocated."""
        issue = BLANK if self.issue_number is None else str(self.issue_number)
        total = BLANK if self.total_number is None else str(self.total_number)
        return f"第{issue}期（总第{total}期）"

    @property
    def date_text(self) -> str:
        """2022年1月28日, or blanks before the issue date is set."""
        if self.issue_date is None:
            return f"{BLANK * 2}年{BLANK}月{BLANK}日"
        return chinese_date(self.issue_date)

    @property
    def hosts_text(self) -> str:
        """苏州太湖书院　　苏州太湖智库 主办 (empty when the series names no host)."""
        if not self.hosts:
            return ""
        return f"{BLANK * 2}".join(self.hosts) + " 主办"

    @property
    def special_report_text(self) -> str:
        """The 专报 names joined with 、 in their order."""
        return "、".join(self.special_report)

    @property
    def print_run_text(self) -> str:
        return BLANK if self.print_run is None else str(self.print_run)

    @property
    def title_lines(self) -> list[str]:
        """The title broken into balanced lines (see `title_lines`)."""
        return title_lines(self.title)


def printed_issue_from_brief(brief: Any, *, specimen: bool, copy_number: str | None = None,
                             print_run: int | None = None,
                             images: Mapping[str, str] | None = None) -> PrintedIssue:
    """The printed page of ``brief`` (a Brief, duck-typed, with its ``series``); ``images``
    are the body's stored images as data: URIs (figures.operations.image_data_uris).

    ``print_run`` is the 共印 to print; the previews pass the number publishing would print now
    (publishing.pipeline.print_run_now). Without it, the brief's own (set by publishing), else
    the series' default print run.
    """
    series = brief.series
    if print_run is None:
        print_run = brief.print_run if brief.print_run is not None else series.default_print_run
    return PrintedIssue(
        series_name=series.name,
        hosts=list(series.host_list),
        issue_number=brief.issue_number,
        total_number=brief.total_number,
        supplement=bool(brief.supplement),
        issue_date=brief.issue_date,
        special_report=list(brief.special_report or []),
        classification=brief.classification or "",
        urgency=brief.urgency or "",
        title=brief.title or "",
        author_line=brief.author_line or "",
        body_html=render_body(brief.body or "", images),
        editor_name=brief.editor_name,
        contact_phone=series.contact_phone or "",
        address=series.address or "",
        print_run=print_run,
        copy_number=copy_number,
        specimen=specimen,
        keywords=tuple(getattr(brief, "keywords", None) or ()),
        corrected_edition=bool(getattr(brief, "edition", 0)),
    )
