"""templates/print/issue.html with rendering.printing: the printed page of an issue."""

import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from markupsafe import Markup

from rendering.markdown import render_body
from rendering.printing import PrintedIssue, chinese_date, printed_issue_from_brief

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_BODY = (Path(__file__).parent / "fixtures" / "sample_brief.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def env():
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )


def sample_issue(**changes):
    values = dict(
        series_name="领导参阅",
        hosts=["苏州太湖书院", "苏州太湖智库"],
        issue_number=3,
        total_number=31,
        supplement=False,
        issue_date=date(2022, 1, 28),
        special_report=["王建国书记", "李明代市长", "张华秘书长"],
        classification="",
        urgency="",
        title="关于加快培育我市低空经济新增长点的建议",
        author_line="苏州太湖智库",
        body_html=render_body(SAMPLE_BODY),
        editor_name="周文清",
        contact_phone="0512-65550000",
        address="苏州市吴中区某某路 100 号",
        print_run=30,
        copy_number=None,
        specimen=False,
    )
    values.update(changes)
    return PrintedIssue(**values)


def render(env, issue, stylesheet_url="/static/print.css"):
    return env.get_template("print/issue.html").render(issue=issue, stylesheet_url=stylesheet_url)


def text_of(html: str) -> str:
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", html))


def assert_in_order(haystack: str, needles: list[str]) -> None:
    position = 0
    for needle in needles:
        found = haystack.find(needle, position)
        assert found >= 0, f"{needle!r} missing after position {position}"
        position = found + len(needle)


def test_chinese_date_has_no_zero_padding():
    assert chinese_date(date(2022, 1, 28)) == "2022年1月28日"
    assert chinese_date(date(2023, 10, 5)) == "2023年10月5日"


def test_number_line():
    assert sample_issue().number_line == "第3期（总第31期）"
    assert sample_issue(issue_number=None, total_number=None).number_line == "第\u3000期（总第\u3000期）"


def test_hosts_text():
    assert sample_issue().hosts_text == "苏州太湖书院\u3000\u3000苏州太湖智库 主办"
    assert sample_issue(hosts=[]).hosts_text == ""


def test_pieces_appear_in_order(env):
    html = render(env, sample_issue())
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in html
    assert_in_order(
        html,
        [
            'href="/static/print.css"',
            'class="copy-number"',
            "本期专报：王建国书记、李明代市长、张华秘书长",
            '<h1 class="masthead">领导参阅</h1>',
            "第3期（总第31期）",
            "苏州太湖书院\u3000\u3000苏州太湖智库 主办",
            "2022年1月28日",
            "关于加快培育我市低空经济新增长点的建议",
            '<p class="author-line">苏州太湖智库</p>',
            '<h3 class="level-1">一、低空经济的内涵与特征</h3>',
            "<strong>1、加强低空经济发展的顶层设计。</strong>结合我市产业基础",
            "责任编辑：周文清",
            "联系电话：0512-65550000",
            "地址：苏州市吴中区某某路 100 号",
            "共印：30 份",
        ],
    )


def test_master_has_a_blank_copy_number_place(env):
    html = render(env, sample_issue(copy_number=None))
    assert '<div class="copy-number" data-field="copy-number"></div>' in html


def test_copy_number_printed(env):
    html = render(env, sample_issue(copy_number="000017"))
    assert '<div class="copy-number" data-field="copy-number">000017</div>' in html
    assert html.count("000017") == 1


def test_supplement_line_only_when_flagged(env):
    assert "（增刊）" not in render(env, sample_issue(supplement=False))
    html = render(env, sample_issue(supplement=True))
    assert_in_order(html, ["第3期（总第31期）", "（增刊）", "主办"])


def test_classification_and_urgency_below_copy_number(env):
    html = render(env, sample_issue(classification="内部", urgency="特急", copy_number="000001"))
    assert_in_order(html, ["000001", '<div class="classification">内部</div>', '<div class="urgency">特急</div>',
                           "本期专报", "masthead"])
    plain = render(env, sample_issue())
    assert 'class="classification"' not in plain and 'class="urgency"' not in plain


def test_no_special_report_line_when_empty(env):
    assert "本期专报" not in render(env, sample_issue(special_report=[]))


def test_draft_preview_without_numbers(env):
    html = render(env, sample_issue(issue_number=None, total_number=None, issue_date=None, print_run=None))
    assert "第\u3000期（总第\u3000期）" in html
    assert "None" not in html
    assert "共印：\u3000 份" in html


def test_specimen_watermark(env):
    assert "样稿" not in render(env, sample_issue(specimen=False))
    html = render(env, sample_issue(specimen=True))
    assert '<div class="specimen-mark" aria-hidden="true">样稿</div>' in html


def test_title_and_fields_are_escaped(env):
    html = render(
        env,
        sample_issue(
            title="<script>alert(1)</script>标题",
            author_line='"><img src=x onerror=alert(1)>',
            special_report=["<b>王</b>"],
            editor_name="<i>李</i>",
        ),
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;标题" in html
    assert "<img" not in html
    assert "<b>王</b>" not in html and "&lt;b&gt;王&lt;/b&gt;" in html
    assert "<i>李</i>" not in html


def test_body_html_is_not_double_escaped(env):
    html = render(env, sample_issue(body_html=Markup("<p>正文<strong>加粗</strong></p>")))
    assert "<p>正文<strong>加粗</strong></p>" in html


def test_no_external_urls(env):
    html = render(env, sample_issue())
    css = (ROOT / "static" / "print.css").read_text(encoding="utf-8")
    for text in (html, css):
        assert "http://" not in text and "https://" not in text and "//fonts." not in text
        assert "@import" not in text


def test_css_page_setup():
    css = (ROOT / "static" / "print.css").read_text(encoding="utf-8")
    assert re.search(r"@page\s*{[^}]*size:\s*A4;[^}]*margin:\s*37mm 26mm 35mm 28mm;", css)
    assert "@bottom-right" in css and "@bottom-left" in css
    assert 'content: "— " counter(page) " —"' in css


def test_body_text_complete(env):
    # Every paragraph of the sample reaches the page, soft breaks between CJK joined.
    html = render(env, sample_issue())
    page_text = text_of(html)
    for line in SAMPLE_BODY.replace("，\n", "，").splitlines():
        text = re.sub(r"^#+\s*", "", line).replace("**", "").replace(" ", "")
        if text:
            assert text in page_text, text


class FakeSeries:
    name = "领导参阅"
    contact_phone = "0512-65550000"
    address = "苏州市吴中区某某路 100 号"
    default_print_run = 30

    @property
    def host_list(self):
        return ["苏州太湖书院", "苏州太湖智库"]


def fake_brief(**changes):
    values = dict(
        series=FakeSeries(),
        issue_number=None,
        total_number=None,
        supplement=False,
        issue_date=None,
        special_report=["王建国书记"],
        classification="",
        urgency="",
        title="标题",
        author_line="苏州太湖智库",
        body="**加强顶层设计。**结合实际",
        editor_name=None,
        print_run=None,
    )
    values.update(changes)
    return SimpleNamespace(**values)


def test_printed_issue_from_draft_brief():
    issue = printed_issue_from_brief(fake_brief(), specimen=True)
    assert issue.specimen is True
    assert issue.print_run == 30  # the series default before publication
    assert issue.copy_number is None
    assert issue.hosts == ["苏州太湖书院", "苏州太湖智库"]
    assert issue.body_html == Markup("<p><strong>加强顶层设计。</strong>结合实际</p>\n")
    assert issue.number_line == "第\u3000期（总第\u3000期）"


def test_printed_issue_from_published_brief(env):
    brief = fake_brief(issue_number=3, total_number=31, issue_date=date(2022, 1, 28), print_run=42,
                       editor_name="周文清", supplement=True)
    issue = printed_issue_from_brief(brief, specimen=False, copy_number="000005")
    assert (issue.print_run, issue.copy_number, issue.date_text) == (42, "000005", "2022年1月28日")
    html = render(env, issue)
    assert_in_order(html, ["000005", "本期专报：王建国书记", "第3期（总第31期）", "（增刊）", "2022年1月28日",
                           "责任编辑：周文清", "共印：42 份"])
    assert "样稿" not in html
