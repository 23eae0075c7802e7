"""Publishing with 30 copies against one render of the same brief.

    .venv/bin/python bench/distribution.py [--brief demo/briefs/ai-manufacturing.md] [--issues 9]

In one process, on a throw-away SQLite database and file store: the schema from the
migrations, a directory of recipients and a series whose default list makes 30 copies (3 专报,
27 报 / 送 / 发), and --issues + 1 signed briefs of the demo text. The first is published to
warm up (WeasyPrint, fonts, the stamp's glyph outlines). Then, for each of the others: one
render of the previous, already published issue exactly as the pipeline renders it (PDF/A with
its attachments), and one whole publish (numbering lock, numbers, 共印, render, store the
master, 30 stamped copies with their rows and files, commit). Medians are compared; the target
is publish ≤ 1.3 × render. Exit status 1 when it is missed.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 1.3
COPIES = 30

DIRECTORY = [("王建国", "书记", "中共苏州市委", "专报", 1), ("李明", "代市长", "苏州市人民政府", "专报", 1),
             ("陈立", "秘书长", "苏州市人民政府办公室", "专报", 1)]
DIRECTORY += [(f"市级单位{i:02d}", "", "苏州市", "报" if i < 6 else "送" if i < 18 else "发", 1) for i in range(1, 27)]
DIRECTORY += [("各区党政办", "", "", "发", 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brief", type=Path, default=ROOT / "demo" / "briefs" / "ai-manufacturing.md")
    parser.add_argument("--issues", type=int, default=9, help="publishes timed (median reported)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="canyue-bench-distribution-"))
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    import flask_migrate
    from sqlalchemy import func, select

    from app import create_app
    from extensions import db
    from models import Brief, Copy, Recipient, Series, StoredFile, User
    from publishing import pipeline
    from publishing.brieffile import parse_brief_file
    from workflows import distribution as lists
    from workflows.transitions import apply_transition, create_brief

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work}/bench.sqlite3", "SECRET_KEY": "bench", "TESTING": True,
        "CANYUE_FILES_DIR": str(work / "files"), "SERVER_NAME": "bench.local",
    })
    content = parse_brief_file(args.brief.read_text(encoding="utf-8")).content()
    content["special_report"] = []  # from the series' list
    with app.app_context():
        flask_migrate.upgrade()
        logging.getLogger("alembic").setLevel(logging.WARNING)
        people = {}
        for name, roles in (("drafter", {"drafter"}), ("editor", {"editor"}), ("signer", {"signer"})):
            people[name] = User(username=name, display_name=name, password_hash="x")
            people[name].set_roles(roles)
            db.session.add(people[name])
        series = Series(name="领导参阅", hosts="苏州太湖书院\n苏州太湖智库", contact_phone="18106219189  65519639（传真）",
                        address="苏州市吴中区胥口镇灵山路 609 号", default_print_run=30, first_total_number=31)
        db.session.add(series)
        db.session.flush()
        lines = []
        for name, title, organisation, category, copies in DIRECTORY:
            recipient = Recipient(name=name, title=title, organisation=organisation, category=category,
                                  default_copies=copies)
            db.session.add(recipient)
            db.session.flush()
            lines.append((recipient.id, category, copies, "printed"))
        lists.replace_series_list(db.session, series.id, lines)
        ids = []
        for _ in range(args.issues + 1):
            brief = create_brief(db.session, people["drafter"], series, content)
            apply_transition(db.session, brief, "submit", people["drafter"])
            apply_transition(db.session, brief, "approve", people["editor"])
            apply_transition(db.session, brief, "sign", people["signer"])
            ids.append(brief.id)
        db.session.commit()

        steps_time: dict[str, list[float]] = defaultdict(list)

        def timed(step):  # type: ignore[no-untyped-def]
            def run_step(ctx):  # type: ignore[no-untyped-def]
                start = time.perf_counter()
                step(ctx)
                steps_time[step.__name__].append(time.perf_counter() - start)
            run_step.__name__ = step.__name__
            return run_step

        steps = [timed(s) for s in pipeline.STEPS]
        editor_id = people["editor"].id

        def publish(brief_id: int) -> float:
            editor = db.session.get(User, editor_id)
            start = time.perf_counter()
            pipeline.publish(db.session, brief_id, editor, issue_date=date(2026, 3, 2), steps=steps)
            return time.perf_counter() - start

        def render(brief_id: int) -> float:
            brief = db.session.get(Brief, brief_id)
            ctx = pipeline.PublishContext(db.session, brief, brief.series, None, brief.issue_date)
            start = time.perf_counter()
            pipeline.render_master(ctx)
            elapsed = time.perf_counter() - start
            db.session.rollback()
            return elapsed

        warm_up = publish(ids[0])
        steps_time.clear()
        renders, publishes = [], []
        for previous, brief_id in zip(ids, ids[1:]):
            renders.append(render(previous))
            publishes.append(publish(brief_id))

        made = db.session.scalar(select(func.count(Copy.id)).where(Copy.brief_id == ids[-1]))
        print_run = db.session.get(Brief, ids[-1]).print_run
        files = db.session.scalar(select(func.count(StoredFile.id)).where(StoredFile.kind == "copy"))
        copy_bytes = db.session.scalar(select(func.avg(StoredFile.size)).where(StoredFile.kind == "copy"))
        master_bytes = db.session.scalar(select(func.avg(StoredFile.size)).where(StoredFile.kind == "master"))

    render_s, publish_s = statistics.median(renders), statistics.median(publishes)
    ratio = publish_s / render_s
    # What publishing adds to its own render (less sensitive to a busy machine than two medians).
    overhead = statistics.median(p - r for p, r in zip(publishes, steps_time["render_master"]))
    brief = args.brief.relative_to(ROOT) if args.brief.is_relative_to(ROOT) else args.brief
    print(f"brief             {brief}, {args.issues} issues timed after one warm-up publish ({warm_up:.2f} s)")
    print(f"copies            {made} per issue (共印 {print_run}); {files} copy files in all")
    print(f"render            {render_s:.3f} s median (min {min(renders):.3f} s): the master as the pipeline renders it")
    print(f"publish           {publish_s:.3f} s median (min {min(publishes):.3f} s): numbers, render, master, "
          f"{COPIES} stamped copies, rows, commit")
    print(f"ratio             {ratio:.2f} x   target <= {TARGET_RATIO} {'ok' if ratio <= TARGET_RATIO else 'MISSED'}")
    print(f"overhead          {overhead * 1000:.0f} ms median: the publish less its own render "
          f"({(render_s + overhead) / render_s:.2f} x a render)")
    print("publish steps     " + ", ".join(f"{name} {statistics.median(times) * 1000:.0f} ms"
                                           for name, times in steps_time.items()))
    print(f"sizes             master {master_bytes / 1024:.0f} KB; a copy {copy_bytes / 1024:.0f} KB "
          f"(+{(copy_bytes - master_bytes) / 1024:.1f} KB: the stamp's update)")
    return 0 if made == COPIES and ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
