"""Statistics benchmark (成果统计, stats/): the page over 10,000 issued briefs, target ≤ 200 ms.

    .venv/bin/python bench/stats_page.py                   # 10,000 issued briefs, SQLite
    .venv/bin/python bench/stats_page.py --briefs 50000 --reps 30
    .venv/bin/python bench/stats_page.py --database postgresql+psycopg://…   # an empty database

(Named stats_page.py, not statistics.py: a file of that name in bench/ would hide Python's own
`statistics` module from every other benchmark, which runs with bench/ first on sys.path.)

Writes synthetic issued briefs straight into a fresh database built by the migrations (bulk
inserts, not the workflow): 3 series over 8 years, 12 drafters with 4 author lines, 1 in 12 a
增刊, 1 in 200 annulled, 1 in 150 a correction notice, a submission → sign-off → publication
history of realistic spread, and 0–3 returns or send-backs for one brief in three (as audit
events). Then it times, after a warm-up, `stats.figures.compute` alone and the whole page
(GET /statistics as an editor: the queries, the charts, the template), every year and one
year — computed (the cache emptied before each run, as after any move of a brief) and again
with nothing moved (the figures kept for the database's state) — and the two exports; prints
p50 / p95 / max. Exit status 1 when the page's p95 with nothing moved misses the target.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

from common import instance_config  # noqa: E402

TARGET_MS = 200.0
PASSWORD = "bench-password-1"


def populate(session, count: int, seed: int = 7) -> None:
    from sqlalchemy import insert, update

    from models import AuditChain, AuditEvent, Brief, Series, User

    rng = random.Random(seed)
    series = [Series(name=n, hosts="苏州太湖智库", default_print_run=30, first_total_number=1)
              for n in ("领导参阅", "决策参考", "智库专报")]
    session.add_all(series)
    drafters = []
    for i in range(12):
        user = User(username=f"drafter{i}", display_name=f"撰稿人{i:02d}", password_hash="x")
        user.set_roles({"drafter"})
        drafters.append(user)
    editor = User(username="editor", display_name="责任编辑", password_hash="x")
    editor.set_password(PASSWORD)
    editor.set_roles({"editor"})
    session.add_all([*drafters, editor])
    session.flush()
    lines = ["苏州太湖智库", "苏州太湖书院", "课题组", "苏州太湖智库 课题组"]
    first_year = date.today().year - 7
    per_year = count // 8 + 1
    rows, events = [], []
    numbers: dict[tuple[int, int], int] = {}
    totals: dict[int, int] = {}
    brief_id = 0
    global_seq = 0
    for n in range(count):
        year = first_year + n // per_year
        s = series[n % 3]
        key = (s.id, year)
        numbers[key] = numbers.get(key, 0) + 1
        totals[s.id] = totals.get(s.id, 0) + 1
        day = date(year, 1, 1) + timedelta(days=min(363, numbers[key] * 360 // (per_year // 3 + 1)))
        submitted = datetime(day.year, day.month, day.day, 2, tzinfo=UTC) - timedelta(days=rng.uniform(1, 20))
        signed = submitted + timedelta(days=rng.expovariate(1 / 4))
        published = signed + timedelta(days=rng.expovariate(1 / 1.5))
        brief_id += 1
        annulled = rng.random() < 1 / 200
        author = drafters[rng.randrange(len(drafters))]
        rows.append({
            "id": brief_id, "series_id": s.id, "author_id": author.id, "version": 1,
            "state": "annulled" if annulled else ("archived" if rng.random() < 0.3 else "published"),
            "title": f"关于第{n}项工作的建议", "author_line": lines[rng.randrange(len(lines))],
            "special_report": [], "supplement": rng.random() < 1 / 12, "classification": "", "urgency": "",
            "keywords": [], "body": "正文。", "revision_number": 1,
            "created_at": submitted, "updated_at": published, "submitted_at": submitted,
            "approved_by_id": editor.id, "approved_at": signed, "editor_name": "责任编辑",
            "signed_by_id": editor.id, "signed_at": signed, "signer_name": "签发领导",
            "published_by_id": editor.id, "published_at": published, "issue_date": day, "issue_year": year,
            "issue_number": numbers[key], "total_number": totals[s.id], "number_sequence": "regular",
            "print_run": 30, "annulled_at": published + timedelta(days=3) if annulled else None,
            "corrects_id": brief_id - 1 if brief_id > 1 and rng.random() < 1 / 150 else None,
            "edition": 0,
        })
        rows[-1]["correction_kind"] = "notice" if rows[-1]["corrects_id"] else None
        if rows[-1]["state"] == "archived":
            rows[-1].update(archive_code=f"Z001-WS·{year}-Y-{brief_id:06d}", fonds_code="Z001", retention="Y",
                            archive_year=year, archive_item=brief_id, archived_at=published)
        seq = 0
        for _ in range(rng.choice((0, 0, 1, 2, 3)) if rng.random() < 0.5 else 0):
            seq += 1
            global_seq += 1
            action = "return" if rng.random() < 0.7 else "send_back"
            events.append({"brief_id": brief_id, "seq": seq, "subject_type": "brief", "subject_id": brief_id,
                           "action": action, "from_state": "in_review", "to_state": "draft",
                           "actor_id": editor.id, "actor_name": "责任编辑",
                           "created_at": submitted + timedelta(hours=seq), "reason": "请修改",
                           "prev_hash": "0" * 64, "hash": f"{global_seq:064x}", "global_seq": global_seq,
                           "global_prev_hash": "0" * 64, "key_id": "bench"})
    for start in range(0, len(rows), 2000):
        session.execute(insert(Brief), rows[start:start + 2000])
    for start in range(0, len(events), 5000):
        session.execute(insert(AuditEvent), events[start:start + 5000])
    # the installation's chain counts on from these events (signing in appends to it)
    session.execute(update(AuditChain).where(AuditChain.id == 1).values(seq=global_seq))
    session.commit()
    print(f"{len(rows):,} issued briefs, {len(events):,} return / send-back events, "
          f"{first_year}–{first_year + 7}, 3 series")


def profile(session) -> None:
    from stats import figures as f
    flt = f.Filters()
    for label, fn in [("issue_figures by series", lambda: f.issue_figures(session, flt, True)),
                      ("issue_figures by year", lambda: f.issue_figures(session, flt, False)),
                      ("returns", lambda: f.returns(session, flt)),
                      ("authors, one year", lambda: f.authors(session, f.Filters(year=date.today().year)))]:
        start = time.perf_counter()
        fn()
        print(f"  {label:<20} {(time.perf_counter() - start) * 1000:7.1f} ms")


def timed(fn, reps: int) -> list[float]:
    fn()  # warm-up
    fn()
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(label: str, ms: list[float]) -> float:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(f"  {label:<42} p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   max {max(ms):7.1f} ms")
    return p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--briefs", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="time each query of compute() once")
    parser.add_argument("--database", help="an empty database's URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="canyue-bench-stats-"))
    try:
        overrides = {"CANYUE_2FA_REQUIRED_ROLES": ""}
        if args.database:
            overrides["SQLALCHEMY_DATABASE_URI"] = args.database
        from flask_migrate import upgrade

        from app import create_app
        from extensions import db
        from stats.figures import Filters, compute

        app = create_app(instance_config(work, **overrides))
        with app.app_context():
            upgrade()
            populate(db.session, args.briefs)
            if args.profile:
                profile(db.session)
            year = date.today().year - 1
            print(f"engine: {db.engine.dialect.name}; {args.reps} timed runs after 2 warm-ups")
            report("compute(), every year and series", timed(lambda: compute(db.session, Filters()), args.reps))
            report(f"compute(), {year}", timed(lambda: compute(db.session, Filters(year=year)), args.reps))
            db.session.remove()
        client = app.test_client()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))
        assert token, "no CSRF token on the login page"
        login = client.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token.group(1)})
        assert login.status_code == 302, login.status_code

        def get(url: str):
            def run():
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            return run

        from stats import figures as stats_figures

        def cold(url: str):
            run = get(url)

            def again():
                stats_figures._CACHE.clear()  # as after any move of a brief: every aggregate runs
                run()
            return again

        report("GET /statistics, figures computed (cold)", timed(cold("/statistics"), args.reps))
        report(f"GET /statistics?year={year}, computed (cold)", timed(cold(f"/statistics?year={year}"), args.reps))
        worst = report("GET /statistics (the page, nothing moved)", timed(get("/statistics"), args.reps))
        worst = max(worst, report(f"GET /statistics?year={year}", timed(get(f"/statistics?year={year}"), args.reps)))
        report("GET /statistics/export.csv", timed(get("/statistics/export.csv"), args.reps))
        report("GET /statistics/export.xlsx", timed(get("/statistics/export.xlsx"), max(5, args.reps // 4)))
        ok = worst <= TARGET_MS
        print(f"page p95 {worst:.1f} ms against a target of {TARGET_MS:.0f} ms: {'met' if ok else 'MISSED'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
