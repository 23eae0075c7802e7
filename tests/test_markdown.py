"""rendering.markdown: brief bodies to safe HTML."""

import re

import pytest
from markdown_it import MarkdownIt
from markupsafe import Markup

from rendering.markdown import is_cjk, plain_text, render_body


def strong_texts(html: str) -> list[str]:
    return re.findall(r"<strong>(.*?)</strong>", html)


def test_returns_markup():
    assert isinstance(render_body("正文。"), Markup)


@pytest.mark.parametrize(
    ("source", "tag", "level", "text"),
    [
        ("# 一、总体情况", "h3", 1, "一、总体情况"),
        ("## （一）主要做法", "h4", 2, "（一）主要做法"),
        ("### 1. 加强统筹", "h5", 3, "1. 加强统筹"),
        ("#### （1）资金保障", "h6", 4, "（1）资金保障"),
        ("##### 更深一级", "h6", 4, "更深一级"),
    ],
)
def test_headings_map_to_levels(source, tag, level, text):
    assert str(render_body(source)).strip() == f'<{tag} class="level-{level}">{text}</{tag}>'


def test_no_h1_or_h2_from_body():
    html = str(render_body("# 一、甲\n\n## （一）乙"))
    assert "<h1" not in html and "<h2" not in html


@pytest.mark.parametrize(
    "source",
    [
        "1、加强我市产业发展的顶层设计。",
        "1. 加强我市产业发展的顶层设计。",
        "2）组织重大科技项目攻关。",
        "- 一项内容",
        "* 另一项内容",
    ],
)
def test_numbered_and_bulleted_paragraphs_stay_text(source):
    html = str(render_body(source))
    assert html.strip() == f"<p>{source}</p>"
    assert "<ol" not in html and "<ul" not in html and "<li" not in html


def test_consecutive_numbered_paragraphs_keep_their_numbers():
    html = str(render_body("1、第一条建议。\n\n3、第三条建议。"))
    assert "<p>1、第一条建议。</p>" in html
    assert "<p>3、第三条建议。</p>" in html


@pytest.mark.parametrize("indent", ["    ", "\t", "        ", "\u3000\u3000"])
def test_indented_paragraph_stays_paragraph(indent):
    html = str(render_body(f"{indent}当前，低空经济正成为各地竞相培育的新增长点。"))
    assert "<pre" not in html and "<code" not in html
    assert re.fullmatch(r"<p>\u3000*当前，低空经济正成为各地竞相培育的新增长点。</p>", html.strip())


def test_setext_underline_is_not_a_heading():
    html = str(render_body("标题文字\n===="))
    assert "<h" not in html
    assert "标题文字" in html


def test_fenced_code_is_not_code():
    html = str(render_body("```\n代码\n```"))
    assert "<pre" not in html and "<code" not in html
    assert "代码" in html


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**加强顶层设计。**结合实际", ["加强顶层设计。"]),
        ("3、**重点做好产业布局。**结合我市实际", ["重点做好产业布局。"]),
        ("**“元宇宙”**", ["“元宇宙”"]),
        ("加快发展**“低空经济”**产业", ["“低空经济”"]),
        ("**1、加强低空经济发展的顶层设计。**结合我市产业基础，尽快编制规划。", ["1、加强低空经济发展的顶层设计。"]),
        ("要坚持**长短结合**、久久为功", ["长短结合"]),
    ],
)
def test_bold_works_next_to_chinese(source, expected):
    html = str(render_body(source))
    assert strong_texts(html) == expected
    assert "**" not in html


def test_bold_sentence_keeps_following_text():
    html = str(render_body("3、**重点做好产业布局。**结合我市实际"))
    assert html.strip() == "<p>3、<strong>重点做好产业布局。</strong>结合我市实际</p>"


def test_cjk_friendly_rules_do_not_leak_into_other_parsers():
    # The plugin is ours only: a plain markdown-it-py parser keeps CommonMark's behaviour.
    assert "<strong>" not in MarkdownIt("commonmark").render("**加强顶层设计。**结合实际")


def test_english_emphasis_still_follows_commonmark():
    assert strong_texts(str(render_body("a **bold** word"))) == ["bold"]
    assert strong_texts(str(render_body("snake**case**word"))) == ["case"]
    assert "<strong>" not in str(render_body("a ** not bold ** b"))


def test_cjk_soft_break_joins():
    html = str(render_body("要坚持长短结合，\n久久为功。"))
    assert "<p>要坚持长短结合，久久为功。</p>" == html.strip()


def test_cjk_soft_break_joins_through_bold():
    html = str(render_body("**加强统筹。**\n结合实际"))
    assert html.strip() == "<p><strong>加强统筹。</strong>结合实际</p>"


def test_latin_soft_break_stays_a_space():
    html = str(render_body("low altitude\neconomy"))
    assert "altitude\neconomy" in html or "altitude economy" in html


def test_hard_break():
    assert "<br>" in str(render_body("第一行  \n第二行"))


def test_script_is_inert_text():
    html = str(render_body("<script>alert(1)</script>"))
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_script_block_inside_text_is_inert():
    html = str(render_body("正文\n\n<script>\nalert(1)\n</script>\n\n正文"))
    assert "<script" not in html.lower()


def test_javascript_link_is_dropped():
    html = str(render_body("[x](javascript:alert(1))"))
    assert "javascript:" not in html.replace("[x](javascript:alert(1))", "")
    assert "href" not in html


@pytest.mark.parametrize(
    "source",
    [
        "[x](JAVASCRIPT:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox)",
        "[x](/relative/path)",
        "[x]: javascript:alert(1)\n\n[x]",
        "<javascript:alert(1)>",
    ],
)
def test_only_http_https_mailto_links(source):
    assert "href" not in str(render_body(source))


def test_allowed_links_get_rel():
    html = str(render_body("[政府网站](https://www.gov.cn) [邮件](mailto:a@example.cn)"))
    assert '<a href="https://www.gov.cn" rel="noopener noreferrer">政府网站</a>' in html
    assert '<a href="mailto:a@example.cn" rel="noopener noreferrer">邮件</a>' in html


def test_img_with_handler_is_inert():
    html = str(render_body("<img src=x onerror=alert(1)>"))
    assert "<img" not in html
    assert "onerror=" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "")


def test_markdown_image_produces_no_img_and_no_link():
    html = str(render_body("![a](http://169.254.169.254/)"))
    assert "<img" not in html
    assert "<a " not in html
    assert html.strip() == "<p>![a](http://169.254.169.254/)</p>"


def test_inline_html_attributes_are_text():
    html = str(render_body('文字<span onclick="x()">点击</span>'))
    assert "<span" not in html
    assert "&lt;span" in html


def test_table():
    html = str(render_body("| 城市 | 规模 |\n| --- | ---: |\n| 深圳 | 960 |"))
    assert "<table>" in html and "<th>城市</th>" in html and "<td>960</td>" in html
    assert "style=" not in html


def test_blockquote_and_hr():
    html = str(render_body("> 引用的话\n\n---\n\n正文"))
    assert "<blockquote>" in html and "<hr>" in html


def test_backticks_stay_as_typed():
    assert str(render_body("`x`")).strip() == "<p>`x`</p>"


def test_empty_body():
    assert str(render_body("")) == ""


def test_plain_text():
    source = "# 一、总体情况\n\n**加强统筹。**结合\n实际，见[网站](https://www.gov.cn)。\n\n<b>粗</b>"
    assert plain_text(source) == "一、总体情况\n加强统筹。结合实际，见网站。\n<b>粗</b>"


def test_plain_text_latin_break_is_space():
    assert plain_text("low\naltitude") == "low altitude"


@pytest.mark.parametrize(("ch", "expected"), [("中", True), ("。", True), ("，", True), ("Ａ", True),
                                              ("ｶ", True), ("한", True), ("a", False), ("“", False),
                                              (".", False), ("😀", False), ("⚡", False)])
def test_is_cjk(ch, expected):
    assert is_cjk(ch) is expected


# --- tables and images (issue 11) -------------------------------------------------------------

DIGEST = "ab" * 32


def test_a_table_caption_is_marked_and_the_header_row_is_thead():
    html = str(render_body("表1 主要城市\n\n| 城市 | 规模 |\n|---|---|\n| 深圳 | 960 |"))
    assert '<p class="table-caption">表1 主要城市</p>' in html and "<thead>" in html
    assert '<p class="table-caption">' not in str(render_body("表1 不在表格前\n\n正文。"))


def test_a_stored_image_reference_embeds_only_the_given_data_uri():
    source = f"![图1 规模](image:{DIGEST})"
    html = str(render_body(source, {DIGEST: "data:image/png;base64,iVBORw0KGgo="}))
    assert html.strip() == ('<p class="figure"><img src="data:image/png;base64,iVBORw0KGgo=" alt="图1 规模">'
                            '<span class="caption">图1 规模</span></p>')
    assert "<img" not in str(render_body(source))  # not resolved: its caption only
    # Whatever the caller passes, only a base64 PNG or JPEG data: URI reaches the page.
    hostile = str(render_body(source, {DIGEST: "javascript:alert(1)"}))
    assert "javascript" not in hostile


def test_other_image_targets_and_links_to_images_stay_inert():
    assert "<img" not in str(render_body("![a](image:1234)"))
    assert "href" not in str(render_body(f"[链接](image:{DIGEST})"))


def test_image_references_and_captions_in_plain_text():
    source = f"正文。\n\n![图1 规模](image:{DIGEST})\n\n![图2 其他](image:{DIGEST})"
    from rendering.markdown import image_references
    assert image_references(source) == [DIGEST]
    assert plain_text(source).splitlines() == ["正文。", "图1 规模", "图2 其他"]
