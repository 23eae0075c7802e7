"""Character-level diffs of brief content, correct for Chinese.

Chinese has no spaces between words, so a word diff is meaningless and a line diff far too
coarse: reviewers need to see the one character an author changed. ``char_diff`` compares by
character; for long texts it first pairs up paragraphs (lines) and compares characters only
inside the paragraphs that changed, which keeps a 10,000-character body fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

__all__ = ["DiffOp", "FieldDiff", "char_diff", "diff_fields", "field_text"]

Op = Literal["equal", "insert", "delete"]

# Above this length (of the longer text) paragraphs are matched first.
LINE_FIRST_THRESHOLD = 5000


@dataclass(frozen=True, slots=True)
class DiffOp:
    op: Op
    text: str


@dataclass(frozen=True, slots=True)
class FieldDiff:
    key: str
    label: str
    ops: tuple[DiffOp, ...]
    changed: bool


def char_diff(old: str, new: str) -> list[DiffOp]:
    """The edit from ``old`` to ``new`` as equal / delete / insert runs of characters.

    Joining the ``equal`` and ``delete`` texts in order gives ``old``; joining ``equal`` and
    ``insert`` gives ``new``. Adjacent runs of the same kind are merged; within a changed
    stretch the deletion comes before the insertion.
    """
    old = old or ""
    new = new or ""
    if old == new:
        return [DiffOp("equal", old)] if old else []
    if max(len(old), len(new)) >= LINE_FIRST_THRESHOLD:
        ops = list(_line_first_diff(old, new))
    else:
        ops = list(_sequence_diff(old, new))
    return _align_to_punctuation(_semantic_cleanup(_normalise(ops)))


def _sequence_diff(old: str, new: str) -> Iterable[DiffOp]:
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            yield DiffOp("equal", old[i1:i2])
        else:
            if i2 > i1:
                yield DiffOp("delete", old[i1:i2])
            if j2 > j1:
                yield DiffOp("insert", new[j1:j2])


# Work bounds, as len(old) * len(new) of a block compared character by character: above the
# first a changed block is split further (into sentences); above the second, a block that has
# no smaller units in common is shown as deleted and inserted whole (a rewrite), so that no
# diff ties up a request for seconds.
_CHAR_WORK = 1_500_000
_MAX_CHAR_WORK = 9_000_000

_SENTENCE_RE = re.compile(r"[^。！？；\n]*(?:[。！？；]+[”’」』）]*|\n|$)")


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_RE.findall(text) if s]


def _line_first_diff(old: str, new: str) -> Iterable[DiffOp]:
    return _unit_diff(old, new, level=0)


def _unit_diff(old: str, new: str, level: int) -> Iterable[DiffOp]:
    """Match units (level 0: lines, 1: sentences), then compare inside the changed ones."""
    split = _lines if level == 0 else _sentences
    old_units, new_units = split(old), split(new)
    matcher = SequenceMatcher(None, old_units, new_units, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old_block = "".join(old_units[i1:i2])
        new_block = "".join(new_units[j1:j2])
        if tag == "equal":
            yield DiffOp("equal", old_block)
        elif tag == "delete":
            yield DiffOp("delete", old_block)
        elif tag == "insert":
            yield DiffOp("insert", new_block)
        elif i2 - i1 == j2 - j1 > 1:
            # As many units changed as were there: most likely each was edited in place.
            for old_unit, new_unit in zip(old_units[i1:i2], new_units[j1:j2]):
                yield from _block_diff(old_unit, new_unit, level + 1)
        else:
            yield from _block_diff(old_block, new_block, level + 1)


def _block_diff(old: str, new: str, level: int) -> Iterable[DiffOp]:
    work = len(old) * len(new)
    if work > _CHAR_WORK and level < 2:
        yield from _unit_diff(old, new, level)
    elif work > _MAX_CHAR_WORK:
        yield DiffOp("delete", old)
        yield DiffOp("insert", new)
    else:
        yield from _sequence_diff(old, new)


def _normalise(ops: Iterable[DiffOp]) -> list[DiffOp]:
    """Drop empty runs; in each stretch between equal runs put one delete then one insert."""
    result: list[DiffOp] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def flush() -> None:
        if deleted:
            result.append(DiffOp("delete", "".join(deleted)))
            deleted.clear()
        if inserted:
            result.append(DiffOp("insert", "".join(inserted)))
            inserted.clear()

    for op in ops:
        if not op.text:
            continue
        if op.op == "delete":
            deleted.append(op.text)
        elif op.op == "insert":
            inserted.append(op.text)
        else:
            flush()
            if result and result[-1].op == "equal":
                result[-1] = DiffOp("equal", result[-1].text + op.text)
            else:
                result.append(op)
    flush()
    return result


def _semantic_cleanup(ops: list[DiffOp]) -> list[DiffOp]:
    """Fold short coincidental matches inside a rewritten stretch into the change.

    A character-level matcher finds every shared character, so a rewritten sentence comes out
    as confetti (的, 发展, 。 kept, everything around them changed). As in diff-match-patch's
    semantic cleanup, an equal run no longer than the change on either side of it is shown as
    deleted and inserted instead.
    """
    changed = True
    while changed:
        changed = False
        for index in range(1, len(ops) - 1):
            op = ops[index]
            if op.op != "equal":
                continue
            before = _edit_size(ops, index, -1)
            after = _edit_size(ops, index, +1)
            if before and after and len(op.text) <= before and len(op.text) <= after:
                ops = _normalise(
                    ops[:index] + [DiffOp("delete", op.text), DiffOp("insert", op.text)] + ops[index + 1 :]
                )
                changed = True
                break
    return ops


# Where an edit may slide (inserting "第二句。" into "第一句。第三句。" matches equally well as
# "句。第二" after "第一"), prefer the place where it starts and ends after a line break or
# punctuation.
_SENTENCE_END = frozenset("。！？；")
_PAUSE = frozenset("，、：）】》」』”’,.;:!?)] \t\u3000")


def _boundary_score(char_before: str | None) -> int:
    if char_before is None or char_before == "\n":
        return 3  # start of a paragraph
    if char_before in _SENTENCE_END:
        return 2
    return 1 if char_before in _PAUSE else 0


def _align_to_punctuation(ops: list[DiffOp]) -> list[DiffOp]:
    """Slide each lone insert or delete between two equal runs to the best boundaries."""
    ops = list(ops)
    for index in range(1, len(ops) - 1):
        if ops[index].op == "equal" or ops[index - 1].op != "equal" or ops[index + 1].op != "equal":
            continue
        left, edit, right = ops[index - 1].text, ops[index].text, ops[index + 1].text
        # Slide as far left as the text allows …
        while left and left[-1] == edit[-1]:
            left, edit, right = left[:-1], left[-1] + edit[:-1], edit[-1] + right
        # … then try every position to the right.
        best = (left, edit, right)
        best_score = _boundary_score(left[-1] if left else None) + _boundary_score(edit[-1])
        while right and right[0] == edit[0]:
            left, edit, right = left + edit[0], edit[1:] + right[0], right[1:]
            score = _boundary_score(left[-1]) + _boundary_score(edit[-1])
            if score > best_score:
                best, best_score = (left, edit, right), score
        ops[index - 1] = DiffOp("equal", best[0])
        ops[index] = DiffOp(ops[index].op, best[1])
        ops[index + 1] = DiffOp("equal", best[2])
    return _normalise(ops)


def _edit_size(ops: list[DiffOp], index: int, step: int) -> int:
    """The larger of the deleted and inserted lengths in the changed stretch next to ``index``."""
    deleted = inserted = 0
    i = index + step
    while 0 <= i < len(ops) and ops[i].op != "equal":
        if ops[i].op == "delete":
            deleted += len(ops[i].text)
        else:
            inserted += len(ops[i].text)
        i += step
    return max(deleted, inserted)


def field_text(value: Any) -> str:
    """A content field's value as the text that is compared (lists joined with 、)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(str(item) for item in value)
    return str(value)


def diff_fields(
    old: Mapping[str, Any], new: Mapping[str, Any], fields: list[tuple[str, str]]
) -> list[FieldDiff]:
    """One ``FieldDiff`` per (key, label) in ``fields``, in that order."""
    result = []
    for key, label in fields:
        old_text = field_text(old.get(key))
        new_text = field_text(new.get(key))
        result.append(
            FieldDiff(key=key, label=label, ops=tuple(char_diff(old_text, new_text)), changed=old_text != new_text)
        )
    return result
