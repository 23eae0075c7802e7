"""Titles (issue 10, GB/T 9704 7.3.1): a line break typed in the title is kept in the stored
brief, the form, the HTML preview, the PDF and the brief file; without one a long title
breaks between words (jieba) into balanced lines; more than three lines are refused."""

from __future__ import annotations

import html
import re
import io

import pdfplumber
from sqlalchemy import select

from extensions import db
from models import Brief
from publishing.brieffile import brief_as_file, parse_brief_file
from rendering.printing import title_lines

TYPED = "关于进一步优化营商环境\r\n促进民营经济发展壮大的建议"
LINES = ["关于进一步优化营商环境", "促进民营经济发展壮大的建议"]


def new_brief(client, series_id, title: str):
    return client.post("/briefs/new", {
        "series_id": str(series_id), "title": title, "body": "正文第一段。", "classification": "",
        "urgency": "", "keywords": "营商环境"})


def title_lines_in_pdf(data: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        chars = [c for c in pdf.pages[0].chars if round(c["size"]) == 22]
    rows: dict[float, list[dict]] = {}
    for c in chars:
        rows.setdefault(round(c["top"]), []).append(c)
    return ["".join(c["text"] for c in sorted(row, key=lambda c: c["x0"])).replace(" ", "")
            for _, row in sorted(rows.items())]


def test_a_title_typed_on_two_lines_keeps_its_break_everywhere(app, series_id, login_as):
    client = login_as("drafter")
    assert new_brief(client, series_id, TYPED).status_code == 302
    with app.app_context():
        brief = db.session.scalars(select(Brief).order_by(Brief.id.desc())).first()
        brief_id, stored = brief.id, brief.title
        brief_file = brief_as_file(brief)
    assert stored == "\n".join(LINES)

    edit = client.get(f"/briefs/{brief_id}/edit").get_data(as_text=True)
    assert html.escape("\n".join(LINES), quote=False) + "</textarea>" in edit

    # The preview shows the specimen's pages; its text layer has one <text> per printed line.
    preview = client.get(f"/briefs/{brief_id}/preview").get_data(as_text=True)
    shown = re.findall(r"<text [^>]*>([^<]*)</text>", preview)
    assert shown[shown.index(LINES[0]) + 1] == LINES[1]

    pdf = client.get(f"/briefs/{brief_id}/preview.pdf")
    assert pdf.status_code == 200
    assert title_lines_in_pdf(pdf.data) == LINES

    assert parse_brief_file(brief_file).content()["title"] == "\n".join(LINES)


def test_a_title_of_four_lines_is_refused_and_kept(app, series_id, login_as):
    client = login_as("drafter")
    assert client.post("/account", {"profile-locale": "en"}, prefix="profile").status_code == 302
    with app.app_context():
        before = db.session.query(Brief).count()
    response = new_brief(client, series_id, "第一行\n第二行\n第三行\n第四行")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "A title has at most 3 lines." in page
    assert "第一行\n第二行\n第三行\n第四行</textarea>" in page
    with app.app_context():
        assert db.session.query(Brief).count() == before


def test_long_titles_break_between_words_into_balanced_lines():
    for title in (
        "关于以“人工智能+”赋能我市制造业转型升级的建议",
        "关于我市加紧研究布局“元宇宙”产业发展的分析建议",
        "关于进一步优化营商环境促进民营经济发展壮大的建议",
        "关于加快培育低空经济新增长极打造长三角低空经济创新发展高地的若干建议",
    ):
        lines = title_lines(title)
        assert "".join(lines) == title and len(lines) >= 2
        lengths = [len(line) for line in lines]
        assert min(lengths) >= 6, lines  # never one long line and a short tail
        assert max(lengths) - min(lengths) <= 6, lines
    # words kept whole (jieba), verbs with their objects
    assert title_lines("关于进一步优化营商环境促进民营经济发展壮大的建议") == LINES
    assert title_lines("关于以“人工智能+”赋能我市制造业转型升级的建议")[1].startswith("赋能")
