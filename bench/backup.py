"""Backup and restore against plainly copying the same files.

    .venv/bin/python bench/backup.py                       # the demo instance, then 1,000 issued briefs
    .venv/bin/python bench/backup.py --briefs 200 --reps 1 # quicker
    .venv/bin/python bench/backup.py --skip-demo --keep /tmp/canyue-bench-backup

Two SQLite instances, each in a throw-away folder (schema from the migrations):

- demo: what `flask --app app demo` loads (users, series, recipients, three briefs, one
  imported past issue with its archival PDF);
- issued: --briefs issued briefs with a print run of --copies numbered copies each. --real of
  them are published for real (render, master, stamped copies, audit events, anchors); the
  rest are cloned from those with SQL (brief, revisions, distribution lists, copies and
  stored-file rows, new numbers), each cloned file being its template's bytes plus a unique
  trailing PDF comment, so every file is distinct and of real size. Clones carry no audit
  events (their chains are empty, which verifies) and no `event_seq`. The search index is
  rebuilt over all of them.

For each: `create_backup` (in process: the ~1 s start of the `flask` command is not counted),
its size, `verify_backup`, `restore_backup` into a fresh instance (checked with audit verify
and archive verify, not timed), the same encrypted to an age key, and the baseline: `cp` of
the database file and `cp -r` of the files folder, plain and followed by `sync` (backup and
restore make their writes durable; cp does not). Medians of --reps runs; the page cache is
warm (the machine has far more memory than the data).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY_ID, KEY = "bench1", "4b" * 32


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--briefs", type=int, default=1000, help="issued briefs in the second instance")
    parser.add_argument("--copies", type=int, default=10, help="print run of each issued brief")
    parser.add_argument("--real", type=int, default=3, help="of them, published for real")
    parser.add_argument("--reps", type=int, default=3, help="runs of each measurement (median)")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-issued", action="store_true")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="canyue-bench-backup-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not args.skip_demo:
            measure("demo instance", build_demo(work / "demo"), work / "demo-runs", args.reps)
        if not args.skip_issued:
            source = build_issued(work / "issued", args.briefs, args.copies, args.real)
            measure(f"{args.briefs:,} issued briefs x {args.copies} copies", source, work / "issued-runs", args.reps)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def make_instance(folder: Path) -> Any:
    from app import create_app

    folder.mkdir(parents=True, exist_ok=True)
    return create_app({
        "TESTING": True, "SECRET_KEY": "bench", "SERVER_NAME": "bench.local",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'canyue.sqlite3'}",
        "CANYUE_FILES_DIR": str(folder / "files"), "CANYUE_AUDIT_ANCHOR_FILE": str(folder / "audit-anchors.log"),
        "CANYUE_AUDIT_KEYS": {KEY_ID: KEY}, "CANYUE_AUDIT_KEY_ID": KEY_ID,
    })


def migrated(folder: Path) -> Any:
    import flask_migrate

    app = make_instance(folder)
    logging.disable(logging.INFO)  # the migrations' progress lines
    try:
        with app.app_context():
            flask_migrate.upgrade()
    finally:
        logging.disable(logging.NOTSET)
    return app


def build_demo(folder: Path) -> Any:
    from commands.demo import load_demo

    app = migrated(folder)
    with app.app_context():
        load_demo()
    return finish(app)


def build_issued(folder: Path, briefs: int, copies: int, real: int) -> Any:
    from sqlalchemy import insert, select

    from archive.search import rebuild_index
    from extensions import db
    from models import Brief, Copy, DistributionEntry, Revision, Series, StoredFile, User
    from publishing.brieffile import parse_brief_file
    from publishing.pipeline import publish
    from publishing.storage import object_path, sha256_of
    from workflows.transitions import apply_transition, create_brief

    started = time.perf_counter()
    app = migrated(folder)
    demo = sorted((ROOT / "demo" / "briefs").glob("*.md"))
    with app.app_context():
        people = {}
        for name, roles in (("drafter", {"drafter"}), ("editor", {"editor"}), ("signer", {"signer"})):
            people[name] = User(username=name, display_name=name, password_hash="x")
            people[name].set_roles(roles)
            db.session.add(people[name])
        series = Series(name="领导参阅", hosts="苏州太湖书院\n苏州太湖智库", contact_phone="0512-66881234",
                        address="苏州市吴中区示例路 100 号", default_print_run=copies, first_total_number=31)
        db.session.add(series)
        db.session.commit()
        templates = []
        for n in range(real):
            content = parse_brief_file(demo[n % len(demo)].read_text(encoding="utf-8")).content()
            content["special_report"] = []  # all copies from the print run
            brief = create_brief(db.session, people["drafter"], series, content)
            for action, who in (("submit", "drafter"), ("approve", "editor"), ("sign", "signer")):
                apply_transition(db.session, brief, action, people[who])
            db.session.commit()
            publish(db.session, brief.id, db.session.get(User, people["editor"].id), issue_date=date(2026, 3, 2 + n))
            templates.append(brief.id)
        print(f"  setup: {real} issues published for real in {time.perf_counter() - started:.1f} s", flush=True)

        conn = db.session.connection()
        store_root = Path(app.config["CANYUE_FILES_DIR"])
        tables = {t: t.__table__ for t in (Brief, Revision, DistributionEntry, Copy, StoredFile)}

        def rows_of(model: Any, **where: Any) -> list[dict[str, Any]]:
            table = tables[model]
            query = select(table)
            for column, value in where.items():
                query = query.where(table.c[column] == value)
            return [dict(r) for r in conn.execute(query.order_by(table.c.id)).mappings()]

        source = {t: {"brief": rows_of(Brief, id=t)[0], "revisions": rows_of(Revision, brief_id=t),
                      "entries": rows_of(DistributionEntry, brief_id=t), "copies": rows_of(Copy, brief_id=t),
                      "files": rows_of(StoredFile, brief_id=t)} for t in templates}
        data = {row["path"]: (store_root / row["path"]).read_bytes()
                for t in templates for row in source[t]["files"]}
        next_id = {model: (conn.execute(select(tables[model].c.id).order_by(tables[model].c.id.desc()).limit(1))
                           .scalar() or 0) + 1 for model in tables}
        pending: dict[Any, list[dict[str, Any]]] = {model: [] for model in tables}
        first_day = date(2000, 1, 3)
        for i in range(briefs - real):
            t = source[templates[i % real]]
            year, number = 2000 + i // 50, i % 50 + 1
            brief_id = next_id[Brief]
            next_id[Brief] += 1
            issue_date = first_day.replace(year=year) + timedelta(days=7 * (number - 1))
            pending[Brief].append({**t["brief"], "id": brief_id, "title": f"{t['brief']['title']}（{i + 1}）",
                                   "issue_date": issue_date, "issue_year": year, "issue_number": number,
                                   "total_number": 10_000 + i, "audit_head": None})
            for row in t["revisions"]:
                pending[Revision].append({**row, "id": next_id[Revision], "brief_id": brief_id})
                next_id[Revision] += 1
            for row in t["entries"]:
                pending[DistributionEntry].append({**row, "id": next_id[DistributionEntry], "brief_id": brief_id})
                next_id[DistributionEntry] += 1
            copy_ids = {}
            for row in t["copies"]:
                copy_ids[row["id"]] = next_id[Copy]
                pending[Copy].append({**row, "id": next_id[Copy], "brief_id": brief_id})
                next_id[Copy] += 1
            for k, row in enumerate(t["files"]):
                content = data[row["path"]] + f"\n%canyue-bench-clone {i:06d}-{k:04d}\n".encode()
                digest = sha256_of(content)
                path = object_path(digest, ".pdf")
                target = store_root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
                pending[StoredFile].append({**row, "id": next_id[StoredFile], "brief_id": brief_id, "path": path,
                                            "sha256": digest, "size": len(content), "event_seq": None,
                                            "copy_id": copy_ids.get(row["copy_id"])})
                next_id[StoredFile] += 1
        for model in (Brief, Revision, DistributionEntry, Copy, StoredFile):
            for start in range(0, len(pending[model]), 2000):
                conn.execute(insert(tables[model]), pending[model][start:start + 2000])
        rebuild_index(db.session)
        db.session.commit()
    print(f"  setup: {briefs - real} more cloned with SQL; {time.perf_counter() - started:.1f} s in all", flush=True)
    return finish(app)


def finish(app: Any) -> Any:
    """Fold the WAL into the database file (so that `cp` of the file is a whole copy) and
    write everything out, so that no measurement pays for the setup's writes."""
    from sqlalchemy import text

    from extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute(text("SELECT 1"))
        db.engine.dispose()
    os.sync()
    return app


def timed(action: Callable[..., Any], *args: Any) -> float:
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def measure(label: str, source: Any, runs: Path, reps: int) -> None:
    from pyrage import x25519

    from backup.create import create_backup
    from backup.restore import restore_backup
    from backup.verify import verify_backup

    source_dir = Path(source.config["CANYUE_FILES_DIR"]).parent
    db_file = source_dir / "canyue.sqlite3"
    file_count, files_bytes = folder_size(source_dir / "files")
    plain_bytes = db_file.stat().st_size + files_bytes
    identity = x25519.Identity.generate()
    key_file = runs / "backup-key.txt"
    runs.mkdir(parents=True, exist_ok=True)
    key_file.write_text(f"{identity}\n")
    figures: dict[str, list[float]] = {k: [] for k in ("cp", "cp+sync", "create", "verify", "restore",
                                                       "create (age)", "verify (age)", "restore (age)")}
    sizes: dict[str, int] = {}

    def copy(target: Path, sync: bool) -> None:
        target.mkdir(parents=True)
        subprocess.run(["cp", str(db_file), str(target / "canyue.sqlite3")], check=True)
        subprocess.run(["cp", "-r", str(source_dir / "files"), str(target / "files")], check=True)
        if sync:
            os.sync()

    for rep in range(reps):
        for name, sync in (("cp", False), ("cp+sync", True)):
            target = runs / f"{name}-{rep}"
            os.sync()
            figures[name].append(timed(copy, target, sync))
            shutil.rmtree(target)
            os.sync()
        for suffix, recipients, ident in (("", [], None), (" (age)", [str(identity.to_public())], key_file)):
            backup = runs / f"backup-{rep}.tar{'.age' if recipients else ''}"
            with source.app_context():
                figures["create" + suffix].append(timed(create_backup, source, backup, recipients))
            sizes["backup" + suffix] = backup.stat().st_size
            figures["verify" + suffix].append(timed(verify_backup, backup, ident))
            target = make_instance(runs / f"restored-{rep}{suffix.strip(' ()')}")
            os.sync()
            with target.app_context():
                figures["restore" + suffix].append(timed(restore_backup, target, backup, ident))
            check(target)
            with target.app_context():
                from extensions import db

                db.engine.dispose()
            shutil.rmtree(runs / f"restored-{rep}{suffix.strip(' ()')}")
            backup.unlink()
            os.sync()

    med = {k: statistics.median(v) for k, v in figures.items()}
    best = {k: min(v) for k, v in figures.items()}

    def shown(seconds: float) -> str:
        return f"{seconds:8.2f}s" if seconds >= 1 else f"{seconds * 1000:7.0f}ms"

    print(f"\n{label}: database {db_file.stat().st_size / 1e6:.1f} MB, {file_count:,} stored files "
          f"{files_bytes / 1e6:.1f} MB; {reps} runs: median, and best (the least disturbed by other load)")
    print(f"  {'':16} {'median':>9} {'/ cp':>7} {'/ cp+sync':>10}   {'best':>9} {'/ cp':>7} {'/ cp+sync':>10}")
    for name in ("cp", "cp+sync", "create", "verify", "restore", "create (age)", "verify (age)", "restore (age)"):
        print(f"  {name:16} {shown(med[name])} {med[name] / med['cp']:6.2f}x {med[name] / med['cp+sync']:9.2f}x   "
              f"{shown(best[name])} {best[name] / best['cp']:6.2f}x {best[name] / best['cp+sync']:9.2f}x")
    for name in ("backup", "backup (age)"):
        print(f"  size, {name:16} {sizes[name] / 1e6:8.1f} MB  {sizes[name] / plain_bytes:.3f}x the copied files "
              f"({plain_bytes / 1e6:.1f} MB)")


def check(instance: Any) -> None:
    runner = instance.test_cli_runner()
    for command in (["audit", "verify"], ["archive", "verify"]):
        result = runner.invoke(args=command)
        if result.exit_code != 0:
            raise SystemExit(f"the restored instance does not pass {' '.join(command)}:\n{result.output}")


if __name__ == "__main__":
    sys.exit(main())
