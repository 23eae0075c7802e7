"""Full-text search of the archive (archive/search.py): every kind of query finds exactly the
expected issues, ranked title hits first and then newest first, with filters, highlighted and
escaped snippets, per-role visibility, and an index kept in sync with publication — on SQLite
(FTS5) and PostgreSQL (tsvector), whichever CANYUE_TEST_DATABASE selects."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask_login import AnonymousUserMixin
from sqlalchemy import select, text

from archive.search import SYSTEM, index_brief, parse_query, rebuild_index, remove_brief, search
from commands.archive import reindex_command, search_command
from extensions import db
from models import Brief, Series, User
from publishing import pipeline
from workflows.brief import State

# The archive the tests search. Issue dates ascend per series (backdating is refused).
DOCS: dict[str, dict[str, Any]] = {
    "title_suzhou": dict(
        issue_date=date(2022, 5, 10), title="苏州元宇宙产业发展观察", body="本文梳理相关情况。数字化转型持续推进。",
        special_report=["王建国书记"], keywords=["产业观察"], author_line="太湖智库", classification="内部",
    ),
    "rare": dict(
        issue_date=date(2022, 11, 2), title="太湖生态保护调研",
        body="鼋头渚景区生态保护成效明显。江苏各地积极推进，杭州经验值得借鉴。He said so.",
        special_report=["李明代市长"], keywords=["生态"], author_line="太湖智库",
    ),
    "digital": dict(
        issue_date=date(2023, 6, 15), title="数字经济发展态势分析",
        body="# 一、总体情况\n\n**苏州数字经济规模持续扩大。**元宇宙领域也有布局。",
        special_report=["王建国书记"], keywords=["数字经济"], author_line="太湖智库",
    ),
    "newest_body": dict(
        issue_date=date(2024, 3, 20), title="营商环境优化建议", body="近期赴苏州工业园区调研，元宇宙产业集聚明显。",
        special_report=["王建国书记"], keywords=["营商环境"], author_line="发展研究院",
    ),
    "fields": dict(
        issue_date=date(2024, 5, 8), title="低碳转型路径研究", body="推动绿色发展。",
        special_report=["周建华副市长"], keywords=["碳达峰"], author_line="东吴研究院",
    ),
    "html": dict(
        issue_date=date(2024, 7, 1), title="关于<脚本>安全的提示",
        body="警惕 <script>alert(1)</script> 注入，苏州网信部门提示。", special_report=["王建国书记"],
        keywords=["网络安全"], author_line="太湖智库",
    ),
    "apart": dict(
        issue_date=date(2024, 9, 1), title="区域协调发展", body="加快数字化建设，壮大实体经济。推动AI赋能制造。",
        special_report=["王建国书记"], keywords=["区域"], author_line="太湖智库",
    ),
    "other_series": dict(
        issue_date=date(2024, 2, 1), title="专题研究", body="苏州与周边城市协同。", special_report=["王建国书记"],
        keywords=["协同"], author_line="太湖智库", series="second",
    ),
}


@pytest.fixture
def fast_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    """Publish without rendering PDFs: search does not read them, and it saves a second a brief.
    (test_sync_follows_publication runs the real pipeline.)"""
    monkeypatch.setattr(pipeline, "PREPARE_STEPS", [pipeline.plan_numbers, pipeline.settle_print_run])


@pytest.fixture
def second_series(app: Flask) -> int:
    with app.app_context():
        series = Series(name="领导参阅专刊", hosts="苏州太湖智库", contact_phone="0512-66880000",
                        address="苏州市", default_print_run=10, first_total_number=1)
        db.session.add(series)
        db.session.commit()
        return series.id


@pytest.fixture
def docs(app: Flask, make_brief: Any, fast_publish: None, second_series: int) -> dict[str, int]:
    ids = {}
    for name, fields in DOCS.items():
        fields = dict(fields)
        if fields.pop("series", None) == "second":
            fields["series"] = second_series
        ids[name] = make_brief(State.PUBLISHED, **fields)
    return ids


def user(name: str) -> User:
    found = db.session.scalar(select(User).where(User.username == name))
    assert found is not None
    return found


def found(app: Flask, query: str, who: Any = SYSTEM, **kw: Any) -> list[int]:
    with app.app_context():
        actor = user(who) if isinstance(who, str) else who
        return [hit.brief.id for hit in search(db.session, actor, query, **kw).hits]


def names(docs: dict[str, int], *wanted: str) -> list[int]:
    return [docs[n] for n in wanted]


# --- query kinds ---------------------------------------------------------------------------


def test_one_rare_character(app, docs):
    assert found(app, "鼋") == names(docs, "rare")


def test_one_common_character_ranks_title_first_then_newest(app, docs):
    assert found(app, "宇") == names(docs, "title_suzhou", "newest_body", "digital")


def test_two_characters_match_only_adjacent(app, docs):
    # "rare" has 江苏 and 杭州: 苏 and 州, never side by side.
    assert found(app, "苏州") == names(docs, "title_suzhou", "html", "newest_body", "other_series", "digital")


def test_long_term_is_a_phrase(app, docs):
    # "digital" has 元宇宙领域, not 元宇宙产业.
    assert found(app, "元宇宙产业") == names(docs, "title_suzhou", "newest_body")


def test_several_terms_must_all_match_anywhere(app, docs):
    # title_suzhou: both in the title; newest_body and digital: both in the body; html: 苏州 only.
    assert found(app, "苏州 元宇宙") == names(docs, "title_suzhou", "newest_body", "digital")
    assert found(app, "苏州，元宇宙") == found(app, "苏州 元宇宙")


def test_quoted_phrase_versus_separate_terms(app, docs):
    assert found(app, '"数字经济"') == names(docs, "digital")
    assert found(app, "数字 经济") == names(docs, "digital", "apart")  # digital: in its title
    assert found(app, '"苏州 元宇宙"') == names(docs, "title_suzhou")
    assert found(app, "“苏州元宇宙”") == names(docs, "title_suzhou")


def test_hits_only_in_report_names_keywords_or_author_line(app, docs):
    with app.app_context():
        for query, where in (("周建华", "special_report"), ("碳达峰", "keywords"), ("东吴研究院", "author_line")):
            hits = search(db.session, SYSTEM, query).hits
            assert [h.brief.id for h in hits] == [docs["fields"]], query
            assert hits[0].snippet_field == where
            assert f"<mark>{query}</mark>" in hits[0].snippet_html


def test_latin_words_match_whole_words_and_fold_width_and_case(app, docs):
    assert found(app, "ai") == names(docs, "apart")  # not "said"
    assert found(app, "ＡＩ") == names(docs, "apart")
    assert found(app, "AI赋能") == names(docs, "apart")
    assert found(app, "said") == names(docs, "rare")


def test_markup_does_not_split_text(app, docs):
    # "digital" has **苏州数字经济规模持续扩大。** in its body.
    assert found(app, "苏州数字经济") == names(docs, "digital")
    assert found(app, "总体情况") == names(docs, "digital")


def test_no_match_and_empty_queries(app, docs):
    assert found(app, "量子") == []
    assert found(app, "") == []
    assert found(app, " ，。 ") == []
    assert found(app, "苏州 量子") == []


# --- ranking, pages, filters ----------------------------------------------------------------


def test_pages_follow_the_ranking(app, docs):
    expected = names(docs, "title_suzhou", "html", "newest_body", "other_series", "digital")
    with app.app_context():
        seen, more = [], []
        for page in range(1, 6):
            result = search(db.session, SYSTEM, "苏州", page=page, per_page=1)
            seen += [h.brief.id for h in result.hits]
            more.append(result.has_more)
        assert seen == expected
        assert more == [True, True, True, True, False]
        first, second = (search(db.session, SYSTEM, "苏州", page=p, per_page=3) for p in (1, 2))
        assert [h.brief.id for h in first.hits] == expected[:3] and first.has_more
        assert [h.brief.id for h in second.hits] == expected[3:] and not second.has_more
        assert search(db.session, SYSTEM, "苏州", page=3, per_page=3).hits == []
        in_title = [h.in_title for h in search(db.session, SYSTEM, "苏州").hits]
        assert in_title == [True, False, False, False, False]


def test_filters(app, docs, second_series, series_id):
    suzhou = "苏州"
    assert found(app, suzhou, series_id=second_series) == names(docs, "other_series")
    in_first = names(docs, "title_suzhou", "html", "newest_body", "digital")
    assert found(app, suzhou, series_id=series_id) == in_first
    assert found(app, suzhou, year_from=2024) == names(docs, "html", "newest_body", "other_series")
    assert found(app, suzhou, year_to=2023) == names(docs, "title_suzhou", "digital")
    assert found(app, suzhou, year_from=2023, year_to=2023) == names(docs, "digital")
    assert found(app, suzhou, author="研究院") == names(docs, "newest_body")
    assert found(app, suzhou, author="100%") == []
    assert found(app, suzhou, classification="内部") == names(docs, "title_suzhou")
    assert found(app, suzhou, state="published") == found(app, suzhou)
    assert found(app, suzhou, state="archived") == []


# --- snippets -------------------------------------------------------------------------------


def test_snippets_mark_hits_and_escape_the_text(app, docs):
    with app.app_context():
        hit = search(db.session, SYSTEM, "苏州").hits[1]
        assert hit.brief.id == docs["html"]
        assert "<mark>苏州</mark>" in hit.snippet_html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hit.snippet_html
        assert "<script>" not in hit.snippet_html
        assert hit.title_html == "关于&lt;脚本&gt;安全的提示"
        top = search(db.session, SYSTEM, "苏州 元宇宙").hits[0]
        assert top.title_html == "<mark>苏州</mark><mark>元宇宙</mark>产业发展观察"
        rare = search(db.session, SYSTEM, "鼋").hits[0]
        assert rare.snippet_html.startswith("<mark>鼋</mark>头渚")
        digital = search(db.session, SYSTEM, "规模").hits[0]
        assert "**" not in digital.snippet_html  # the plain text, without Markdown
        assert "<mark>规模</mark>" in digital.snippet_html


def test_a_title_only_hit_shows_the_opening_of_the_body(app, docs):
    with app.app_context():
        hit = search(db.session, SYSTEM, "优化建议").hits[0]
        assert hit.in_title and hit.snippet_field is None
        assert hit.snippet_html.startswith("近期赴苏州工业园区")


def test_a_long_body_gives_a_window_around_the_hit(app, make_brief, fast_publish):
    body = "前言" * 200 + "关键段落提到鼋头渚。" + "结语" * 200
    make_brief(State.PUBLISHED, title="长文", body=body, author_line="太湖智库", special_report=[])
    with app.app_context():
        snip = search(db.session, SYSTEM, "鼋头渚").hits[0].snippet_html
    assert snip.startswith("…") and snip.endswith("…")
    assert "<mark>鼋头渚</mark>" in snip and len(snip) < 200


# --- what is indexed, and keeping in sync ----------------------------------------------------


def test_unissued_briefs_are_never_found(app, make_brief, fast_publish):
    for state in (State.DRAFT, State.IN_REVIEW, State.AWAITING_SIGNOFF, State.SIGNED, State.WITHDRAWN):
        make_brief(state, title="蘅芜苑调研", body="蘅芜苑" + state.value)
    published = make_brief(State.PUBLISHED, title="蘅芜苑调研", body="蘅芜苑")
    for who in (SYSTEM, "drafter", "editor", "signer", "archivist", "admin"):
        assert found(app, "蘅芜苑", who) == [published]


def test_sync_follows_publication(app, make_brief, people):
    """The real pipeline: not found while signed, found once published."""
    brief_id = make_brief(State.SIGNED, title="潇湘馆专题", body="潇湘馆的竹子。", author_line="太湖智库")
    assert found(app, "潇湘馆") == []
    with app.app_context():
        pipeline.publish(db.session, brief_id, user("editor"), issue_date=date(2025, 1, 6))
    assert found(app, "潇湘馆") == [brief_id]
    assert found(app, "竹子") == [brief_id]


def test_a_failed_publication_leaves_no_index_entry(app, make_brief, people):
    brief_id = make_brief(State.SIGNED, title="稻香村专题", body="稻香村。", author_line="太湖智库")

    def fail(ctx: pipeline.PublishContext) -> None:
        raise pipeline.PublishError("boom")

    with app.app_context():
        with pytest.raises(pipeline.PublishError):
            pipeline.publish(db.session, brief_id, user("editor"),
                             prepare=[pipeline.plan_numbers, pipeline.settle_print_run],
                             commit=[pipeline.take_numbers, pipeline.record_publication, fail])
        assert db.session.execute(text("SELECT count(*) FROM search_doc")).scalar() == 0
    assert found(app, "稻香村") == []


def test_remove_and_index_again(app, docs):
    with app.app_context():
        remove_brief(db.session, docs["rare"])
        db.session.commit()
    assert found(app, "鼋") == []
    with app.app_context():
        brief = db.session.get(Brief, docs["rare"])
        index_brief(db.session, brief)
        index_brief(db.session, brief)  # twice: still one entry
        db.session.commit()
    assert found(app, "鼋") == [docs["rare"]]
    assert found(app, "生态保护") == names(docs, "rare")


def test_reindex_rebuilds_after_wiping(app, docs):
    with app.app_context():
        db.session.execute(text("DELETE FROM search_doc"))
        db.session.commit()
    assert found(app, "苏州") == []
    with app.app_context():
        assert rebuild_index(db.session) == len(DOCS)
        db.session.commit()
    assert found(app, "苏州") == names(docs, "title_suzhou", "html", "newest_body", "other_series", "digital")
    assert found(app, "鼋") == names(docs, "rare")


def test_fts_index_stays_consistent(app, docs):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("FTS5 only")
        brief = db.session.get(Brief, docs["rare"])
        index_brief(db.session, brief)
        remove_brief(db.session, docs["digital"])
        rebuild_index(db.session)
        for table in ("search_title", "search_text"):
            db.session.execute(text(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')"))
        db.session.commit()


# --- who sees what --------------------------------------------------------------------------


def test_every_role_sees_the_issued_archive(app, docs):
    expected = names(docs, "title_suzhou", "html", "newest_body", "other_series", "digital")
    for who in ("drafter", "drafter2", "editor", "signer", "archivist", "admin"):
        assert found(app, "苏州", who) == expected, who


def test_drafts_of_others_and_own_drafts_stay_out(app, docs, make_brief):
    make_brief(State.DRAFT, author="drafter2", title="鼋头渚草稿", body="鼋头渚")
    make_brief(State.IN_REVIEW, author="drafter", title="鼋头渚送审稿", body="鼋头渚")
    for who in ("drafter", "drafter2", "editor", "archivist"):
        assert found(app, "鼋", who) == names(docs, "rare"), who


def test_search_follows_the_read_policy(app, docs, monkeypatch):
    """Search restricts by readable_clause: whatever the policy hides, search hides."""
    import archive.search as module
    from sqlalchemy import false

    assert found(app, "鼋", AnonymousUserMixin()) == []
    monkeypatch.setattr(module, "readable_clause", lambda user, cls: false())
    assert found(app, "鼋", "archivist") == []
    assert found(app, "鼋") == names(docs, "rare")  # SYSTEM is not restricted


# --- the command line -----------------------------------------------------------------------


def test_cli_prints_the_results(app, docs):
    runner = app.test_cli_runner()
    result = runner.invoke(search_command, ["苏州", "元宇宙"])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [int(line[0]) for line in lines] == names(docs, "title_suzhou", "newest_body", "digital")
    assert lines[0][1] == "2022-05-10" and lines[0][4] == "苏州元宇宙产业发展观察"
    assert "【苏州】" in lines[1][5] and "【元宇宙】" in lines[1][5]
    assert "3 results on page 1" in result.stderr
    later = runner.invoke(search_command, ["苏州", "--year-from", "2024", "--limit", "2"])
    later_ids = [int(line.split("\t")[0]) for line in later.stdout.splitlines()]
    assert later_ids == names(docs, "html", "newest_body")
    assert "more with --page 2" in later.stderr
    rebuilt = runner.invoke(reindex_command)
    assert rebuilt.exit_code == 0 and f"{len(DOCS)} issued briefs" in rebuilt.output


# --- the query language, without a database -------------------------------------------------


@pytest.mark.parametrize("query, terms", [
    ("宇", [["宇"]]),
    ("苏州 元宇宙", [["苏", "州"], ["元", "宇", "宙"]]),
    ("苏州，元宇宙。", [["苏", "州"], ["元", "宇", "宙"]]),
    ('"数字 经济"', [["数", "字", "经", "济"]]),
    ("“苏州，元宇宙”", [["苏", "州", "\n", "元", "宇", "宙"]]),
    ("５Ｇ网络 AI", [["5g", "网", "络"], ["ai"]]),
    ("苏州 苏州", [["苏", "州"]]),
    ('""', []),
])
def test_parse_query(query, terms):
    assert [list(t) for t in parse_query(query).terms] == terms


def test_the_fast_tokeniser_agrees_with_the_reference():
    import random

    from archive.search import encode, fold, index_text, tokens

    alphabet = list("苏州市元宇宙，。、“”！？ \n\t　ＡＢａｂ１２AbZzcafé_-+*#（）①㎡ﬁİ\u0301\ufe00\u200b〇々カ가𠀀葛\U000e0100")
    alphabet += ["said", "zoom", "5G"]
    rng = random.Random(7)
    for _ in range(20000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert index_text(sample) == encode(tokens(fold(sample))), repr(sample)
