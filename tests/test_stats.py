"""成果统计: the figures are exact (compared with counts computed here from the fixtures, in
Python, not by the same SQL), the page is the editors' and signers' only, and the CSV and
Excel exports hold the same figures."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from statistics import median

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from extensions import db
from models import AuditEvent, Brief, Instruction, Series, User
from stats.figures import Filters, compute
from workflows.brief import State
from workflows.transitions import apply_transition

YEAR = date.today().year
# Durations (days) set on the issues: (submission → sign-off, sign-off → publication).
DURATIONS_A = [(1.0, 0.5), (2.0, 1.0), (4.0, 3.0), (2.5, 0.25)]
DURATIONS_B = [(3.0, 2.0)]


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


@pytest.fixture
def world(app, make_brief, series_id):
    """Series A: four issues this year (one 增刊, one by drafter2 with another author line, one
    annulled), one issue dated last year; series B: one issue. Returns and send-backs on drafts."""
    with app.app_context():
        other = Series(name="决策参考", hosts="苏州太湖智库", default_print_run=2, first_total_number=1)
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    last_year = make_brief(State.PUBLISHED, issue_date=date(YEAR - 1, 12, 30))
    a = [make_brief(State.PUBLISHED), make_brief(State.PUBLISHED, supplement=True),
         make_brief(State.PUBLISHED, author="drafter2", author_line="苏州太湖书院"),
         make_brief(State.ANNULLED)]
    b = [make_brief(State.PUBLISHED, series=other_id)]
    returned = make_brief(State.IN_REVIEW)
    sent_back = make_brief(State.AWAITING_SIGNOFF)
    b_returned = make_brief(State.IN_REVIEW, series=other_id)
    with app.app_context():
        start = datetime(YEAR, 1, 10, 1, 0, tzinfo=UTC)
        for brief_id, (to_sign, to_pub) in zip(a + b, DURATIONS_A + DURATIONS_B):
            signed = start + timedelta(days=to_sign)
            db.session.execute(update(Brief.__table__).where(Brief.__table__.c.id == brief_id).values(
                submitted_at=start, signed_at=signed, published_at=signed + timedelta(days=to_pub)))
        db.session.commit()
        brief = db.session.get(Brief, returned)
        apply_transition(db.session, brief, "return", user("editor"), comment="补充数据")
        apply_transition(db.session, brief, "submit", user("drafter"))
        apply_transition(db.session, brief, "return", user("editor"), comment="再补充")
        apply_transition(db.session, db.session.get(Brief, sent_back), "send_back", user("signer"), comment="请修改")
        apply_transition(db.session, db.session.get(Brief, b_returned), "return", user("editor"), comment="退回")
        # 批示: two on the first issue of A (two levels), one on the 增刊, one on B's issue
        registrar = user("editor").id
        for brief_id, level in ((a[0], "市委书记/市长"), (a[0], "副市级"), (a[1], "副市级"), (b[0], "部门")):
            db.session.add(Instruction(brief_id=brief_id, leader_name="王建国", level=level, given_on=date(YEAR, 2, 1),
                                       text="此件很好。", kind="affirm", registered_by_id=registrar))
        db.session.commit()
    return {"a": a, "b": b, "last_year": last_year, "series_a": series_id, "series_b": other_id}


def expected_rows(app, world) -> dict[tuple[int, int | None], dict]:
    """The figures, counted here in Python from the rows the fixtures made."""
    with app.app_context():
        briefs = db.session.scalars(select(Brief).where(Brief.issue_number.is_not(None))).all()
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(["return", "send_back"]))).all()
        series_of = {b.id: b.series_id for b in db.session.scalars(select(Brief))}
        out: dict[tuple[int, int | None], dict] = {}
        for key_of in (lambda b: (b.issue_year, b.series_id), lambda b: (b.issue_year, None)):
            groups: dict = {}
            for b in briefs:
                groups.setdefault(key_of(b), []).append(b)
            for key, members in groups.items():
                to_sign = [(m.signed_at - m.submitted_at).total_seconds() / 86400 for m in members if m.submitted_at]
                to_pub = [(m.published_at - m.signed_at).total_seconds() / 86400 for m in members if m.submitted_at]
                out[key] = {"issues": len(members), "supplements": sum(m.supplement for m in members),
                            "annulled": sum(m.annulled_at is not None for m in members),
                            "notices": sum(m.corrects_id is not None for m in members),
                            "to_sign": median(to_sign) if to_sign else None,
                            "to_pub": median(to_pub) if to_pub else None, "returns": 0, "send_backs": 0,
                            "by_level": {}, "instructed": 0}
                ids = {m.id for m in members}
                for i in db.session.scalars(select(Instruction).where(Instruction.brief_id.in_(ids))):
                    out[key]["by_level"][i.level] = out[key]["by_level"].get(i.level, 0) + 1
                out[key]["instructed"] = len({i.brief_id for i in db.session.scalars(
                    select(Instruction).where(Instruction.brief_id.in_(ids)))})
        for e in events:
            for key in ((e.created_at.year, series_of[e.brief_id]), (e.created_at.year, None)):
                row = out.setdefault(key, {"issues": 0, "supplements": 0, "annulled": 0, "notices": 0,
                                           "to_sign": None, "to_pub": None, "returns": 0, "send_backs": 0,
                                           "by_level": {}, "instructed": 0})
                row["returns" if e.action == "return" else "send_backs"] += 1
        return out


def test_figures_are_exact(app, world):
    expected = expected_rows(app, world)
    with app.app_context():
        figures = compute(db.session, Filters(), levels=["省部级", "市委书记/市长", "副市级", "部门"])
    got = {(r.year, r.series_id): r for r in figures.rows}
    assert set(got) == set(expected)
    for key, want in expected.items():
        row = got[key]
        assert (row.issues, row.supplements, row.annulled, row.notices, row.returns, row.send_backs) == (
            want["issues"], want["supplements"], want["annulled"], want["notices"], want["returns"],
            want["send_backs"]), key
        assert (row.instructions_by_level, row.instructed_issues) == (want["by_level"], want["instructed"]), key
        for value, wanted in ((row.median_to_signoff, want["to_sign"]), (row.median_to_publication, want["to_pub"])):
            assert (value is None) == (wanted is None) and (value is None or abs(value - wanted) < 1e-6), key
    # and by hand, for the record of what the fixtures mean
    this_a = got[(YEAR, world["series_a"])]
    assert (this_a.issues, this_a.supplements, this_a.annulled, this_a.returns, this_a.send_backs) == (4, 1, 1, 2, 1)
    assert this_a.median_to_signoff == pytest.approx(2.25) and this_a.median_to_publication == pytest.approx(0.75)
    overall = got[(YEAR, None)]
    assert overall.issues == 5 and overall.returns == 3
    assert overall.median_to_signoff == pytest.approx(2.5)
    assert got[(YEAR - 1, world["series_a"])].issues == 1
    assert this_a.instructions_by_level == {"市委书记/市长": 1, "副市级": 2} and this_a.instructed_issues == 2
    assert this_a.instruction_rate == pytest.approx(0.5)
    assert figures.levels == ["市委书记/市长", "副市级", "部门"]  # the configured order, used levels only


def test_authors_are_counted_by_account_and_author_line(app, world):
    with app.app_context():
        figures = compute(db.session, Filters(year=YEAR, series_id=world["series_a"]))
        people = {u.username: u.display_name for u in db.session.scalars(select(User))}
    rows = {(a.author, a.author_line): a.issues for a in figures.authors}
    assert rows == {(people["drafter"], "苏州太湖智库"): 3, (people["drafter2"], "苏州太湖书院"): 1}
    # filtered to one series and year: one row, no all-series row
    assert [(r.year, r.series_id) for r in figures.rows] == [(YEAR, world["series_a"])]


@pytest.mark.parametrize("persona,status", [("editor", 200), ("signer", 200), ("editor_signer", 200),
                                            ("drafter", 403), ("archivist", 403), ("clerk", 403), ("admin", 403),
                                            ("auditor", 403), ("security_admin", 403)])
def test_who_sees_the_statistics(app, login_as, series_id, persona, status):
    client = login_as(persona)
    for url in ("/statistics", "/statistics/export.csv", "/statistics/export.xlsx"):
        assert client.get(url).status_code == status, url
    assert ('href="/statistics"' in client.get("/account").get_data(as_text=True)) == (status == 200)


def test_the_page_and_exports_show_the_figures(app, world, login_as):
    client = login_as("signer")
    page = client.get(f"/statistics?year={YEAR}").get_data(as_text=True)
    row = re.search(rf'<tr data-year="{YEAR}" data-series="{world["series_a"]}"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert '<td data-k="issues">4</td>' in row and '<td data-k="supplements">1</td>' in row
    assert '<td data-k="to_signoff">2.2</td>' in row or '<td data-k="to_signoff">2.3</td>' in row
    assert '<td data-k="returns">2</td>' in row and '<td data-k="send_backs">1</td>' in row
    assert page.count('<svg class="chart"') == 3
    assert f'data-year="{YEAR - 1}"' not in page  # the year filter holds
    assert client.get("/statistics?year=abc").status_code == 400
    assert client.get("/statistics?series=99999").status_code == 200  # an unknown series: nothing, no 500

    response = client.get(f"/statistics/export.csv?series={world['series_a']}")
    assert response.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    this_year = next(r for r in table if r[:2] == [str(YEAR), "领导参阅"])
    assert this_year[2:6] == ["4", "1", "0", "1"] and this_year[8:10] == ["2", "1"]

    book = load_workbook(io.BytesIO(client.get("/statistics/export.xlsx").get_data()))
    summary = list(book.worksheets[0].iter_rows(values_only=True))
    overall = next(r for r in summary if r[0] == YEAR and r[1] in ("全部刊物", "All series"))
    assert overall[2] == 5 and overall[6] == 2.5 and overall[8] == 3
    authors = list(book.worksheets[1].iter_rows(values_only=True))
    assert sum(r[4] for r in authors[1:] if r[0] == YEAR) == 5
