"""Brief bodies: Markdown in, sanitised HTML out.

The body of a brief is CommonMark with a deliberately small feature set (see DESIGN.md,
"A brief as a file"):

- ``#``..``####`` headings are the four levels of official writing (一、 / （一） / 1. / （1））;
  authors type the numbers themselves, so lists are off and "1、…" stays a paragraph;
- no indented code, fences, setext headings or raw HTML: authors indent paragraphs with spaces
  or full-width spaces, and a brief never embeds code or markup;
- images only as ``![图1 说明](image:<sha256>)``, a reference to an image stored with the brief
  (figures/), which the caller resolves to a data: URI: nothing is ever fetched from a URL;
- a paragraph 表1 … just before a table is its caption;
- ``**…**`` works next to Chinese text and punctuation (CJK-friendly flanking, below);
- GFM tables, links (http/https/mailto only), emphasis, block quotes and rules remain.

The HTML is then passed through nh3 with an explicit allow-list, so even a parser bug cannot
put a script, an event handler or a ``javascript:`` URL on the page.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, isMdAsciiPunct, isPunctChar, isWhiteSpace
from markdown_it.parser_inline import ParserInline
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.state_inline import Scanned
from markdown_it.token import Token
from markupsafe import Markup

__all__ = ["render_body", "plain_text", "is_cjk", "image_references", "IMAGE_REFERENCE"]

# ---------------------------------------------------------------------------------------------
# CJK characters
# ---------------------------------------------------------------------------------------------


def is_cjk(ch: str) -> bool:
    """True for a CJK character in the sense of the CommonMark CJK-friendly amendment.

    That is: East Asian Width W, F or H (ideographs, kana, CJK and full-width punctuation,
    full-width and half-width forms) but not an emoji, or a Hangul character. The emoji test is
    an approximation by ranges (the wide pictographs of U+2000–U+2BFF and U+1F000–U+1FAFF),
    which is all a Chinese bulletin needs.
    """
    code = ord(ch)
    if 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F or 0xAC00 <= code <= 0xD7AF:
        return True  # Hangul jamo, compatibility jamo, syllables
    width = unicodedata.east_asian_width(ch)
    if width not in ("W", "F", "H"):
        return False
    if 0x1F000 <= code <= 0x1FAFF:
        return False  # emoji and pictographs
    if 0x2000 <= code <= 0x2BFF and code not in (0x2329, 0x232A):
        return False  # wide symbols here are emoji-presentation (⌚ ☔ ⚡ …), except 〈 〉
    return True


def _is_ivs(ch: str) -> bool:
    return 0xE0100 <= ord(ch) <= 0xE01EF


def _is_svs(ch: str) -> bool:
    return 0xFE00 <= ord(ch) <= 0xFE0E  # not U+FE0F, the emoji presentation selector


# Ambiguous-width punctuation that Chinese text uses as full-width (curly quotes, ellipsis,
# dashes, middle dot): a line break next to these and a CJK character is no word space either.
_CJK_CONTEXT_PUNCT = frozenset("“”‘’…—–·")


# ---------------------------------------------------------------------------------------------
# CJK-friendly emphasis
#
# CommonMark decides whether ``**`` may open or close from the characters just outside and
# inside the run. Its rules assume words separated by spaces, so ``**加强顶层设计。**结合实际``
# fails: the closing run has punctuation inside and a letter outside, which CommonMark reads
# as the middle of a word. The CJK-friendly amendment (https://github.com/tats-u/markdown-cjk-
# friendly, specification.md) lets a CJK character count the way whitespace does there.
#
# We implement it here because there is no well-kept Python port: the port on PyPI
# monkeypatches markdown-it-py for every parser in the process and targets markdown-it-py <= 3.
# Ours changes only the MarkdownIt instance built below, through a ParserInline subclass that
# creates a StateInline subclass with its own scanDelims.
# ---------------------------------------------------------------------------------------------


class _CjkFriendlyStateInline(StateInline):
    def scanDelims(self, start: int, canSplitWord: bool) -> Scanned:  # noqa: N802 (upstream name)
        src = self.src
        maximum = self.posMax
        marker = src[start]

        pos = start
        while pos < maximum and src[pos] == marker:
            pos += 1
        count = pos - start

        # The beginning and the end of the line count as whitespace.
        last = src[start - 1] if start > 0 else " "
        nxt = src[pos] if pos < maximum else " "

        # A standard variation selector after a character belongs to it: look through it.
        last_is_ivs = _is_ivs(last)
        if _is_svs(last) and start > 1:
            last = src[start - 2]

        last_ws = isWhiteSpace(ord(last))
        next_ws = isWhiteSpace(ord(nxt))
        last_punct = isMdAsciiPunct(ord(last)) or isPunctChar(last)
        next_punct = isMdAsciiPunct(ord(nxt)) or isPunctChar(nxt)
        last_cjk = last_is_ivs or is_cjk(last)
        next_cjk = is_cjk(nxt)
        last_non_cjk_punct = last_punct and not last_cjk
        next_non_cjk_punct = next_punct and not next_cjk

        left_flanking = not next_ws and (
            not next_non_cjk_punct or last_ws or last_non_cjk_punct or last_cjk
        )
        right_flanking = not last_ws and (
            not last_non_cjk_punct or next_ws or next_non_cjk_punct or next_cjk
        )

        can_open = left_flanking and (canSplitWord or not right_flanking or last_punct)
        can_close = right_flanking and (canSplitWord or not left_flanking or next_punct)
        return Scanned(can_open, can_close, count)


class _CjkFriendlyParserInline(ParserInline):
    def parse(self, src: str, md: MarkdownIt, env: Any, tokens: list[Token]) -> list[Token]:
        state = _CjkFriendlyStateInline(src, md, env, tokens)
        self.tokenize(state)
        for rule in self.ruler2.getRules(""):
            rule(state)
        return state.tokens


# ---------------------------------------------------------------------------------------------
# Soft line breaks between CJK characters
#
# A line break inside a paragraph is a space in HTML. Chinese has no spaces between words, so
# a break between two CJK characters (an author's hard wrap, a paste from a PDF) must vanish.
# ---------------------------------------------------------------------------------------------


def _joins(ch: str) -> bool:
    return is_cjk(ch) or ch in _CJK_CONTEXT_PUNCT


def _char_before(children: Sequence[Token], index: int) -> str | None:
    for token in reversed(children[:index]):
        if token.nesting != 0 or (token.type == "text" and not token.content):
            continue  # strong_open, em_close, link_open, empty text …: look through them
        if token.type in ("text", "text_special"):
            return token.content[-1]
        return None
    return None


def _char_after(children: Sequence[Token], index: int) -> str | None:
    for token in children[index + 1 :]:
        if token.nesting != 0 or (token.type == "text" and not token.content):
            continue
        if token.type in ("text", "text_special"):
            return token.content[0]
        return None
    return None


def _cjk_softbreak(state: StateCore) -> None:
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children = block.children
        for index, token in enumerate(children):
            if token.type != "softbreak":
                continue
            before = _char_before(children, index)
            after = _char_after(children, index)
            if before is not None and after is not None and _joins(before) and _joins(after):
                token.type = "text"
                token.tag = ""
                token.content = ""


# ---------------------------------------------------------------------------------------------
# Images: stored references only
#
# "![图1 说明](image:<sha256>)" names an image stored with the brief (figures/). Any other image
# syntax ("![a](http://…)") stays what the author typed, not even a link: a brief's pictures
# are never fetched from a URL.
# ---------------------------------------------------------------------------------------------

IMAGE_SCHEME = "image:"
IMAGE_REFERENCE = re.compile(r"!\[([^\]\n]*)\]\(image:([0-9a-f]{64})\)")


def image_references(source: str) -> list[str]:
    """The SHA-256 of every stored image the body refers to, in order, each once."""
    return list(dict.fromkeys(match.group(2) for match in IMAGE_REFERENCE.finditer(source or "")))


def _image_as_text(state: StateInline, silent: bool) -> bool:
    pos = state.pos
    if state.src[pos] != "!" or pos + 1 >= state.posMax or state.src[pos + 1] != "[":
        return False
    if IMAGE_REFERENCE.match(state.src, pos):
        return False  # a stored image: markdown-it's own image rule reads it
    if not silent:
        state.append_pending("![")
    state.pos = pos + 2
    return True


def _render_image(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    caption = escapeHtml(self.renderInlineAsText(token.children or [], options, env))
    digest = str(token.attrGet("src") or "")[len(IMAGE_SCHEME):]
    uri = (env or {}).get("images", {}).get(digest)
    if uri is None:
        return f'<span class="missing-image">[{caption or "图片"}]</span>'
    caption_html = f'<span class="caption">{caption}</span>' if caption else ""
    return f'<img src="{escapeHtml(uri)}" alt="{caption}">{caption_html}'


def _mark_figures_and_captions(state: StateCore) -> None:
    """A paragraph holding only an image is a figure; a paragraph 表N … right before a table
    is that table's caption. Both get a class the print styles place."""
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "paragraph_open" or index + 2 >= len(tokens):
            continue
        inline = tokens[index + 1]
        children = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
        if children and all(c.type == "image" for c in children):
            token.attrSet("class", "figure")
        elif (index + 3 < len(tokens) and tokens[index + 3].type == "table_open"
              and _TABLE_CAPTION.match(inline.content)):
            token.attrSet("class", "table-caption")


_TABLE_CAPTION = re.compile(r"^\s*(?:\*\*)?\s*(?:续)?表\s*[0-9０-９一二三四五六七八九十]+")


# ---------------------------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------------------------

_ALLOWED_SCHEMES = ("http://", "https://", "mailto:")
_OPTIONS = {"html": False, "linkify": False, "typographer": False}


def _validate_link(url: str) -> bool:
    return url.strip().lower().startswith(_ALLOWED_SCHEMES)


def _validate_target(url: str) -> bool:
    # image: passes the parser only for images (_image_as_text lets nothing else through);
    # a link to image:… is dropped by the sanitiser, which allows http, https and mailto.
    return _validate_link(url) or bool(re.fullmatch(r"image:[0-9a-f]{64}", url.strip()))


def _heading_level(token: Token) -> int:
    """``#`` → 1 (一、) … ``####`` → 4 (（1）); deeper Markdown levels are level 4."""
    return min(int(token.tag[1:]), 4)


def _render_heading_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    level = _heading_level(tokens[idx])
    # The page's own h1/h2 are the masthead and the title: level 1 is <h3>.
    return f'<h{level + 2} class="level-{level}">'


def _render_heading_close(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return f"</h{_heading_level(tokens[idx]) + 2}>\n"


def _build_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", _OPTIONS)
    # Give this instance (only) the CJK-friendly inline parser, then load the preset's rule
    # selection into it.
    md.inline = _CjkFriendlyParserInline()
    md.configure("commonmark", _OPTIONS)
    md.enable("table")
    md.disable(
        [
            "list",  # "1." / "1、" paragraphs stay as typed
            "code",  # indented paragraphs stay paragraphs
            "fence",
            "lheading",  # a line of "---" or "===" under text is not a heading marker
            "html_block",
            "html_inline",
            "backticks",  # a backtick is just a character in a brief
        ]
    )
    md.inline.ruler.before("link", "image_as_text", _image_as_text)
    md.core.ruler.after("inline", "cjk_softbreak", _cjk_softbreak)
    md.core.ruler.after("cjk_softbreak", "figures", _mark_figures_and_captions)
    md.validateLink = _validate_target  # type: ignore[method-assign]
    md.add_render_rule("image", _render_image)
    md.add_render_rule("heading_open", _render_heading_open)
    md.add_render_rule("heading_close", _render_heading_close)
    return md


_md = _build_parser()


# ---------------------------------------------------------------------------------------------
# Sanitising
# ---------------------------------------------------------------------------------------------


# An embedded image is a base64 PNG or JPEG that figures/ re-encoded, nothing else.
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg);base64,[A-Za-z0-9+/=]+")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href" and not _validate_link(value):
        return None
    if tag == "img" and attribute == "src" and not _DATA_IMAGE.fullmatch(value):
        return None
    return value


# What a brief's body may contain; rendering/pdf.py cleans with the same lists once more.
BODY_TAGS = frozenset({
    "p", "br", "strong", "em", "blockquote", "hr", "a",
    "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
    "img", "span",
})
BODY_CLASSES = {"h3": {"level-1"}, "h4": {"level-2"}, "h5": {"level-3"}, "h6": {"level-4"},
                "p": {"figure", "table-caption"}, "span": {"caption", "missing-image"}}
BODY_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}}
BODY_URL_SCHEMES = {"http", "https", "mailto", "data"}

filter_body_attribute = _filter_attribute  # rendering/pdf.py cleans with it too

_cleaner = nh3.Cleaner(
    tags=set(BODY_TAGS),
    clean_content_tags={"script", "style"},
    attributes=BODY_ATTRIBUTES,
    allowed_classes=BODY_CLASSES,
    attribute_filter=_filter_attribute,
    url_schemes=BODY_URL_SCHEMES,
    url_relative="deny",
    link_rel="noopener noreferrer",
    strip_comments=True,
)


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def render_body(source: str, images: Mapping[str, str] | None = None) -> Markup:
    """The body of a brief (Markdown) as sanitised HTML, safe to put on a page.

    `images` maps the SHA-256 of each stored image the body names to its data: URI
    (figures.image_data_uris); an image not in it shows as its caption in brackets."""
    html = _md.render(source or "", {"images": dict(images or {})})
    return Markup(_cleaner.clean(html))


def plain_text(source: str) -> str:
    """The body's text without markup: one line per paragraph, heading or table cell."""
    lines: list[str] = []
    for block in _md.parse(source or ""):
        if block.type != "inline" or block.children is None:
            continue
        parts: list[str] = []
        for token in block.children:
            if token.type in ("text", "text_special"):
                parts.append(token.content)
            elif token.type == "softbreak":
                parts.append(" ")
            elif token.type == "hardbreak":
                parts.append("\n")
            elif token.type == "image":
                parts.append(token.content)  # the caption: searchable, and compared in diffs
        text = "".join(parts).strip()
        if text:
            lines.append(text)
    return "\n".join(lines)


def body_tokens(source: str) -> list[Token]:
    """The body parsed by the same parser (for writers of other formats: wordfiles/)."""
    return _md.parse(source or "", {"images": {}})
