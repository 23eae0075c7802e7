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

__all__ = ["BlockDiff", "BodyDiff", "DiffOp", "FieldDiff", "Piece", "body_diff", "change_count", "char_diff",
           "diff_fields", "field_text"]

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


# --- The body as the reader sees it: formatted blocks, changes counted ------------------------

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*)$")
_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True, slots=True)
class Piece:
    op: Op
    text: str
    bold: bool


@dataclass(frozen=True, slots=True)
class BlockDiff:
    """One paragraph or heading of the body: `kind` is "p" or "h1".."h6"; `changed` whether
    anything in it differs; `pieces` the text in runs, bold where the Markdown said **…**."""

    kind: str
    changed: bool
    pieces: tuple[Piece, ...]


@dataclass(frozen=True, slots=True)
class BodyDiff:
    blocks: tuple[BlockDiff, ...]
    changes: int  # stretches of changed text, as a reviewer counts them

    def with_context(self, around: int = 1) -> list[BlockDiff | None]:
        """Only the changed blocks and `around` blocks either side; None where some are left out."""
        keep = set()
        for index, block in enumerate(self.blocks):
            if block.changed:
                keep.update(range(max(0, index - around), min(len(self.blocks), index + around + 1)))
        shown: list[BlockDiff | None] = []
        for index, block in enumerate(self.blocks):
            if index in keep:
                shown.append(block)
            elif shown and shown[-1] is not None or (not shown and keep):
                shown.append(None)
        while shown and shown[-1] is None:
            shown.pop()
        return shown


def _markdown_blocks(text: str) -> list[tuple[str, str, tuple[bool, ...]]]:
    """(kind, text without the markup, which characters are bold) per non-empty block."""
    blocks = []
    for raw in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n")):
        raw = raw.strip()
        if not raw:
            continue
        kind = "p"
        heading = _HEADING_RE.match(raw)
        if heading:
            kind, raw = f"h{len(heading.group(1))}", heading.group(2)
        plain, mask, last = [], [], 0
        for match in _BOLD_RE.finditer(raw):
            plain.append(raw[last:match.start()])
            mask += [False] * (match.start() - last)
            plain.append(match.group(1))
            mask += [True] * len(match.group(1))
            last = match.end()
        plain.append(raw[last:])
        mask += [False] * (len(raw) - last)
        blocks.append((kind, "".join(plain), tuple(mask)))
    return blocks


def _pieces(ops: list[DiffOp], old_mask: tuple[bool, ...], new_mask: tuple[bool, ...]) -> list[Piece]:
    """Split the runs where boldness changes: deleted text takes the old text's, the rest the new's."""
    pieces: list[Piece] = []
    i = j = 0  # positions in the old and new text
    for op in ops:
        for char in op.text:
            if op.op == "delete":
                bold = old_mask[i] if i < len(old_mask) else False
                i += 1
            else:
                bold = new_mask[j] if j < len(new_mask) else False
                j += 1
                if op.op == "equal":
                    i += 1
            if pieces and pieces[-1].op == op.op and pieces[-1].bold == bold:
                pieces[-1] = Piece(op.op, pieces[-1].text + char, bold)
            else:
                pieces.append(Piece(op.op, char, bold))
    return pieces


def _stretches(ops: Iterable[DiffOp]) -> int:
    count, inside = 0, False
    for op in ops:
        if op.op == "equal":
            inside = False
        elif not inside:
            count, inside = count + 1, True
    return count


def body_diff(old: str, new: str) -> BodyDiff:
    """The body's change as formatted blocks (headings, bold as in the text; no raw Markdown),
    character-level inside each changed block, with the number of changed stretches."""
    old_blocks, new_blocks = _markdown_blocks(old), _markdown_blocks(new)
    matcher = SequenceMatcher(None, [b[:2] for b in old_blocks], [b[:2] for b in new_blocks], autojunk=False)
    result: list[BlockDiff] = []
    changes = 0

    def pair(o: tuple[str, str, tuple[bool, ...]] | None, n: tuple[str, str, tuple[bool, ...]] | None) -> None:
        nonlocal changes
        old_text, old_mask = (o[1], o[2]) if o else ("", ())
        new_text, new_mask = (n[1], n[2]) if n else ("", ())
        ops = char_diff(old_text, new_text) if o and n else (
            [DiffOp("delete", old_text)] if o else [DiffOp("insert", new_text)])
        kind_changed = bool(o and n and o[0] != n[0])
        stretches = _stretches(ops) or (1 if kind_changed else 0)
        changes += stretches
        result.append(BlockDiff((n or o)[0], bool(stretches), tuple(_pieces(ops, old_mask, new_mask))))  # type: ignore[index]

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for o, n in zip(old_blocks[i1:i2], new_blocks[j1:j2]):
                pair(o, n)
            continue
        olds, news = old_blocks[i1:i2], new_blocks[j1:j2]
        for k in range(max(len(olds), len(news))):
            pair(olds[k] if k < len(olds) else None, news[k] if k < len(news) else None)
    return BodyDiff(tuple(result), changes)


def change_count(diff: FieldDiff) -> int:
    """Changed stretches in one field (the body is counted by body_diff)."""
    return _stretches(diff.ops)
