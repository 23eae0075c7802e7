"""A BagIt export of 1,000 issues through the job queue, against the same export made directly.

    .venv/bin/python bench/export_queue.py                  # 1,000 issued briefs
    .venv/bin/python bench/export_queue.py --briefs 100     # a smoke run

One SQLite instance in a throw-away folder, built as bench/backup.py builds its "issued" one
(3 issues published for real, the rest cloned with SQL, each with its own distinct archival
PDF of real size; one copy each). A real worker (`flask --app app worker --workers 1`, a
process of its own, huey on SQLite) is started and left to settle; then an export of every
issue is queued (`longwork.operations.start`, as the archive's export button does) and timed
from the commit of its row until the row says `done`, polling every 50 ms; the row's progress
is sampled along the way. The baseline is `archive.bag.export_bag` of the same issues in this
process (what `flask archive export` does without --queue). Both write, re-read against two
manifests (SHA-256 and SHA-512) and zip the same bag.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--briefs", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="canyue-bench-export-"))
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "issued"
    os.environ["CANYUE_JOBS_URL"] = f"sqlite:///{work / 'jobs.sqlite3'}"
    worker = None
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location("bench_backup", ROOT / "bench" / "backup.py")
        assert spec is not None and spec.loader is not None
        bench_backup = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench_backup)
        KEY, KEY_ID, build_issued = bench_backup.KEY, bench_backup.KEY_ID, bench_backup.build_issued

        app = build_issued(folder, args.briefs, 1, 3)
        app.config["CANYUE_JOBS_URL"] = os.environ["CANYUE_JOBS_URL"]
        from sqlalchemy import select

        from archive.bag import export_bag, issued_briefs
        from extensions import db
        from longwork.operations import EXPORT, open_export, result_of, start
        from models import Job
        from publishing.services import file_store

        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "bench",
               "CANYUE_FILES_DIR": app.config["CANYUE_FILES_DIR"],
               "CANYUE_AUDIT_ANCHOR_FILE": app.config["CANYUE_AUDIT_ANCHOR_FILE"],
               "CANYUE_AUDIT_KEYS": f"{KEY_ID}={KEY}", "CANYUE_AUDIT_KEY_ID": KEY_ID,
               "CANYUE_THROTTLE_DIR": str(work / "throttle")}
        env.pop("FLASK_APP", None)
        log = (work / "worker.log").open("ab")
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", "1"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        time.sleep(3.0)  # the worker's start (imports, startup sweep) is not the export's time

        with app.app_context():
            count = len(issued_briefs(db.session, None, None))
            job_id = start(db.session, EXPORT, None, {"series": None, "year": None, "q": None}).id
            db.session.commit()
            started = time.perf_counter()
            samples = []
            while True:
                db.session.rollback()
                state, progress, total = db.session.execute(
                    select(Job.state, Job.progress, Job.total).where(Job.id == job_id)).one()
                now = time.perf_counter() - started
                if progress and (not samples or samples[-1][1] != progress):
                    samples.append((now, progress, total))
                if state in ("done", "failed"):
                    break
                if worker.poll() is not None:
                    raise SystemExit("the worker stopped; see " + str(work / "worker.log"))
                time.sleep(0.05)
            queued_seconds = time.perf_counter() - started
            job = db.session.get(Job, job_id)
            assert job is not None and job.state == "done", (job.state if job else None, job and job.last_error)
            made = open_export(job)
            assert made is not None
            made[0].close()
            size = result_of(job)["bytes"]
            first = samples[0][0] if samples else float("nan")
            last_issue = next((t for t, p, n in samples if n and p >= n - 1), float("nan"))

            briefs = issued_briefs(db.session, None, None)
            direct_started = time.perf_counter()
            bundle = export_bag(briefs, file_store(), "canyue-direct")
            direct_seconds = time.perf_counter() - direct_started
            shutil.rmtree(bundle.parent, ignore_errors=True)

        print(f"\n{count:,} issues, zip {size / 1e6:.1f} MB")
        print(f"  through the queue (commit of the row -> row done): {queued_seconds:.1f} s")
        print(f"    first progress step seen after {first:.2f} s; last issue written at {last_issue:.1f} s; "
              f"{len(samples)} progress values sampled")
        print(f"  directly in process (export_bag):                 {direct_seconds:.1f} s")
        print(f"  queue overhead: {queued_seconds - direct_seconds:+.1f} s "
              f"({100 * (queued_seconds / direct_seconds - 1):+.0f} %)")
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
