"""rendering.diff: character-level diffs for Chinese text."""

import random
import time

import pytest

from rendering.diff import DiffOp, FieldDiff, char_diff, diff_fields


def old_of(ops):
    return "".join(o.text for o in ops if o.op in ("equal", "delete"))


def new_of(ops):
    return "".join(o.text for o in ops if o.op in ("equal", "insert"))


def test_one_character_change():
    ops = char_diff("要加强我市产业发展的顶层设计。", "要加快我市产业发展的顶层设计。")
    assert ops == [
        DiffOp("equal", "要加"),
        DiffOp("delete", "强"),
        DiffOp("insert", "快"),
        DiffOp("equal", "我市产业发展的顶层设计。"),
    ]


def test_one_character_deleted():
    ops = char_diff("低空经济正成为新的增长点。", "低空经济正成为新增长点。")
    assert [o for o in ops if o.op != "equal"] == [DiffOp("delete", "的")]


def test_inserted_sentence():
    old = "从各地实践看，物流配送最先成熟。应急救援也在加快推进。"
    new = "从各地实践看，物流配送最先成熟。城市巡检的需求增长很快。应急救援也在加快推进。"
    assert char_diff(old, new) == [
        DiffOp("equal", "从各地实践看，物流配送最先成熟。"),
        DiffOp("insert", "城市巡检的需求增长很快。"),
        DiffOp("equal", "应急救援也在加快推进。"),
    ]


def test_deleted_sentence_aligns_to_sentence_end():
    old = "第一句。第二句。第三句。"
    new = "第一句。第三句。"
    assert char_diff(old, new) == [
        DiffOp("equal", "第一句。"),
        DiffOp("delete", "第二句。"),
        DiffOp("equal", "第三句。"),
    ]


def test_identical_texts_give_one_equal_op():
    text = "当前，低空经济正成为各地竞相培育的新增长点。"
    assert char_diff(text, text) == [DiffOp("equal", text)]


def test_empty_texts():
    assert char_diff("", "") == []
    assert char_diff("", "新增") == [DiffOp("insert", "新增")]
    assert char_diff("删除", "") == [DiffOp("delete", "删除")]


def test_diffop_is_frozen():
    with pytest.raises(AttributeError):
        DiffOp("equal", "甲").text = "乙"  # type: ignore[misc]


def assert_well_formed(ops, old, new):
    assert old_of(ops) == old
    assert new_of(ops) == new
    assert all(o.text for o in ops), "no empty runs"
    assert all(o.op in ("equal", "insert", "delete") for o in ops)
    for a, b in zip(ops, ops[1:]):
        assert a.op != b.op, f"adjacent {a.op} runs are not merged"
        assert not (a.op == "insert" and b.op == "delete"), "delete comes before insert"


CASES = [
    ("", ""),
    ("甲", "乙"),
    ("苏州作为制造业大市，如何把握发展机遇，值得研究。", "苏州作为经济强市，怎样抓住新的机遇，需要深入研究。"),
    ("一是规划先行；二是场景牵引；三是设施配套。", "一是场景牵引；二是规划先行；三是设施配套。"),
    ("发展发展发展", "发展发展"),
    ("第一段。\n第二段。\n第三段。", "第一段。\n第二段有改动。\n\n第四段。"),
    ("abc中文def", "abX中文dYf"),
    ("——深圳较早出台条例。", "——合肥设立专项基金。——深圳较早出台条例。"),
    ("“元宇宙”", "“低空经济”"),
    ("\u3000\u3000缩进", "缩进"),
]


@pytest.mark.parametrize(("old", "new"), CASES)
def test_ops_reassemble_both_texts(old, new):
    assert_well_formed(char_diff(old, new), old, new)
    assert_well_formed(char_diff(new, old), new, old)


def test_random_edits_reassemble():
    rng = random.Random(20220128)
    alphabet = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严。，、；：？！“”（）——"
    for _ in range(200):
        old = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        chars = list(old)
        for _ in range(rng.randint(0, 6)):
            kind = rng.choice("idr")
            pos = rng.randint(0, len(chars))
            if kind == "i":
                chars.insert(pos, rng.choice(alphabet))
            elif chars and pos < len(chars):
                if kind == "d":
                    del chars[pos]
                else:
                    chars[pos] = rng.choice(alphabet)
        new = "".join(chars)
        assert_well_formed(char_diff(old, new), old, new)


def long_text(paragraphs: int) -> str:
    rng = random.Random(31)
    sentences = [
        "当前，低空经济正成为各地竞相培育的新增长点。",
        "无人机物流、城市空中交通等新业态加快涌现。",
        "我市制造业基础雄厚，产业配套齐全。",
        "要坚持长短结合、久久为功，避免一哄而上。",
        "场景应用是低空经济的生命线。",
        "基础设施和规则体系决定发展的上限。",
        "从长远看，竞争归根到底是产业生态的竞争。",
    ]
    return "\n".join(
        "".join(rng.choice(sentences) for _ in range(rng.randint(4, 9))) for _ in range(paragraphs)
    )


def test_long_text_with_small_edits_is_fast_and_correct():
    old = long_text(40)
    while len(old) < 6000:
        old += "\n" + long_text(5)
    assert len(old) >= 6000
    lines = old.split("\n")
    lines[3] = lines[3].replace("雄厚", "坚实", 1) if "雄厚" in lines[3] else lines[3] + "补充。"
    lines[17] = "新增的一段话，说明有关情况。\n" + lines[17]
    lines[30] = lines[30][:10] + lines[30][12:]
    del lines[35]
    new = "\n".join(lines)

    started = time.perf_counter()
    ops = char_diff(old, new)
    elapsed = time.perf_counter() - started

    assert_well_formed(ops, old, new)
    assert elapsed < 2.0
    changed = sum(len(o.text) for o in ops if o.op != "equal")
    assert changed < 400, "small edits give a small diff"
    assert DiffOp("insert", "新增的一段话，说明有关情况。\n") in ops


def test_long_single_character_change_is_exact():
    old = long_text(50)
    assert len(old) > 5000
    index = old.index("雄厚")
    new = old[:index] + "坚" + old[index + 1 :]
    ops = char_diff(old, new)
    assert [o for o in ops if o.op != "equal"] == [DiffOp("delete", "雄"), DiffOp("insert", "坚")]
    assert_well_formed(ops, old, new)


def test_diff_fields():
    old = {"title": "关于加快培育低空经济的建议", "special_report": ["王建国书记", "李明代市长"],
           "supplement": False, "body": "正文。", "urgency": None}
    new = {"title": "关于加快培育我市低空经济的建议", "special_report": ["王建国书记", "李明代市长", "赵秘书长"],
           "supplement": False, "body": "正文。", "urgency": "特急"}
    fields = [("title", "标题"), ("special_report", "本期专报"), ("supplement", "增刊"), ("body", "正文"),
              ("urgency", "紧急程度")]
    diffs = diff_fields(old, new, fields)
    assert [d.key for d in diffs] == ["title", "special_report", "supplement", "body", "urgency"]
    assert [d.label for d in diffs] == ["标题", "本期专报", "增刊", "正文", "紧急程度"]
    assert all(isinstance(d, FieldDiff) for d in diffs)
    by_key = {d.key: d for d in diffs}
    assert by_key["title"].changed
    assert [o for o in by_key["title"].ops if o.op != "equal"] == [DiffOp("insert", "我市")]
    assert by_key["special_report"].changed
    assert list(by_key["special_report"].ops) == [
        DiffOp("equal", "王建国书记、李明代市长"), DiffOp("insert", "、赵秘书长")]
    assert not by_key["supplement"].changed
    assert not by_key["body"].changed
    assert list(by_key["body"].ops) == [DiffOp("equal", "正文。")]
    assert list(by_key["urgency"].ops) == [DiffOp("insert", "特急")]


def test_diff_fields_missing_key_is_empty():
    diffs = diff_fields({}, {"title": "新标题"}, [("title", "标题")])
    assert diffs[0].changed and list(diffs[0].ops) == [DiffOp("insert", "新标题")]


def test_long_text_term_replaced_everywhere():
    old = long_text(60)
    new = old.replace("产业", "行业")
    assert old != new and len(old) > 5000
    ops = char_diff(old, new)
    assert_well_formed(ops, old, new)
    assert {(o.op, o.text) for o in ops if o.op != "equal"} == {("delete", "产"), ("insert", "行")}


def test_long_rewrite_stays_fast():
    old = long_text(60)
    new = long_text(70)[::-1]
    for a, b in ((old, new), (old.replace("\n", ""), new.replace("\n", ""))):
        started = time.perf_counter()
        ops = char_diff(a, b)
        assert time.perf_counter() - started < 2.0
        assert_well_formed(ops, a, b)


def test_long_random_texts_reassemble():
    rng = random.Random(7)
    for _ in range(5):
        old = long_text(60)
        chars = list(old)
        for _ in range(30):
            pos = rng.randrange(len(chars))
            action = rng.choice(["insert", "delete", "newline"])
            if action == "insert":
                chars.insert(pos, rng.choice("新增改动。，\n"))
            elif action == "delete":
                del chars[pos]
            else:
                chars.insert(pos, "\n")
        new = "".join(chars)
        assert_well_formed(char_diff(old, new), old, new)
