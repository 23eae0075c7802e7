"""Search benchmark: full-text search (archive/search.py) against a LIKE scan, on SQLite or
PostgreSQL.

    .venv/bin/python bench/search.py --quick          # 5,000 briefs, a smoke run (~1 min)
    .venv/bin/python bench/search.py                  # 100,000 briefs (~10 min, ~2.5 GB on disk)
    .venv/bin/python bench/search.py --db /tmp/b.sqlite3 --keep   # keep the database, and reuse it
    pg_virtualenv -t -- .venv/bin/python bench/search.py --postgresql   # the cluster PG* names

On PostgreSQL (--postgresql: the database PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE name,
emptied first) every 2,500th brief is six times as long (~19,000 characters: past the
tsvector's position limits), so the long-brief path of archive/search.py is part of the run.

It generates synthetic issued briefs of realistic Chinese policy prose (~3,000 characters: the
demo briefs' sentences shuffled with templated ones, Markdown headings and bold leads), writes
them straight into a fresh database built by the migrations (bulk Core inserts, not the
workflow), times `rebuild_index`, then measures the latency of the first page of results (20,
ranked, with snippets, briefs loaded) for each query kind — p50/p95 over --reps runs after a
warm-up — and the same page from a LIKE scan of the same data in the same run (title hits first,
newest first, same snippets). Term frequencies are planted: 苏州 in about 55% of briefs, 数字经济
in about a quarter, 元宇宙 in about 3%, the rare 鼋 in five.
"""

from __future__ import annotations

import argparse
import atexit
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import and_, case, func, insert, or_, select, text  # noqa: E402

QUERIES = [
    ("frequent character", "市"),
    ("rare character", "鼋"),
    ("two characters", "苏州"),
    ("four characters", "数字经济"),
    ("two terms", "苏州 元宇宙"),
]
RARE_CHAR = "鼋"
RARE_DOCS = 5

PLACES_SUZHOU = ["苏州", "苏州工业园区", "苏州高新区", "昆山", "张家港", "常熟", "太仓", "吴江区", "吴中区", "相城区",
                 "姑苏区"]
PLACES_OTHER = ["无锡", "常州", "南京", "杭州", "上海", "深圳", "广州", "合肥", "宁波", "成都", "武汉", "长三角",
                "江苏", "浙江", "粤港澳大湾区", "京津冀"]
INDUSTRIES = ["人工智能", "低空经济", "生物医药", "新能源汽车", "集成电路", "智能制造", "工业互联网", "数据要素",
              "新材料", "跨境电商", "文化旅游", "现代农业", "绿色低碳", "高端装备", "光伏产业", "氢能", "纳米技术",
              "创新药", "商业航天", "软件和信息服务"]
PROBLEMS = ["核心技术受制于人", "高端人才供给不足", "应用场景开放不够", "要素保障压力较大", "产业链协同不强",
            "创新生态尚不完善", "政策落地存在堵点", "企业融资渠道偏窄", "标准体系建设滞后", "公共服务供给不足"]
MEASURES = ["完善政策支持体系", "建设公共服务平台", "设立产业引导基金", "开放重点应用场景", "加强人才引进培育",
            "优化营商环境", "推动数据开放共享", "强化金融服务支撑", "健全统筹协调机制", "加快标准规范制定",
            "深化产学研合作", "推进重大项目建设"]
LEADS = ["加强顶层设计", "强化创新驱动", "深化开放合作", "优化要素配置", "完善体制机制", "夯实发展基础",
         "突出重点领域", "注重示范引领", "坚持系统谋划", "压实工作责任"]
VERBS = ["加快", "推进", "促进", "推动", "做强", "培育", "提升", "优化"]
KINDS = ["几点建议", "思考与建议", "调研报告", "对策研究", "情况分析", "经验借鉴"]
TEMPLATES = [
    "{place}{industry}产业规模持续扩大，{year}年实现产值{num}亿元，同比增长{pct}%。",
    "要加快推进{industry}与{industry2}深度融合，着力打造具有{place}特色的产业集群。",
    "从调研情况看，{place}在{industry}领域已形成一定基础，但仍存在{problem}等问题。",
    "建议进一步强化{industry}发展的顶层设计，统筹推进{measure}，形成工作合力。",
    "据统计，全市{industry}相关企业已超过{num}家，其中规上企业{num2}家，高新技术企业占比{pct}%。",
    "对标{other}等先进地区，{place}在{measure2}方面仍有较大提升空间。",
    "各地围绕{industry}纷纷出台专项政策，{other}提出到{year2}年产业规模突破{num}亿元。",
    "下一步，应坚持问题导向，聚焦{problem}，以{measure}为抓手，推动{industry}高质量发展。",
    "市场主体普遍反映，{problem}是制约{industry}发展的主要因素。",
    "要发挥{place}制造业基础雄厚、应用场景丰富的优势，在{industry}领域抢占先机。",
]


def demo_sentences() -> list[str]:
    sentences = []
    for path in sorted((ROOT / "demo" / "briefs").glob("*.md")):
        body = path.read_text(encoding="utf-8").split("---", 2)[2]
        for line in body.splitlines():
            line = line.strip().lstrip("#").strip()
            if line and not line.startswith("|"):
                sentences += [s for s in re.findall(r"[^。！？]*[。！？]", line.replace("**", "")) if len(s) > 8]
    return [s for s in sentences if RARE_CHAR not in s and "元宇宙" not in s]


class Generator:
    """Deterministic synthetic briefs (seeded)."""

    def __init__(self, seed: int, docs: int):
        self.random = random.Random(seed)
        self.demo = demo_sentences()
        self.rare = set(self.random.sample(range(docs), RARE_DOCS))

    def sentence(self, ctx: dict[str, Any]) -> str:
        r = self.random
        if r.random() < 0.45:
            s = r.choice(self.demo)
            if not ctx["suzhou"]:
                s = s.replace("苏州", ctx["other"])
            if "数字经济" not in ctx["industries"]:
                s = s.replace("数字经济", ctx["industries"][0])
            return s
        return r.choice(TEMPLATES).format(
            place=ctx["place"](), industry=r.choice(ctx["industries"]), industry2=r.choice(INDUSTRIES),
            problem=r.choice(PROBLEMS), measure=r.choice(MEASURES), measure2=r.choice(MEASURES),
            other=r.choice(PLACES_OTHER), year=r.randint(2015, 2025), year2=r.randint(2026, 2035),
            num=r.randint(10, 5000), num2=r.randint(5, 800), pct=round(r.uniform(1, 40), 1),
        )

    def brief(self, index: int) -> dict[str, Any]:
        r = self.random
        suzhou = r.random() < 0.55
        industries = r.sample(INDUSTRIES, 3)
        if r.random() < 0.25:
            industries[0] = "数字经济"
        if r.random() < 0.03:
            industries[1] = "元宇宙"
        places = PLACES_SUZHOU if suzhou else PLACES_OTHER

        def place() -> str:
            return r.choice(places)

        ctx = {"suzhou": suzhou, "industries": industries, "place": place, "other": r.choice(PLACES_OTHER)}
        title = f"关于{r.choice(VERBS)}{place()}{industries[0]}发展的{r.choice(KINDS)}"
        target = r.randint(2600, 3400)
        parts = ["".join(self.sentence(ctx) for _ in range(3))]
        numerals = "一二三四五六七八"
        section = 0
        while sum(len(p) for p in parts) < target:
            if section < len(numerals) and (section == 0 or r.random() < 0.25):
                parts.append(f"# {numerals[section]}、{r.choice(LEADS)}")
                section += 1
            paragraph = "".join(self.sentence(ctx) for _ in range(r.randint(3, 6)))
            if r.random() < 0.3:
                paragraph = f"**{r.choice(LEADS)}。**" + paragraph
            parts.append(paragraph)
        if index in self.rare:
            parts.insert(2, f"太湖{RARE_CHAR}头渚一带生态修复成效明显，可作为文旅融合发展的示范。")
        return {
            "title": title,
            "body": "\n\n".join(parts),
            "special_report": r.sample(["王建国书记", "李明代市长", "赵文华副市长", "陈立秘书长"], 2),
            "keywords": [k for k in industries if k in "".join(parts)][:3],
            "author_line": "苏州太湖智库" if suzhou else r.choice(["太湖智库", "区域发展研究中心", "东吴研究院"]),
        }


def postgresql_url() -> str:
    import os

    user, password = os.environ.get("PGUSER", "postgres"), os.environ.get("PGPASSWORD", "")
    host, port = os.environ.get("PGHOST", "localhost"), os.environ.get("PGPORT", "5432")
    name = os.environ.get("PGDATABASE", "postgres")
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgresql+psycopg://{auth}/{name}?host={host}&port={port}"
    return f"postgresql+psycopg://{auth}{host}:{port}/{name}"


def make_app(db_path: Path | None, url: str | None = None) -> Any:
    from app import create_app

    files = tempfile.mkdtemp(prefix="canyue-bench-files-")  # no PDFs are made; removed at exit
    atexit.register(shutil.rmtree, files, True)
    return create_app({
        "TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{db_path}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "CANYUE_FILES_DIR": files,
    })


def populate(db: Any, docs: int, seed: int, long_every: int = 0) -> None:
    from models import Brief, Series, User

    now = datetime.now(UTC)
    user = User(username="bench", display_name="基准", password_hash="-")
    db.session.add(user)
    series_ids = []
    for n in range(4):
        series = Series(name=f"领导参阅{n or ''}", hosts="苏州太湖智库", contact_phone="-", address="-",
                        default_print_run=30, first_total_number=1)
        db.session.add(series)
        db.session.flush()
        series_ids.append(series.id)
    db.session.commit()
    user_id = user.id
    generator = Generator(seed, docs)
    first, span = date(2000, 1, 1), (date(2025, 12, 31) - date(2000, 1, 1)).days
    issue_counters: dict[tuple[int, int], int] = {}
    total_counters: dict[int, int] = {}
    batch: list[dict[str, Any]] = []
    table = Brief.__table__
    for i in range(docs):
        day = first + timedelta(days=i * span // docs)
        series_id = series_ids[i % len(series_ids)]
        issue_counters[(series_id, day.year)] = issue_counters.get((series_id, day.year), 0) + 1
        total_counters[series_id] = total_counters.get(series_id, 0) + 1
        signed = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)
        fields = generator.brief(i)
        if long_every and i % long_every == long_every // 2:
            fields["body"] = "\n\n".join([fields["body"]] * 6)
        batch.append({
            **fields, "series_id": series_id, "state": "published", "author_id": user_id,
            "supplement": False, "classification": "内部", "urgency": "", "revision_number": 1,
            "created_at": now, "updated_at": now, "approved_by_id": user_id, "approved_at": signed,
            "editor_name": "李青", "signed_by_id": user_id, "signed_at": signed, "signer_name": "王志远",
            "published_by_id": user_id, "published_at": signed, "issue_date": day, "issue_year": day.year,
            "issue_number": issue_counters[(series_id, day.year)], "total_number": total_counters[series_id],
            "number_sequence": "regular", "print_run": 30,
        })
        if len(batch) == 2000 or i == docs - 1:
            db.session.execute(insert(table), batch)
            db.session.commit()
            batch = []
            print(f"\r  generated {i + 1:,} briefs", end="", flush=True)
    print()


def like_page(session: Any, query: str, per_page: int = 20) -> list[Any]:
    """The baseline: a LIKE scan of title, body and author line, ranked as search ranks."""
    from archive.search import ISSUED, _hit, parse_query
    from models import Brief

    terms = query.split()
    matches = [or_(Brief.title.contains(t), Brief.body.contains(t), Brief.author_line.contains(t))
               for t in terms]
    in_title = and_(*[Brief.title.contains(t) for t in terms])
    briefs = session.scalars(
        select(Brief).where(Brief.state.in_(ISSUED), *matches)
        .order_by(case((in_title, 0), else_=1), Brief.issue_date.desc(), Brief.total_number.desc(),
                  Brief.id.desc())
        .limit(per_page + 1)
    ).all()
    parsed = parse_query(query)
    return [_hit(b, parsed, True) for b in briefs[:per_page]]


def timed(run: Callable[[], Any], reps: int, reset: Callable[[], None]) -> tuple[list[float], Any]:
    run()
    reset()
    times, result = [], None
    for _ in range(reps):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
        reset()
    return times, result


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="5,000 briefs")
    parser.add_argument("--reps", type=int, default=30, help="runs per query (search)")
    parser.add_argument("--baseline-reps", type=int, default=5, help="runs per query (LIKE scan)")
    parser.add_argument("--seed", type=int, default=20241124)
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the database; reuse it if it exists")
    parser.add_argument("--postgresql", action="store_true", help="the PostgreSQL database PG* names")
    args = parser.parse_args()
    if args.postgresql:
        return main_postgresql(args)
    docs = 5_000 if args.quick else args.docs
    db_path = args.db or Path(tempfile.mkdtemp(prefix="canyue-bench-")) / "bench.sqlite3"
    reuse = args.keep and db_path.exists()
    if db_path.exists() and not reuse:
        db_path.unlink()

    import sqlite3

    from flask_migrate import upgrade

    from archive.search import SYSTEM, index_brief, parse_query, rebuild_index, search
    from extensions import db
    from models import Brief

    app = make_app(db_path)
    print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, database {db_path}")
    with app.app_context():
        if reuse:
            docs = db.session.scalar(select(func.count(Brief.id)))
            print(f"reusing {docs:,} briefs")
        else:
            upgrade()
            started = time.perf_counter()
            populate(db, docs, args.seed)
            print(f"  {docs:,} briefs written in {time.perf_counter() - started:.0f} s")
            size_before = db_path.stat().st_size
            db.session.execute(text("PRAGMA cache_size = -262144"))  # 256 MB for the build
            started = time.perf_counter()
            indexed = rebuild_index(db.session)
            db.session.commit()
            index_seconds = time.perf_counter() - started
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            grown = (db_path.stat().st_size - size_before) / 1e6
            print(f"indexed {indexed:,} briefs in {index_seconds:.1f} s "
                  f"({indexed / index_seconds:,.0f} briefs/s); database grew by {grown:,.0f} MB")
        db.session.remove()

        chars = db.session.scalar(select(func.avg(func.length(Brief.body))))
        print(f"{docs:,} briefs, {chars:,.0f} characters of body on average")

        # Incremental indexing, as publishing does it (re-indexing: delete + insert), rolled back.
        sample = random.Random(1).sample(range(1, docs + 1), 20)
        times = []
        for brief_id in sample:
            brief = db.session.get(Brief, brief_id)
            started = time.perf_counter()
            index_brief(db.session, brief)
            times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
        db.session.remove()
        print(f"re-indexing one brief: p50 {statistics.median(times):.1f} ms, p95 {p95(times):.1f} ms")

        def reset() -> None:
            db.session.remove()

        rows = []
        for label, query in QUERIES:
            matching = db.session.execute(
                text("SELECT count(*) FROM search_text WHERE search_text MATCH :q"),
                {"q": parse_query(query).fts5},
            ).scalar()
            reset()
            fts_times, page = timed(lambda q=query: search(db.session, SYSTEM, q), args.reps, reset)
            fts_ids = [h.brief.id for h in page.hits]
            like_times, like_hits = timed(lambda q=query: like_page(db.session, q), args.baseline_reps, reset)
            like_ids = [h.brief.id for h in like_hits]
            assert all("<mark>" in h.snippet_html for h in page.hits if h.snippet_field), query
            rows.append((label, query, matching, fts_times, like_times, fts_ids == like_ids))
            print(f"  {query}: {matching:,} matching; search p50 {statistics.median(fts_times):.1f} ms, "
                  f"LIKE p50 {statistics.median(like_times):.0f} ms", flush=True)

    print()
    print(f"First page (20 hits, ranked, with snippets), {docs:,} briefs; "
          f"search p50/p95 over {args.reps} runs, LIKE scan over {args.baseline_reps}:")
    print()
    print("| query | matching briefs | search p50 | search p95 | LIKE p50 | LIKE p95 | speed-up (p95) "
          "| same page |")
    print("|---|---:|---:|---:|---:|---:|---:|:---:|")
    for label, query, matching, fts, like, same in rows:
        print(f"| {label}: {query} | {matching:,} ({matching / docs:.1%}) | "
              f"{statistics.median(fts):.1f} ms | "
              f"{p95(fts):.1f} ms | {statistics.median(like):,.0f} ms | {p95(like):,.0f} ms | "
              f"{p95(like) / p95(fts):,.0f}× | {'yes' if same else 'no'} |")
    if not args.keep and args.db is None:
        shutil.rmtree(db_path.parent, ignore_errors=True)


def main_postgresql(args: argparse.Namespace) -> None:
    from flask_migrate import upgrade

    from archive.search import SYSTEM, index_brief, parse_query, rebuild_index, search
    from extensions import db
    from models import Brief

    docs = 5_000 if args.quick else args.docs
    app = make_app(None, postgresql_url())
    with app.app_context():
        version = db.session.execute(text("SHOW server_version")).scalar()
        print(f"PostgreSQL {version}, Python {sys.version.split()[0]}")
        reuse = args.keep and db.session.execute(text("SELECT to_regclass('brief') IS NOT NULL")).scalar() and \
            db.session.scalar(select(func.count(Brief.id)))
        db.session.remove()
        if reuse:
            docs = db.session.scalar(select(func.count(Brief.id)))
            print(f"reusing {docs:,} briefs")
        else:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            upgrade()
            started = time.perf_counter()
            populate(db, docs, args.seed, long_every=2_500)
            print(f"  {docs:,} briefs written in {time.perf_counter() - started:.0f} s")
            size_before = db.session.execute(text("SELECT pg_database_size(current_database())")).scalar()
            started = time.perf_counter()
            indexed = rebuild_index(db.session)
            db.session.commit()
            index_seconds = time.perf_counter() - started
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            grown = (db.session.execute(text("SELECT pg_database_size(current_database())")).scalar()
                     - size_before) / 1e6
            print(f"indexed {indexed:,} briefs in {index_seconds:.1f} s "
                  f"({indexed / index_seconds:,.0f} briefs/s); database grew by {grown:,.0f} MB")
        db.session.remove()
        chars = db.session.scalar(select(func.avg(func.length(Brief.body))))
        lossy = db.session.execute(text("SELECT count(*) FROM search_doc WHERE lossy")).scalar()
        print(f"{docs:,} briefs, {chars:,.0f} characters of body on average; {lossy} past the tsvector's limits")

        sample = random.Random(1).sample(range(1, docs + 1), 20)
        times = []
        for brief_id in sample:
            brief = db.session.get(Brief, brief_id)
            started = time.perf_counter()
            index_brief(db.session, brief)
            times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
        db.session.remove()
        print(f"re-indexing one brief: p50 {statistics.median(times):.1f} ms, p95 {p95(times):.1f} ms")

        def reset() -> None:
            db.session.remove()

        rows = []
        for label, query in [*QUERIES, ("phrase in a long brief", "苏州工业园区")]:
            parsed = parse_query(query)
            matching = db.session.execute(
                text("SELECT count(*) FROM search_doc WHERE text_vec @@ to_tsquery('simple', :q)"),
                {"q": parsed.tsquery_tokens},
            ).scalar()
            reset()
            fts_times, page = timed(lambda q=query: search(db.session, SYSTEM, q), args.reps, reset)
            fts_ids = [h.brief.id for h in page.hits]
            like_times, like_hits = timed(lambda q=query: like_page(db.session, q), args.baseline_reps, reset)
            like_ids = [h.brief.id for h in like_hits]
            rows.append((label, query, matching, fts_times, like_times, fts_ids == like_ids))
            print(f"  {query}: {matching:,} with every token; search p50 {statistics.median(fts_times):.1f} ms, "
                  f"LIKE p50 {statistics.median(like_times):.0f} ms", flush=True)
    print()
    print(f"PostgreSQL, first page (20 hits, ranked, with snippets), {docs:,} briefs; "
          f"search p50/p95 over {args.reps} runs, LIKE scan over {args.baseline_reps}:")
    print()
    print("| query | briefs with every token | search p50 | search p95 | LIKE p50 | LIKE p95 | speed-up (p95) "
          "| same page |")
    print("|---|---:|---:|---:|---:|---:|---:|:---:|")
    for label, query, matching, fts, like, same in rows:
        print(f"| {label}: {query} | {matching:,} ({matching / docs:.1%}) | "
              f"{statistics.median(fts):.1f} ms | "
              f"{p95(fts):.1f} ms | {statistics.median(like):,.0f} ms | {p95(like):,.0f} ms | "
              f"{p95(like) / p95(fts):,.0f}× | {'yes' if same else 'no'} |")


if __name__ == "__main__":
    main()
