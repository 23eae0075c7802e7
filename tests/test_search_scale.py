"""Search in long briefs: PostgreSQL keeps at most 256 positions per token in a tsvector and
clamps positions at 16,383, so a phrase after the 256th 苏州 or beyond the 16,383rd token
would be missed (or, with clamped positions, falsely found). Run on both engines; the
PostgreSQL run is the one that failed before archive/search.py verified such briefs."""

from __future__ import annotations

import pytest
from tests.conftest import ENGINE
from tests.test_search import fast_publish, found  # noqa: F401  (a fixture)
from workflows.brief import State

# 200 different characters (each well under 256 times in 17,000), and none of the test's own.
FILLER = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 400) if chr(c) not in "苏州鼋鼍头渚")[:200]


def long_text(characters: int) -> str:
    return "".join(FILLER[i % len(FILLER)] for i in range(characters))


@pytest.mark.usefixtures("fast_publish")
def test_a_phrase_after_the_256th_occurrence_of_its_characters_is_found(app, make_brief):
    body = "苏州，" * 300 + "\n\n苏州鼋头渚风景区。"
    late = make_brief(State.PUBLISHED, title="关于太湖旅游的建议", body=body)
    assert found(app, "州鼋") == [late]
    assert found(app, "苏州鼋头渚") == [late]
    assert found(app, "鼋头渚 苏州") == [late]
    assert found(app, "州州") == []  # 苏州，苏州: never two 州 in a row


@pytest.mark.usefixtures("fast_publish")
def test_a_phrase_beyond_16383_positions_is_found_and_clamping_makes_no_false_hit(app, make_brief):
    body = long_text(17_000) + "。鼋鼍相逢，渚上。"
    far = make_brief(State.PUBLISHED, title="关于太湖生态的建议", body=body)
    assert found(app, "鼋鼍") == [far]
    assert found(app, "渚上") == [far]
    # Positions past 16,383 all read as 16,383 in a tsvector: the last filler character before
    # that point and 鼋 far after it would look adjacent.
    before_clamp = body[16_381]
    assert found(app, before_clamp + "鼋") == []
    assert found(app, "鼍鼋") == []


@pytest.mark.usefixtures("fast_publish")
def test_short_briefs_are_searched_as_before(app, make_brief):
    short = make_brief(State.PUBLISHED, title="关于苏州发展的建议", body="苏州鼋头渚。苏州，州市。")
    assert found(app, "州鼋") == [short]
    assert found(app, "州州") == []



@pytest.mark.usefixtures("fast_publish")
def test_quoted_phrases_with_punctuation_past_the_256th_break(app, make_brief):
    body = "苏州，" * 300 + "\n\n太湖，鼋头渚。"
    late = make_brief(State.PUBLISHED, title="关于太湖旅游的建议", body=body)
    assert found(app, '"太湖，鼋头渚"') == [late]
    assert found(app, '"太湖鼋头渚"') == []  # a break is not nothing
    assert found(app, '"州，苏"') == [late]
    assert found(app, '"州，鼋"') == []
    punctuated = make_brief(State.PUBLISHED, title="关于苏州、无锡协同发展的建议", body="正文。")
    assert found(app, '"苏州、无锡"') == [punctuated]  # in the title: ranked by the title index



@pytest.mark.usefixtures("fast_publish")
def test_postgresql_counts_matches_up_to_a_cap(app, make_brief, monkeypatch):
    import archive.search
    from archive.search import SYSTEM, search
    from extensions import db

    monkeypatch.setattr(archive.search, "COUNT_CAP", 3)
    ids = [make_brief(State.PUBLISHED, title=f"关于太湖第{n}项工作的建议", body="鼋头渚。") for n in range(6)]
    with app.app_context():
        page = search(db.session, SYSTEM, "鼋头渚", per_page=2)
        assert [h.brief.id for h in page.hits] == ids[::-1][:2] and page.has_more
        if ENGINE == "postgresql":
            assert (page.total, page.total_capped) == (3, True)
        else:
            assert (page.total, page.total_capped) == (6, False)
