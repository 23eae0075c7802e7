"""Publishing with 30 copies against one render of the same brief.

    .venv/bin/python bench/distribution.py [--brief demo/briefs/ai-manufacturing.md] [--issues 9]

In one process, on a throw-away SQLite database and file store: the schema from the
migrations, a directory of recipients and a series whose default list makes 30 copies (3 专报,
27 报 / 送 / 发), and --issues + 1 signed briefs of the demo text. The first is published to
warm up (WeasyPrint, fonts, the stamp's glyph outlines). Then, for each of the others: one
render of the previous, already published issue exactly as the pipeline renders it (PDF/A with
its attachments), and one whole publish (plan the numbers and 共印, render, stamp the 30 copies
and store them all, then under the numbering lock check the numbers, write the rows and
commit). Medians are compared; the target is publish ≤ 1.3 × render. Exit status 1 when it
is missed. Also printed: each step's median and how long the numbering lock was held.
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
sys.path.append(str(ROOT / "bench"))  # after the root: bench/distribution.py is not the package

import common  # noqa: E402

TARGET_RATIO = 1.3
COPIES = 30


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
    from models import AuditEvent, Brief, Copy, StoredFile, User
    from publishing import pipeline

    app = create_app(common.instance_config(work, TESTING=True, SERVER_NAME="bench.local"))
    content = common.demo_content(args.brief)
    with app.app_context():
        flask_migrate.upgrade()
        logging.getLogger("alembic").setLevel(logging.WARNING)
        people = common.make_people(db.session)
        series = common.make_series(db.session, "领导参阅", common.DIRECTORY_30)
        ids = common.signed_briefs(db.session, people, series, content, args.issues + 1)

        steps_time: dict[str, list[float]] = defaultdict(list)

        def timed(step):  # type: ignore[no-untyped-def]
            def run_step(ctx):  # type: ignore[no-untyped-def]
                start = time.perf_counter()
                step(ctx)
                steps_time[step.__name__].append(time.perf_counter() - start)
            run_step.__name__ = step.__name__
            return run_step

        prepare = [timed(s) for s in pipeline.PREPARE_STEPS]
        commit = [timed(s) for s in pipeline.COMMIT_STEPS]
        lock = common.LockClock()
        lock.install()
        editor_id = people["editor"].id
        issue_date = date.today()  # within the publish horizon, never before the series' latest

        def publish(brief_id: int) -> float:
            editor = db.session.get(User, editor_id)
            start = time.perf_counter()
            pipeline.publish(db.session, brief_id, editor, issue_date=issue_date, prepare=prepare, commit=commit)
            return time.perf_counter() - start

        def render(brief_id: int) -> float:
            brief = db.session.get(Brief, brief_id)
            ctx = pipeline.PublishContext(db.session, brief, brief.series, None, brief.issue_date)
            # As the pipeline renders it: the head before its publish event in the metadata.
            ctx.head_before = db.session.scalar(
                select(AuditEvent.prev_hash).where(AuditEvent.brief_id == brief_id, AuditEvent.action == "publish"))
            start = time.perf_counter()
            pipeline.render_master(ctx)
            elapsed = time.perf_counter() - start
            db.session.rollback()
            return elapsed

        warm_up = publish(ids[0])
        steps_time.clear()
        lock.held.clear()
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
    print(f"numbering lock    held {statistics.median(lock.held) * 1000:.1f} ms median, "
          f"{max(lock.held) * 1000:.1f} ms max (the locking UPDATE to the end of the commit)")
    print(f"sizes             master {master_bytes / 1024:.0f} KB; a copy {copy_bytes / 1024:.0f} KB "
          f"(+{(copy_bytes - master_bytes) / 1024:.1f} KB: the stamp's update)")
    return 0 if made == COPIES and ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
