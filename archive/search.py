"""Full-text search over the archive (DESIGN.md, "Archive"): title, body, 本期专报 names, 署名
(author line) and keywords of every issued brief, for Chinese queries of any length.

The API does not depend on the engine, so views and commands never see SQL:

    index_brief(session, brief)       index (or re-index) one brief as it is now
    remove_brief(session, brief_id)   drop it from the index
    rebuild_index(session) -> int     wipe and rebuild from the briefs table
    search(session, user, "苏州 元宇宙", series_id=…, year_from=…, page=…) -> SearchPage

What is searched
    Issued briefs only (published and archived): the archive. On top of that every search is
    restricted by `workflows.policy.readable_clause(user, Brief)`, so search never shows a brief
    that its page would refuse; classification rules added to the policy apply here unchanged.
    `SYSTEM` (the command line) searches the whole archive.

Tokenisation: one token per Chinese character, indexed as a phrase
    Chinese has no spaces, and the requirement is substring-like search for one character (宇),
    two (苏州) and more (元宇宙产业). The options, and why this one:
    - SQLite's trigram tokenizer matches nothing for queries under three characters, and is
      large; PostgreSQL's pg_trgm likewise needs three characters (and ignores CJK under the C
      locale).
    - Character bigrams need a special case for one-character queries and still miss a
      character at the end of a run; they double the number of postings.
    - A segmenter (jieba) finds words, not substrings: 苏州市 segments as one word, so 苏州 or
      州市 find nothing, a new term (元宇宙 in 2020) is split until the dictionary learns it,
      and index and query must agree on a dictionary version. Officials search for names and
      terms as they appear in the text, i.e. substrings.
    So the text is pre-tokenised in Python: every CJK character (ideographs, kana, Hangul:
    code points from U+2E80 on) is its own token; runs of other letters and digits (Latin,
    numbers: "5G", "2024") stay words; punctuation and line breaks become a break token, so a
    phrase never matches across "，" or a paragraph end; other whitespace, combining marks and
    format characters are ignored. Text is folded first, character by character (NFKC and
    lower case: ＡＩ → ai, full-width digits → digits, compatibility ideographs → unified).
    A query term of n characters is a phrase of n single-character tokens (adjacent positions),
    so 宇, 苏州 and 元宇宙产业 all work, with no false hits: 苏州 does not match 江苏、杭州.
    Several terms (苏州 元宇宙) must all match, anywhere in the brief; "a quoted phrase" is one
    phrase, spaces and punctuation inside it included. Latin words match whole words.

    Tokens are written in ASCII (a CJK character as "z" + its hex code point; see `_encode_token`) so
    that both engines split them identically whatever their Unicode tables or locale: SQLite
    FTS5 with the `ascii` tokenizer, PostgreSQL's `simple` text search configuration.

Schema (migration 2c7e5a9d41f3; none of it is in the models, see `include_name`)
    search_doc    one row per indexed brief: brief_id (ON DELETE CASCADE), sort_key, digest.
    SQLite:       search_title, search_text: contentless FTS5 tables (content='',
                  columnsize=0) over the tokens of the title and of everything (title, 专报
                  names, keywords, 署名, body), rowid = sort_key. Contentless keeps the index
                  small (the text is stored once, in `brief`); a row is deleted by giving FTS5
                  the tokens it was indexed with, recomputed from the brief and checked against
                  `digest`. If they no longer agree the FTS row is left behind as an orphan,
                  invisible because searches join through search_doc; `rebuild_index` purges.
    PostgreSQL:   search_doc also holds title_vec and text_vec (tsvector, GIN-indexed); phrases
                  are tsquery `<->` over the same tokens, so both engines find the same briefs
                  (the tests run on both; pg_trgm was rejected as above).
    Long briefs on PostgreSQL (migration 7b2e9f4c1a06): a tsvector keeps at most 256
                  positions per token and clamps positions at 16,383, so past the 256th 苏州
                  or the 16,383rd token a phrase would be missed, or (two clamped tokens look
                  adjacent) falsely found. Two measures:
                  - the break token, the one token every brief has hundreds of, is written
                    in the tsvector as one of numbered variants (zq0 for breaks 1–200, zq1
                    for the next 200, …), so no variant passes 256; a phrase's break is
                    (zq0 | zq1 | …) in the tsquery.
                  - a brief in which some other token, or the position, comes near a limit is
                    `lossy`: its row also keeps its token string (`words`), and for it a
                    phrase is a substring test on that string (" z82cf z5dde "), exact at any
                    length, once the tsvector has found every token of the query (lexemes are
                    never dropped, only positions). A 3,000-character brief's most frequent
                    character occurs ~50 times, so lossy briefs are the few very long ones,
                    and the cost is theirs alone (tests/test_search_scale.py, bench/README.md).

Ranking without scoring every match
    Title hits first (the title contains every term), then body hits; each group newest first.
    "Newest first" is made free: sort_key = issue date as YYYYMMDD << 24 | a 24-bit sequence
    number, and the FTS rowid is the sort key, so `ORDER BY rowid DESC LIMIT 21` walks the
    posting lists backwards from the newest brief and stops after 21 matches, however many
    briefs match (市 matches nearly all). The title group walks the small title index; the body
    group walks the full index, skipping the (materialised) title matches. No count is taken:
    a page says whether there is a next one (`has_more`); pages beyond the 10,000th result are
    not served. A year range narrows the walk with a rowid range. The sequence number comes
    from search_doc's AUTOINCREMENT (SQLite) or its sequence (PostgreSQL) and is never reused,
    so a new row can never collide with an orphan. (bench/search.py: 100,000 briefs, first page
    in 6–35 ms at p95 for every query kind.)

Snippets
    Built in Python from the brief's plain text (`rendering.markdown.plain_text`), not from the
    tokens: the folded text has the same length as the original, so a match found in it marks
    the original characters. The window (about 120 characters) is the one showing most of the
    query's terms, starting a little before the first; hits are wrapped in <mark>, everything
    else is escaped. A hit found only in 专报 names, keywords or 署名 gets those as snippet.
    Only the Markdown block (paragraph) holding the hits is rendered, not the whole body.

Keeping in sync
    An ORM `after_flush` listener (registered when this module is imported: app.py imports it)
    indexes a brief when it becomes issued (publish, import) and re-indexes it if its indexed
    fields change, inside the same transaction: a rolled-back publish leaves no index row. A
    brief deleted through the session is removed in `before_flush`; one deleted with SQL loses
    its search_doc row by the foreign key's cascade.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    case,
    column,
    event,
    exists,
    func,
    inspect,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session, lazyload

from models import Brief
from rendering.markdown import plain_text
from workflows.policy import ISSUED_STATES, readable_clause

__all__ = [
    "SYSTEM", "Hit", "Query", "SearchPage", "include_name", "index_brief", "parse_query", "rebuild_index",
    "remove_brief", "search", "snippet", "body_snippet", "highlight",
]

ISSUED = tuple(sorted(s.value for s in ISSUED_STATES))
# The fields whose text is indexed; issue_date decides the sort key.
INDEXED_FIELDS = ("title", "author_line", "special_report", "keywords", "body", "issue_date")

SEQ_BITS = 24
SEQ_MASK = (1 << SEQ_BITS) - 1

MAX_QUERY_CHARS = 200
MAX_TERMS = 10
MAX_PER_PAGE = 100
MAX_RESULTS = 10_000  # deeper pages are not served: refine the query instead
SNIPPET_CHARS = 120
SNIPPET_LEAD = 20

# ---------------------------------------------------------------------------------------------
# Folding and tokens
# ---------------------------------------------------------------------------------------------

CJK_START = 0x2E80  # CJK radicals onwards: ideographs, kana, Hangul, Yi, compatibility forms
BREAK = "\n"  # the break token (punctuation, line ends), as it appears in token lists


class _FoldTable(dict[int, str]):
    """str.translate table, filled on demand: NFKC + lower case, one character at a time.

    One character in, one out, so offsets in the folded text are offsets in the original
    (snippets rely on it). A character whose folding would change the length stays as it is.
    Combining marks (variation selectors after an ideograph, accents) and format characters
    (zero-width space, soft hyphen) become spaces: ignored between tokens.
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if unicodedata.category(char)[0] == "M" or unicodedata.category(char) == "Cf":
            value = " "
        else:
            folded = unicodedata.normalize("NFKC", char).lower()
            value = folded if len(folded) == 1 else char
        self[code] = value
        return value


_FOLD = _FoldTable()


def fold(text: str) -> str:
    return text.translate(_FOLD)


_CJK = r"[^\W_\x00-\u2e7f]"  # a letter or digit from U+2E80 on: one token per character
_WORD_CHAR = r"[^\W_\u2e80-\U0010ffff]"  # other letters and digits, grouped into words
_BRK = r"(?:[^\w\s]|_|\n)"  # punctuation, symbols, line ends
_SP = r"[^\S\n]*"  # ignored: spaces (and what folding turned into spaces)
_TOKEN_RE = re.compile(rf"{_CJK}|{_WORD_CHAR}+|{_BRK}(?:{_SP}{_BRK})*")


def tokens(folded: str) -> list[str]:
    """The tokens of folded text: CJK characters, words, and BREAK for a run of punctuation."""
    out: list[str] = []
    for tok in _TOKEN_RE.findall(folded):
        if tok[0].isalnum():
            out.append(tok)
        elif out and out[-1] != BREAK:
            out.append(BREAK)
    if out and out[-1] == BREAK:
        out.pop()
    return out


def _encode_token(tok: str) -> str:
    """A token as an ASCII word both engines split alike, distinct for distinct tokens:
    CJK "z" + hex code point (z82cf); BREAK "z"; ASCII words as they are, with a "z" put before
    one that starts with z (zoom → zzoom); other words "zx" + hex of their UTF-8 (café)."""
    if tok == BREAK:
        return "z"
    if ord(tok[0]) >= CJK_START:
        return f"z{ord(tok[0]):x}"
    if tok.isascii():
        return "z" + tok if tok[0] == "z" else tok
    return "zx" + tok.encode("utf-8").hex()


class _EncodeTable(dict[str, str]):
    def __missing__(self, tok: str) -> str:
        value = _encode_token(tok)
        if len(tok) == 1:  # bounded: characters only
            self[tok] = value
        return value


_ENCODED = _EncodeTable()


def encode(toks: Iterable[str]) -> str:
    return " ".join([_ENCODED[t] for t in toks])


class _IndexTable(dict[int, str]):
    """str.translate table folding and encoding in one pass (the fast path of `index_text`):
    a CJK character becomes " Z<hex> ", punctuation " Z ", other whitespace " ", letters and
    digits of words stay (folded). Upper-case Z marks what was encoded: folded text has none."""

    def __missing__(self, code: int) -> str:
        char = fold(chr(code))
        if char.isalnum():
            value = f" Z{ord(char):x} " if ord(char) >= CJK_START else char
        elif char == "\n" or not char.isspace():
            value = " Z "
        else:
            value = " "
        self[code] = value
        return value


_INDEX_TABLE = _IndexTable()


def index_text(text: str) -> str:
    """What the engines index for `text`: its tokens, encoded, separated by spaces.

    Equal to `encode(tokens(fold(text)))` (the tests check it), computed with C-speed string
    operations: a brief has thousands of tokens.
    """
    translated = text.translate(_INDEX_TABLE)
    words = translated.split()
    if "z" in translated or not translated.isascii():  # words to escape as _encode_token does
        words = [_encode_token(w) if w[0] == "z" or not w.isascii() else w for w in words]
    joined = f" {' '.join(words)} "
    while " Z Z " in joined:  # a run of punctuation is one break
        joined = joined.replace(" Z Z ", " Z ")
    if joined.startswith(" Z "):
        joined = joined[2:]
    if joined.endswith(" Z "):
        joined = joined[:-2]
    return joined.strip().lower()


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------

_QUOTE_RE = re.compile(r'["“”]')


@dataclass(frozen=True)
class Query:
    """A parsed query: every term must match; a term is a phrase (a sequence of tokens)."""

    text: str
    terms: tuple[tuple[str, ...], ...]

    def __bool__(self) -> bool:
        return bool(self.terms)

    @cached_property
    def fts5(self) -> str:
        return " AND ".join(f'"{encode(term)}"' for term in self.terms)

    @cached_property
    def tsquery(self) -> str:
        """PostgreSQL: each term a phrase; a break matches any of its numbered variants."""
        return " & ".join(f"({' <-> '.join(_pg_token(t) for t in term)})" for term in self.terms)

    @cached_property
    def tsquery_tokens(self) -> str:
        """Every token of every term, in any order: what a lossy tsvector can still answer."""
        found = dict.fromkeys(_ENCODED[t] for term in self.terms for t in term if t != BREAK)
        return " & ".join(found) or _pg_token(BREAK)

    @cached_property
    def phrases(self) -> tuple[str, ...]:
        """Each term as it appears in a token string, spaces around (a substring test)."""
        return tuple(f" {encode(term)} " for term in self.terms)

    @cached_property
    def patterns(self) -> tuple[re.Pattern[str], ...]:
        """One regular expression per term, over folded text, matching what the index matches."""
        return tuple(_term_pattern(term) for term in self.terms)


def _term_pattern(term: Sequence[str]) -> re.Pattern[str]:
    parts = []
    for tok in term:
        if tok == BREAK:
            parts.append(f"{_BRK}(?:{_SP}{_BRK})*")
        elif ord(tok[0]) >= CJK_START:
            parts.append(re.escape(tok))
        else:  # a whole word: no letter or digit of its kind right before or after
            parts.append(f"(?<!{_WORD_CHAR}){re.escape(tok)}(?!{_WORD_CHAR})")
    return re.compile(_SP.join(parts))


def parse_query(query_text: str) -> Query:
    """Terms separated by spaces or punctuation must all match; "…" (or “…”) is one phrase.

    A term is matched as a phrase of its characters: 元宇宙产业 finds the five characters in a
    row. Inside quotes spaces are ignored and punctuation must match punctuation.
    """
    folded = fold((query_text or "")[:MAX_QUERY_CHARS])
    terms: list[tuple[str, ...]] = []
    for i, part in enumerate(_QUOTE_RE.split(folded)):
        if i % 2:  # inside quotes: one phrase
            candidates = [tuple(tokens(part))]
        else:
            candidates = []
            for word in part.split():
                run: list[str] = []
                for tok in tokens(word) + [BREAK]:
                    if tok == BREAK:
                        if run:
                            candidates.append(tuple(run))
                        run = []
                    else:
                        run.append(tok)
        for term in candidates:
            if term and term not in terms:
                terms.append(term)
    return Query(query_text or "", tuple(terms[:MAX_TERMS]))


# ---------------------------------------------------------------------------------------------
# Snippets
# ---------------------------------------------------------------------------------------------


def _spans(folded: str, query: Query) -> list[tuple[int, int, int]]:
    """(start, end, term number) of every match of every term, in text order."""
    found = []
    for number, pattern in enumerate(query.patterns):
        found.extend((m.start(), m.end(), number) for m in pattern.finditer(folded) if m.end() > m.start())
    found.sort()
    return found


def _render(text: str, start: int, end: int, spans: Iterable[tuple[int, int, int]]) -> Markup:
    out: list[str] = []
    pos = start
    for s, e, _ in spans:
        s, e = max(s, pos), min(e, end)
        if s >= e:
            continue
        out.append(escape(text[pos:s]))
        out.append(Markup("<mark>") + escape(text[s:e]) + Markup("</mark>"))
        pos = e
    out.append(escape(text[pos:end]))
    return Markup("").join(out)


def highlight(text: str, query: Query) -> Markup:
    """All of `text`, escaped, with every hit in <mark>."""
    return _render(text, 0, len(text), _spans(fold(text), query))


def snippet(text: str, query: Query, width: int = SNIPPET_CHARS) -> Markup | None:
    """A window of `text` around the hits (None if there is none), hits in <mark>, escaped."""
    spans = _spans(fold(text), query)
    if not spans:
        return None
    best, best_count = spans[0][0], 0
    for s, _, _ in spans[:50]:
        start = max(0, s - SNIPPET_LEAD)
        count = len({n for (s2, e2, n) in spans if s2 >= start and e2 <= start + width})
        if count > best_count:
            best, best_count = s, count
    start = max(0, best - SNIPPET_LEAD)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    # Do not cut a hit in two at the window's start.
    for s, e, _ in spans:
        if s < start < e:
            start = s
    body = _render(text.replace("\n", " "), start, end, spans)
    return Markup("…" if start > 0 else "") + body + Markup("…" if end < len(text) else "")


def _lead(text: str, width: int = SNIPPET_CHARS) -> Markup:
    text = text.replace("\n", " ")
    return escape(text[:width]) + Markup("…" if len(text) > width else "")


# Snippets of a body: rendering a whole brief's Markdown to plain text takes a millisecond or
# two, twenty times a page; so only the paragraph (block) that holds the hits is rendered, plus
# what follows it to fill the window. Blocks whose raw text lacks a term's characters are
# skipped without rendering; a page of snippets then costs a few milliseconds.
_BLOCK_RE = re.compile(r"\n[ \t]*\n")
_CANDIDATES_TRIED = 8


def _blocks(source: str) -> list[str]:
    return [b for b in _BLOCK_RE.split(source) if b.strip()]


def _filled(blocks: list[str], first: int, width: int, rendered: str | None = None) -> str:
    """Plain text of blocks[first] (`rendered` if given), then the next blocks until about `width`
    characters."""
    parts, length = [], 0
    for number in range(first, len(blocks)):
        parts.append(rendered if number == first and rendered is not None else plain_text(blocks[number]))
        length += len(parts[-1]) + 1
        if length >= width:
            break
    return "\n".join(p for p in parts if p)


def body_snippet(source: str, query: Query, width: int = SNIPPET_CHARS) -> Markup | None:
    """`snippet` of a Markdown body, rendering only the blocks it needs: the first block that
    holds every term, else the block that holds most of them."""
    blocks = _blocks(source)
    needles = [[t for t in term if t != BREAK] for term in query.terms]
    partial = []
    for number, block in enumerate(blocks):
        folded = fold(block)
        count = sum(1 for term in needles if all(t in folded for t in term))
        if not count:
            continue
        if count == len(needles):
            text_ = plain_text(block)
            if len({n for (_, _, n) in _spans(fold(text_), query)}) == count:
                return snippet(_filled(blocks, number, width + len(text_), text_), query, width)
        partial.append((-count, number))
    for _, number in sorted(partial)[:_CANDIDATES_TRIED]:
        text_ = plain_text(blocks[number])
        if _spans(fold(text_), query):
            return snippet(_filled(blocks, number, width + len(text_), text_), query, width)
    if len(partial) > _CANDIDATES_TRIED:
        return snippet(plain_text(source), query, width)
    return None


def body_lead(source: str, width: int = SNIPPET_CHARS) -> Markup:
    return _lead(_filled(_blocks(source), 0, width), width)


# ---------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Document:
    brief_id: int
    issue_date: date
    title: str  # encoded tokens
    text: str
    digest: str


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def _document(brief_id: int, fields: Mapping[str, Any]) -> _Document:
    title = fields.get("title") or ""
    parts = [title, *_as_list(fields.get("special_report")), *_as_list(fields.get("keywords")),
             fields.get("author_line") or "", plain_text(fields.get("body") or "")]
    title_tokens = index_text(title)
    text_tokens = index_text("\n".join(parts))
    digest = hashlib.blake2b(f"{title_tokens}\x1f{text_tokens}".encode(), digest_size=16).hexdigest()
    return _Document(brief_id, fields["issue_date"], title_tokens, text_tokens, digest)


def date_key(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def sort_key(day: date, seq: int) -> int:
    if not 0 < seq <= SEQ_MASK:
        raise OverflowError("search index sequence exhausted: run `flask --app app archive reindex`")
    return date_key(day) << SEQ_BITS | seq


def _current_fields(brief: Brief) -> dict[str, Any]:
    return {name: getattr(brief, name) for name in INDEXED_FIELDS}


def _committed_fields(brief: Brief) -> dict[str, Any]:
    """The indexed fields as the database held them before this flush's changes."""
    state = inspect(brief)
    values = {}
    for name in INDEXED_FIELDS:
        history = state.attrs[name].history
        if history.deleted:
            values[name] = history.deleted[0]
        elif history.unchanged:
            values[name] = history.unchanged[0]
        else:
            values[name] = getattr(brief, name)
    return values


# ---------------------------------------------------------------------------------------------
# The two engines
# ---------------------------------------------------------------------------------------------

SEARCH_TABLES = frozenset({"search_doc", "search_title", "search_text"})
_FTS5_SHADOW = ("data", "idx", "config", "docsize", "content")


def is_search_table(name: str | None) -> bool:
    if name in SEARCH_TABLES:
        return True
    return any(name == f"{fts}_{suffix}" for fts in ("search_title", "search_text")
               for suffix in _FTS5_SHADOW)


def include_name(name: str | None, type_: str, parent_names: Mapping[str, Any]) -> bool:
    """For Alembic (`include_name`): the search index is built by its migration and the code
    here, not by the models, so autogenerate and schema comparisons leave it alone."""
    return not (type_ == "table" and is_search_table(name))


_doc = table("search_doc", column("id"), column("brief_id"), column("sort_key"), column("digest"),
             column("title_vec"), column("text_vec"), column("lossy"), column("words"))
_fts_title = table("search_title", column("rowid"))
_fts_text = table("search_text", column("rowid"))
_brief = Brief.__table__


def _dialect(conn: Connection) -> str:
    return conn.dialect.name


def _next_seqs(conn: Connection, count: int) -> list[int]:
    if _dialect(conn) == "postgresql":
        return list(conn.execute(
            text("SELECT nextval(pg_get_serial_sequence('search_doc', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        ).scalars())
    last = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'search_doc'")).scalar() or 0
    return list(range(last + 1, last + 1 + count))


# A PostgreSQL tsvector keeps this many positions per token, and positions up to this one;
# a brief within a margin of either is indexed as lossy (see the module's docstring).
PG_MAX_POSITIONS_PER_TOKEN = 256
PG_MAX_POSITION = 16_383
LOSSY_MARGIN = 8


COUNT_CAP = 1000  # PostgreSQL: the most matches a search counts
BREAKS_PER_VARIANT = 200
_BREAK_VARIANTS = " | ".join(f"zq{n}" for n in range(PG_MAX_POSITION // BREAKS_PER_VARIANT + 1))


def _pg_token(tok: str) -> str:
    return f"({_BREAK_VARIANTS})" if tok == BREAK else _ENCODED[tok]


def pg_words(tokens_text: str) -> tuple[str, bool]:
    """The tokens as PostgreSQL indexes them (the n-th break as zq<n // 200>), and whether
    its tsvector would lose or clamp positions (the brief is then `lossy`)."""
    words = tokens_text.split()
    breaks = 0
    for i, word in enumerate(words):
        if word == "z":
            words[i] = f"zq{breaks // BREAKS_PER_VARIANT}"
            breaks += 1
    lossy = len(words) >= PG_MAX_POSITION - LOSSY_MARGIN or (
        len(words) - breaks >= PG_MAX_POSITIONS_PER_TOKEN - LOSSY_MARGIN
        and max(Counter(w for w in words if not w.startswith("zq")).values())
        >= PG_MAX_POSITIONS_PER_TOKEN - LOSSY_MARGIN)
    return " ".join(words), lossy


def _insert(conn: Connection, docs: Sequence[_Document], seqs: Sequence[int]) -> None:
    rows = [
        {"id": seq, "brief_id": d.brief_id, "sort_key": sort_key(d.issue_date, seq), "digest": d.digest,
         "title": d.title, "text": d.text}
        for d, seq in zip(docs, seqs, strict=True)
    ]
    if not rows:
        return
    if _dialect(conn) == "postgresql":
        for row in rows:
            row["words"] = row["text"] if (pg := pg_words(row["text"]))[1] else None
            row["text"], row["lossy"] = pg
            row["title"] = pg_words(row["title"])[0]  # short: never lossy
        conn.execute(text(
            "INSERT INTO search_doc (id, brief_id, sort_key, digest, title_vec, text_vec, lossy, words) VALUES "
            "(:id, :brief_id, :sort_key, :digest, to_tsvector('simple', :title), to_tsvector('simple', :text), "
            ":lossy, :words)"
        ), rows)
        return
    conn.execute(text("INSERT INTO search_doc (id, brief_id, sort_key, digest) "
                      "VALUES (:id, :brief_id, :sort_key, :digest)"), rows)
    conn.execute(text("INSERT INTO search_title (rowid, words) VALUES (:sort_key, :title)"), rows)
    conn.execute(text("INSERT INTO search_text (rowid, words) VALUES (:sort_key, :text)"), rows)


def _remove(conn: Connection, brief_id: int, fields: Mapping[str, Any] | None) -> None:
    row = conn.execute(
        select(_doc.c.id, _doc.c.sort_key, _doc.c.digest).where(_doc.c.brief_id == brief_id)
    ).first()
    if row is None:
        return
    if _dialect(conn) == "sqlite" and fields is not None and fields.get("issue_date") is not None:
        old = _document(brief_id, fields)
        if old.digest == row.digest:  # else: leave an orphan rather than corrupt the index
            values = {"key": row.sort_key, "title": old.title, "text": old.text}
            conn.execute(text("INSERT INTO search_title (search_title, rowid, words) "
                              "VALUES ('delete', :key, :title)"), values)
            conn.execute(text("INSERT INTO search_text (search_text, rowid, words) "
                              "VALUES ('delete', :key, :text)"), values)
    conn.execute(text("DELETE FROM search_doc WHERE id = :id"), {"id": row.id})


def _clear(conn: Connection) -> None:
    if _dialect(conn) == "postgresql":
        conn.execute(text("DELETE FROM search_doc"))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('search_doc', 'id'), 1, false)"))
        return
    conn.execute(text("INSERT INTO search_title (search_title) VALUES ('delete-all')"))
    conn.execute(text("INSERT INTO search_text (search_text) VALUES ('delete-all')"))
    conn.execute(text("DELETE FROM search_doc"))
    conn.execute(text("DELETE FROM sqlite_sequence WHERE name = 'search_doc'"))


def _optimise(conn: Connection) -> None:
    if _dialect(conn) == "sqlite":
        # Merge the FTS5 segments into one b-tree per table: the fastest layout for queries.
        conn.execute(text("INSERT INTO search_title (search_title) VALUES ('optimize')"))
        conn.execute(text("INSERT INTO search_text (search_text) VALUES ('optimize')"))
    else:
        conn.execute(text("ANALYZE search_doc"))


TITLE, BODY = "title", "body"


def _tier(conn: Connection, query: Query, tier: str, filters: Sequence[ColumnElement[bool]],
          key_range: tuple[int, int] | None) -> Select[Any]:
    """The brief ids of one ranking group, newest first (no limit yet)."""
    if _dialect(conn) == "postgresql":
        tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("tsq", query.tsquery))
        title_match = _doc.c.title_vec.op("@@", is_comparison=True)(tsquery)
        key = _doc.c.sort_key
        stmt = select(_doc.c.brief_id).select_from(_doc.join(_brief, _brief.c.id == _doc.c.brief_id))
        if tier == TITLE:
            stmt = stmt.where(title_match)
        else:
            every_token = func.to_tsquery(literal_column("'simple'::regconfig"),
                                          bindparam("tsq_tokens", query.tsquery_tokens))
            padded = func.concat(" ", _doc.c.words, " ")
            in_words = and_(*(func.strpos(padded, bindparam(f"phrase_{i}", phrase)) > 0
                              for i, phrase in enumerate(query.phrases)))
            stmt = stmt.where(
                _doc.c.text_vec.op("@@", is_comparison=True)(every_token),
                case((_doc.c.lossy, in_words), else_=_doc.c.text_vec.op("@@", is_comparison=True)(tsquery)),
                ~title_match,
            )
    else:
        match = bindparam("fts", query.fts5)
        fts = _fts_title if tier == TITLE else _fts_text
        key = fts.c.rowid
        stmt = (
            select(_doc.c.brief_id)
            .select_from(fts.join(_doc, _doc.c.id == key.op("&")(SEQ_MASK))
                         .join(_brief, _brief.c.id == _doc.c.brief_id))
            .where(literal_column(fts.name).op("MATCH", is_comparison=True)(match), _doc.c.sort_key == key)
        )
        if tier == BODY:
            in_title = select(_fts_title.c.rowid).where(
                literal_column("search_title").op("MATCH", is_comparison=True)(match)
            )
            stmt = stmt.where(key.not_in(in_title))
    if key_range is not None:
        stmt = stmt.where(key.between(*key_range))
    return stmt.where(*filters).order_by(key.desc())


# ---------------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------------


class _System:
    """Searches as the system (command line, scripts): the whole archive, no per-user limits."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


@dataclass(frozen=True)
class Hit:
    brief: Brief
    title_html: Markup
    snippet_html: Markup
    in_title: bool  # the title matched the whole query (ranked first)
    # Where the snippet comes from: "body", "special_report", "keywords", "author_line", or None
    # (the brief's opening lines, when only the title matched).
    snippet_field: str | None = None


@dataclass(frozen=True)
class SearchPage:
    query: Query
    page: int
    per_page: int
    hits: list[Hit] = field(default_factory=list)
    has_more: bool = False
    total: int = 0  # every match the user may read (the count the page announces)
    total_capped: bool = False  # PostgreSQL: more than `total` (COUNT_CAP) match; not counted further

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def index_brief(session: Session, brief: Brief) -> None:
    """Index `brief` as it is now, replacing any earlier entry; not issued: remove it."""
    conn = session.connection()
    if brief.id is not None:
        _remove(conn, brief.id, _committed_fields(brief))
    if brief.state in ISSUED and brief.issue_date is not None:
        _insert(conn, [_document(brief.id, _current_fields(brief))], _next_seqs(conn, 1))


def remove_brief(session: Session, brief_id: int) -> None:
    """Drop brief `brief_id` from the index (if it is there)."""
    conn = session.connection()
    brief = session.get(Brief, brief_id)
    _remove(conn, brief_id, _committed_fields(brief) if brief is not None else None)


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def rebuild_index(session: Session, *, batch: int = 500) -> int:
    """Empty the index and index every issued brief again; returns how many. Not committed."""
    conn = session.connection()
    _clear(conn)
    columns = [_brief.c.id, *(_brief.c[name] for name in INDEXED_FIELDS)]
    ids = conn.execute(
        select(_brief.c.id).where(_brief.c.state.in_(ISSUED), _brief.c.issue_date.is_not(None))
        .order_by(_brief.c.issue_date, _brief.c.total_number, _brief.c.id)
    ).scalars().all()
    postgresql = _dialect(conn) == "postgresql"
    if postgresql:
        # One CREATE INDEX after the rows is many times faster than growing the GIN indexes row
        # by row (their pending lists flushed again and again); the transaction hides the gap.
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        conn.execute(text("DROP INDEX IF EXISTS ix_search_doc_title_vec"))
        conn.execute(text("DROP INDEX IF EXISTS ix_search_doc_text_vec"))
    seq = 0
    for chunk in _chunks(ids, batch):
        rows = {row.id: row._mapping for row in conn.execute(select(*columns).where(_brief.c.id.in_(chunk)))}
        docs = [_document(brief_id, rows[brief_id]) for brief_id in chunk]
        _insert(conn, docs, range(seq + 1, seq + 1 + len(docs)))
        seq += len(docs)
    if postgresql:
        conn.execute(text("CREATE INDEX ix_search_doc_title_vec ON search_doc USING gin (title_vec)"))
        conn.execute(text("CREATE INDEX ix_search_doc_text_vec ON search_doc USING gin (text_vec)"))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('search_doc', 'id'), :n, :called)"),
                     {"n": max(seq, 1), "called": seq > 0})
    _optimise(conn)
    return seq


def _key_range(year_from: int | None, year_to: int | None) -> tuple[int, int] | None:
    if year_from is None and year_to is None:
        return None
    low = date_key(date(year_from, 1, 1)) << SEQ_BITS if year_from is not None else 0
    high = (date_key(date(year_to, 12, 31)) << SEQ_BITS | SEQ_MASK) if year_to is not None else (1 << 62)
    return low, high


def _filters(user: Any, *, series_id: int | None, year_from: int | None, year_to: int | None,
             author: str | None, state: str | None, classification: str | None, instructed: bool = False,
             instruction_level: str | None = None) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = [_brief.c.state.in_(ISSUED)]
    if user is not SYSTEM:
        filters.append(readable_clause(user, Brief))
    if series_id is not None:
        filters.append(_brief.c.series_id == series_id)
    if year_from is not None:
        filters.append(_brief.c.issue_year >= year_from)
    if year_to is not None:
        filters.append(_brief.c.issue_year <= year_to)
    if author:
        filters.append(_brief.c.author_line.contains(author.strip(), autoescape=True))
    if state:
        filters.append(_brief.c.state == state)
    if classification is not None and classification != "":
        filters.append(_brief.c.classification == classification)
    if instructed or instruction_level:
        from models.signoff import Instruction  # 领导批示 (instructions/)

        given = [Instruction.brief_id == _brief.c.id]
        if instruction_level:
            given.append(Instruction.level == instruction_level)
        filters.append(exists().where(*given))
    return filters


def _hit(brief: Brief, query: Query, in_title: bool) -> Hit:
    title_html = highlight(brief.title, query)
    found = body_snippet(brief.body or "", query)
    if found is not None:
        return Hit(brief, title_html, found, in_title, "body")
    for name, text_ in (("special_report", "、".join(_as_list(brief.special_report))),
                        ("keywords", "、".join(_as_list(brief.keywords))),
                        ("author_line", brief.author_line or "")):
        found = snippet(text_, query)
        if found is not None:
            return Hit(brief, title_html, found, in_title, name)
    return Hit(brief, title_html, body_lead(brief.body or ""), in_title, None)


def search(
    session: Session,
    user: Any,
    query_text: str,
    *,
    series_id: int | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    author: str | None = None,
    state: str | None = None,
    classification: str | None = None,
    instructed: bool = False,
    instruction_level: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> SearchPage:
    """One page of issued briefs matching `query_text` that `user` may read (SYSTEM: all).

    Briefs whose title matches come first, then the others; newest first within each.
    """
    query = parse_query(query_text)
    page = max(1, int(page))
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    if not query or (page - 1) * per_page >= MAX_RESULTS:
        return SearchPage(query, page, per_page)
    conn = session.connection()
    filters = _filters(user, series_id=series_id, year_from=year_from, year_to=year_to, author=author,
                       state=state, classification=classification, instructed=instructed,
                       instruction_level=instruction_level)
    key_range = _key_range(year_from, year_to)
    offset, wanted = (page - 1) * per_page, per_page + 1

    titled = _tier(conn, query, TITLE, filters, key_range)
    ids = list(conn.execute(titled.limit(wanted).offset(offset)).scalars())
    in_title = set(ids)
    if len(ids) < wanted:
        if ids or offset == 0:
            title_total = offset + len(ids)
        else:
            counted = select(func.count()).select_from(titled.order_by(None).subquery())
            title_total = conn.execute(counted).scalar_one()
        rest = _tier(conn, query, BODY, filters, key_range)
        ids += conn.execute(rest.limit(wanted - len(ids)).offset(max(0, offset - title_total))).scalars()
    has_more = len(ids) > per_page
    ids = ids[:per_page]
    # The author account is not needed for a hit (its roles would cost another query).
    page_briefs = select(Brief).where(Brief.id.in_(ids)).options(lazyload(Brief.author))
    briefs = {b.id: b for b in session.scalars(page_briefs)} if ids else {}
    hits = [_hit(briefs[i], query, i in in_title) for i in ids if i in briefs]
    capped = False
    if not has_more:
        total = len(hits) + offset
    elif _dialect(conn) == "postgresql":
        # Counting every match rechecks every matching tsvector (市: all of them, seconds at
        # 100,000 briefs); past COUNT_CAP the page says "more than".
        total = sum(
            conn.execute(select(func.count()).select_from(
                _tier(conn, query, tier, filters, key_range).order_by(None).limit(COUNT_CAP + 1).subquery()
            )).scalar_one()
            for tier in (TITLE, BODY))
        capped = total > COUNT_CAP
        total = min(total, COUNT_CAP)
    else:
        total = sum(
            conn.execute(select(func.count()).select_from(_tier(conn, query, tier, filters, key_range)
                                                          .order_by(None).subquery())).scalar_one()
            for tier in (TITLE, BODY))
    return SearchPage(query, page, per_page, hits, has_more, total, capped)


# ---------------------------------------------------------------------------------------------
# Keeping the index in sync
# ---------------------------------------------------------------------------------------------


def _indexed_changed(brief: Brief) -> bool:
    state = inspect(brief)
    return any(state.attrs[name].history.has_changes() for name in INDEXED_FIELDS)


def _was_issued(brief: Brief) -> bool:
    history = inspect(brief).attrs.state.history
    before = history.deleted[0] if history.deleted else brief.state
    return before in ISSUED


@event.listens_for(Session, "before_flush")
def _remove_deleted(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.deleted):
        if isinstance(obj, Brief) and obj.id is not None and _was_issued(obj):
            _remove(session.connection(), obj.id, _committed_fields(obj))


@event.listens_for(Session, "after_flush")
def _sync(session: Session, flush_context: Any) -> None:
    """Index briefs that became issued; re-index issued briefs whose indexed text changed."""
    conn: Connection | None = None
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Brief) or obj in session.deleted:
            continue
        now_issued = obj.state in ISSUED
        if obj in session.new:
            changed = now_issued
        else:
            was = _was_issued(obj)
            changed = (now_issued != was) or (now_issued and _indexed_changed(obj))
        if changed:
            conn = conn or session.connection()
            _remove(conn, obj.id, _committed_fields(obj))
            if now_issued and obj.issue_date is not None:
                _insert(conn, [_document(obj.id, _current_fields(obj))], _next_seqs(conn, 1))
