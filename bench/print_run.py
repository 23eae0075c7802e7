"""One publish at the print-run cap (2,000 copies) against a 30-copy publish, part by part.

    .venv/bin/python bench/print_run.py [--copies 2000] [--repeat 1] [--blank] [--batch 200]

In one process, on a throw-away SQLite database and file store: the schema from the
migrations, two series — one whose default list makes 30 copies (3 专报, 27 报 / 送 / 发),
one whose list makes --copies (the cap, CANYUE_MAX_PRINT_RUN, by default; one copy per
recipient, so every copy has its own margin mark; --blank: no list, the series' default
print run of unaddressed copies instead) — and signed briefs of the demo text. After one
30-copy warm-up publish (WeasyPrint, fonts, the stamp's outlines), each round publishes a
30-copy issue and then a big one, timing each part of the pipeline: the steps before the
lock (plan_numbers, settle_print_run, render_master, stamp_copies, store_files), taking the
numbering lock (on SQLite the database's write lock), the steps under it (take_numbers,
record_publication, record_files) and flush + commit; the whole publish; how long the lock
was held; the bytes written to the file store and the database; the process's CPU time and
how far its resident set grew during the publish (sampled every 10 ms). Target: the big
publish under 15 s (a publish must not outlive a worker's timeout: gunicorn's default is
30 s). Exit status 1 when it is missed or an issue did not get its copies.

--batch N adds, in each round, a third publish of the big print run with a variant of the
two copy steps defined here (not the product's): stamp N copies, write them (put_many's
eight threads), and so on, fsyncing the touched folders once at the end, instead of
stamping all of them and then storing all, so that at most N copies are held in memory. It
measures a proposal; the product's pipeline is not changed.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # after the root: bench/distribution.py is not the package

import common  # noqa: E402

TARGET_S = 15.0


@dataclass
class Publish:
    copies: int
    parts: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    cpu: float = 0.0
    lock_held: float = 0.0
    lock_wait: float = 0.0
    file_bytes: int = 0
    files: int = 0
    db_bytes: int = 0
    rss_start_mib: float = 0.0
    rss_peak_mib: float = 0.0
    rss_end_mib: float = 0.0
    made: int = 0
    label: str = ""


def tree_size(path: Path) -> tuple[int, int]:
    files = size = 0
    for folder, _dirs, names in os.walk(path):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(folder, name))
    return files, size


def db_size(work: Path) -> int:
    return sum(p.stat().st_size for p in work.glob("canyue.sqlite3*") if p.is_file())


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class RssPeak:
    """The largest resident set size seen while the block runs (sampled every 10 ms)."""

    def __enter__(self) -> RssPeak:
        self.start = self.peak = rss_mib()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, rss_mib())

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())
        self.end = rss_mib()


def batched_copy_steps(batch: int):  # type: ignore[no-untyped-def]
    """The proposal --batch measures: stamp_copies + store_files as one step that stamps and
    writes `batch` copies at a time with FileStore.put_many's threads, and fsyncs the folders
    once at the end, as put_many does for its one call (same stamps, same files, same context
    fields). Bench-only: it uses the store's private _write and fsync_dir."""
    from concurrent.futures import ThreadPoolExecutor

    from publishing import storage
    from publishing.pipeline import PublishError
    from publishing.services import file_store, pdf_renderer
    from publishing.stamping import Stamper, copy_mark, outline_font_for
    from workflows.i18n import N_

    def stamp_copies(ctx):  # type: ignore[no-untyped-def]
        pass  # done in store_files, batch by batch

    def store_files(ctx):  # type: ignore[no-untyped-def]
        store = file_store()
        ctx.master_blob = store.put(ctx.pdf.data)
        ctx.written.append(ctx.master_blob.path)
        folders = set()
        try:
            stamper = Stamper(ctx.pdf.data, outline_font_for(pdf_renderer().fonts))
            with ThreadPoolExecutor(max_workers=8, thread_name_prefix="canyue-store") as pool:
                for first in range(0, len(ctx.planned), batch):
                    stamped = [
                        stamper.stamp(f"{p.number:06d}", copy_mark(f"{p.number:06d}", p.label, p.organisation,
                                                                   p.recipient_id, "机动"))
                        for p in ctx.planned[first:first + batch]
                    ]
                    for blob, folder in pool.map(lambda data: store._write(data, ".pdf"), stamped):
                        ctx.copy_blobs.append(blob)
                        ctx.written.append(blob.path)
                        folders.add(folder)
                    del stamped
            for folder in folders:
                storage.fsync_dir(folder)
        except Exception as error:
            raise PublishError(N_("The numbered copies could not be stored, so nothing was published.")) from error

    return {"stamp_copies": stamp_copies, "store_files": store_files}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brief", type=Path, default=common.DEMO_BRIEF)
    parser.add_argument("--copies", type=int, default=None, help="the big print run (default: the cap)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of (30 copies, big print run)")
    parser.add_argument("--blank", action="store_true", help="big series without a list: its default print run")
    parser.add_argument("--batch", type=int, default=0,
                        help="also publish the big run with the copies stamped and stored N at a time (a proposal)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="canyue-bench-print-run-"))
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    import flask_migrate
    from sqlalchemy import func, select

    from app import create_app
    from extensions import db
    from models import Brief, Copy, User
    from publishing import pipeline

    app = create_app(common.instance_config(work, TESTING=True, SERVER_NAME="bench.local"))
    cap = app.config["CANYUE_MAX_PRINT_RUN"]
    big = args.copies or cap
    content = common.demo_content(args.brief)
    with app.app_context():
        flask_migrate.upgrade()
        logging.getLogger("alembic").setLevel(logging.WARNING)
        people = common.make_people(db.session)
        small_series = common.make_series(db.session, "领导参阅", common.DIRECTORY_30)
        if args.blank:
            big_series = common.make_series(db.session, "领导参阅（大印数）", [], default_print_run=big)
        else:
            big_series = common.make_series(db.session, "领导参阅（大印数）", common.directory_of(big))
        db.session.commit()
        warm_id, *small_ids = common.signed_briefs(db.session, people, small_series, content, args.repeat + 1)
        big_ids = common.signed_briefs(db.session, people, big_series, content, args.repeat)
        batched_ids = common.signed_briefs(db.session, people, big_series, content, args.repeat if args.batch else 0)
        editor_id = people["editor"].id

        current: dict[str, float] = {}

        def timed(step):  # type: ignore[no-untyped-def]
            def run_step(ctx):  # type: ignore[no-untyped-def]
                start = time.perf_counter()
                step(ctx)
                current[step.__name__] = current.get(step.__name__, 0.0) + time.perf_counter() - start
            run_step.__name__ = step.__name__
            return run_step

        prepare = [timed(s) for s in pipeline.PREPARE_STEPS]
        commit = [timed(s) for s in pipeline.COMMIT_STEPS]
        variant = batched_copy_steps(args.batch) if args.batch else {}
        prepare_batched = [timed(variant.get(s.__name__, s)) for s in pipeline.PREPARE_STEPS]
        for step, original in zip(prepare_batched, pipeline.PREPARE_STEPS):
            step.__name__ = original.__name__
        lock = common.LockClock()
        lock.install()

        def publish(brief_id: int, copies: int, batched: bool = False) -> Publish:
            current.clear()
            lock.held.clear()
            lock.waited.clear()
            files_before, bytes_before = tree_size(work / "files")
            db_before = db_size(work)
            editor = db.session.get(User, editor_id)
            db.session.commit()
            with RssPeak() as rss:
                start, start_cpu = time.perf_counter(), time.process_time()
                pipeline.publish(db.session, brief_id, editor, issue_date=date.today(),
                                 prepare=prepare_batched if batched else prepare, commit=commit)
                total, cpu = time.perf_counter() - start, time.process_time() - start_cpu
            files_after, bytes_after = tree_size(work / "files")
            result = Publish(copies=copies, parts=dict(current), total=total, cpu=cpu,
                             lock_held=sum(lock.held), lock_wait=sum(lock.waited),
                             file_bytes=bytes_after - bytes_before, files=files_after - files_before,
                             db_bytes=db_size(work) - db_before, rss_start_mib=rss.start, rss_peak_mib=rss.peak,
                             rss_end_mib=rss.end,
                             label=f"{copies:,} copies" + (f", by {args.batch}" if batched else ""))
            result.made = db.session.scalar(select(func.count(Copy.id)).where(Copy.brief_id == brief_id)) or 0
            assert db.session.get(Brief, brief_id).print_run == result.made
            return result

        warm = publish(warm_id, 30)
        rounds = []
        for index in range(args.repeat):
            this = [publish(small_ids[index], 30), publish(big_ids[index], big)]
            if args.batch:
                this.append(publish(batched_ids[index], big, batched=True))
            rounds.append(this)

    report(args, big, cap, warm, rounds)
    ok = all(r.made == r.copies for row in rounds for r in row) and all(r.total < TARGET_S for row in rounds
                                                                        for r in row)
    return 0 if ok else 1


PARTS = [
    ("plan_numbers", "plan: the numbers"),
    ("settle_print_run", "plan: the copies (共印)"),
    ("render_master", "render the master"),
    ("stamp_copies", "stamp the copies"),
    ("store_files", "store master + copies"),
    ("lock", "take the numbering lock"),
    ("take_numbers", "under the lock: check numbers, copies"),
    ("record_publication", "under the lock: the move, audit"),
    ("record_files", "under the lock: copy + file rows"),
    ("commit", "under the lock: flush + commit"),
    ("other", "the rest (rollbacks, loads, anchor)"),
]


def parts_of(p: Publish) -> dict[str, float]:
    parts = {k: (v if v >= 5e-5 else 0.0) for k, v in p.parts.items()}  # a step that did nothing: 0
    parts["lock"] = p.lock_wait
    under = sum(parts.get(k, 0.0) for k in ("take_numbers", "record_publication", "record_files"))
    # The lock is held from its UPDATE to the end of the commit; the steps inside are timed.
    parts["commit"] = max(0.0, p.lock_held - p.lock_wait - under)
    parts["other"] = p.total - sum(parts.values())
    return parts


def ms(seconds: float) -> str:
    if seconds == 0:
        return "-"
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def report(args: argparse.Namespace, big: int, cap: int, warm: Publish, rounds: list[list[Publish]]) -> None:
    brief = args.brief.relative_to(ROOT) if args.brief.is_relative_to(ROOT) else args.brief
    shape = "no list: the series' default print run" if args.blank else "a list of one copy per recipient"
    print(f"brief        {brief}; big print run {big:,} copies ({shape}; cap {cap:,})")
    print(f"warm-up      30-copy publish {warm.total:.2f} s")
    for index, row in enumerate(rounds, start=1):
        parts = [parts_of(p) for p in row]
        small = parts[0]
        width = 22
        print(f"\nround {index:<36}" + "".join(f"{p.label:>{width}}" for p in row) + "   ratio to 30")

        def line(label: str, cells: list[str], ratios: list[str] | None = None) -> None:
            text = f"  {label:<40}" + "".join(f"{c:>{width}}" for c in cells)
            print(text + ("   " + " ".join(ratios) if ratios else ""))

        for key, label in PARTS:
            ratios = ([f"{p[key] / small[key]:.0f}x" if p[key] else "-" for p in parts[1:]]
                      if small[key] > 0.0005 else [])
            line(label, [ms(p[key]) for p in parts], ratios)
        line("whole publish", [f"{p.total:.2f} s" for p in row], [f"{p.total / row[0].total:.1f}x" for p in row[1:]])
        verdicts = ", ".join(f"{p.label}: {'ok' if p.total < TARGET_S else 'MISSED'}" for p in row[1:])
        print(f"  {'':<40}target < {TARGET_S:.0f} s: {verdicts}")
        line("numbering lock held", [ms(p.lock_held) for p in row])
        line("CPU time (all threads)", [f"{p.cpu:.2f} s" for p in row])
        line("file store: bytes written", [f"{p.file_bytes / 1e6:.1f} MB" for p in row])
        line("file store: files", [f"{p.files:,}" for p in row])
        line("database + WAL growth", [f"{p.db_bytes / 1e6:.2f} MB" for p in row])
        line("RSS before the publish", [f"{p.rss_start_mib:.0f} MiB" for p in row])
        line("RSS peak during it (growth)", [f"+{p.rss_peak_mib - p.rss_start_mib:.0f} MiB" for p in row])
        line("RSS after it", [f"{p.rss_end_mib:.0f} MiB" for p in row])
        for p, part in zip(row[1:], parts[1:]):
            per_copy = (f"stamp {part['stamp_copies'] / p.copies * 1000:.2f} ms, "
                        f"store {part['store_files'] / p.copies * 1000:.2f} ms" if part["stamp_copies"] else
                        f"stamp + store {part['store_files'] / p.copies * 1000:.2f} ms (one step)")
            print(f"  {p.label}: per copy {per_copy}; made {p.made:,} copies")


if __name__ == "__main__":
    sys.exit(main())
