"""Long work as background jobs (longwork/): a BagIt export, the fixity verification (weekly
too), the reindex, the PDF backfill and a backup run as jobs with progress; the job's page
shows it and then the result, to the user who started it only; a failure reaches the admin;
an export whose worker is SIGKILLed midway is finished by the next worker, and the command
line's `--queue` follows a job in a real worker with a progress bar."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import zipfile
from datetime import date, timedelta
from pathlib import Path

import bagit
from sqlalchemy import select

from extensions import db
from jobs.registry import PERIODIC
from jobs.worker import drain
from longwork.operations import EXPORT, VERIFY
from models import AuditEvent, Brief, Job, User
from tests.conftest import ANCHOR_FILE, AUDIT_KEY, AUDIT_KEY_ID, DATABASE_URL, FILES_DIR, RUNTIME_DIR, fetch
from tests.test_jobs import _wait, _worker
from workflows.brief import State

ROOT = Path(__file__).resolve().parent.parent


def job_row(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def start_export(client, data) -> int:
    response = client.post("/archive/export", data)
    assert response.status_code == 302, response.status_code
    return int(response.location.rstrip("/").rsplit("/", 1)[1])


def test_an_export_runs_as_a_job_with_progress_and_only_its_starter_downloads_it(app, make_brief, login_as, people):
    ids = [make_brief(State.PUBLISHED, issue_date=date(2026, m, 1)) for m in (1, 2, 3)]
    archivist = login_as("archivist")
    job_id = start_export(archivist, {"series": str(fetch(app, ids[0]).series_id), "year": "2026"})
    page = archivist.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'data-state="queued"' in page and "<progress" in page and "jobs.js" in page
    assert archivist.get(f"/jobs/{job_id}/download").status_code == 404  # not made yet
    status = archivist.get(f"/jobs/{job_id}/status.json").get_json()
    assert status["state"] == "queued" and not status["finished"]

    assert drain(app) == [(job_id, "done")]
    job = job_row(app, job_id)
    assert (job.progress, job.total, job.user_id) == (4, 4, people["archivist"])  # 3 issues + the bag
    assert archivist.get(f"/jobs/{job_id}/status.json").get_json()["finished"] is True
    page = archivist.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f"/jobs/{job_id}/download" in page and "共 3 期" in page  # "3 issues, bag validated."
    assert f"/jobs/{job_id}" in archivist.get("/jobs").get_data(as_text=True)
    download = archivist.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.data)) as bundle:
        assert len([n for n in bundle.namelist() if n.endswith("issue.pdf")]) == 3

    # Another archivist, the editor, the admin: the job is not theirs to see.
    with app.app_context():
        other = User(username="archivist2", display_name="另一位档案员",
                     password_hash=db.session.get(User, people["archivist"]).password_hash)
        other.set_roles({"archivist"})
        db.session.add(other)
        db.session.commit()
    for name in ("archivist2", "editor", "admin"):
        client = login_as(name)
        for url in (f"/jobs/{job_id}", f"/jobs/{job_id}/download", f"/jobs/{job_id}/status.json"):
            assert client.get(url).status_code == 404, (name, url)
    assert login_as("editor").post("/archive/export", {"year": "2026"}).status_code == 403
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(
            ["job_started", "bag_exported", "bag_downloaded"])).order_by(AuditEvent.id)).all()
        assert actions == ["job_started", "bag_exported", "bag_downloaded"]


def test_an_export_waits_in_the_store_checked_and_expires_after_its_days(app, make_brief, login_as):
    make_brief(State.PUBLISHED, issue_date=date(2026, 1, 1))
    archivist = login_as("archivist")
    job_id = start_export(archivist, {"year": "2026"})
    assert drain(app) == [(job_id, "done")]
    result = json.loads(job_row(app, job_id).result)
    stored = FILES_DIR / "exports" / str(job_id) / result["file"]
    assert stored.is_file() and stored.stat().st_size == result["bytes"]  # in the file store, every node's
    assert "保留 7 天" in archivist.get(f"/jobs/{job_id}").get_data(as_text=True)
    admin = login_as("admin")
    assert admin.post("/jobs/start", {"kind": VERIFY}).status_code == 302
    drain(app)
    with app.app_context():
        verified = db.session.scalars(select(Job).where(Job.kind == VERIFY)).one()
        assert json.loads(verified.result)["counts"]["unexpected"] == 0  # exports are not the archive's

    original = stored.read_bytes()
    stored.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # a changed export is never served
    assert archivist.get(f"/jobs/{job_id}/download").status_code == 404
    stored.write_bytes(original)
    assert archivist.get(f"/jobs/{job_id}/download").data == original

    from jobs.operations import enqueue
    from longwork.operations import EXPIRE_EXPORTS

    def older_then_expire(days: int) -> None:
        """The export `days` older, then the daily job that expires exports."""
        with app.app_context():
            job = db.session.get(Job, job_id)
            job.finished_at = job.finished_at - timedelta(days=days)
            enqueue(db.session, EXPIRE_EXPORTS)
            db.session.commit()
        drain(app)

    older_then_expire(6)
    assert stored.is_file()  # six days old: kept
    older_then_expire(2)
    assert not stored.exists()  # eight days old: gone
    assert "expired" in json.loads(job_row(app, job_id).result)
    assert archivist.get(f"/jobs/{job_id}/download").status_code == 404
    page = archivist.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "导出文件保留 7 天，此文件已删除" in page and f"/jobs/{job_id}/download" not in page
    assert any(entry.kind == EXPIRE_EXPORTS for entry in PERIODIC)


def test_a_failed_export_is_reported_to_the_admin_not_retried(app, make_brief, login_as):
    brief_id = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 1))
    with app.app_context():
        (FILES_DIR / db.session.get(Brief, brief_id).master.path).write_bytes(b"%PDF-1.7 replaced")
    archivist = login_as("archivist")
    job_id = start_export(archivist, {"year": "2026"})
    assert drain(app) == [(job_id, "failed")]  # a tampered file: trying again cannot help
    assert job_row(app, job_id).attempts == 1
    assert "任务失败" in archivist.get(f"/jobs/{job_id}").get_data(as_text=True)
    home = login_as("admin").get("/admin").get_data(as_text=True)
    assert f'data-job="{job_id}"' in home and "archive.export" in home


def test_the_admin_runs_the_fixity_verification_and_reads_its_report(app, make_brief, login_as):
    fine = make_brief(State.PUBLISHED, issue_date=date(2026, 1, 1))
    broken = make_brief(State.PUBLISHED, issue_date=date(2026, 2, 1))
    with app.app_context():
        path = db.session.get(Brief, broken).master.path
    (FILES_DIR / path).write_bytes(b"changed")
    assert fine
    assert login_as("archivist").post("/jobs/start", {"kind": VERIFY}).status_code == 403
    admin = login_as("admin")
    assert admin.post("/jobs/start", {"kind": "no.such"}).status_code == 400
    response = admin.post("/jobs/start", {"kind": VERIFY})
    assert response.status_code == 302
    job_id = int(response.location.rsplit("/", 1)[1])
    assert drain(app) == [(job_id, "done")]
    result = json.loads(job_row(app, job_id).result)
    assert result["ok"] is False and result["changed"] == [path] and result["checked"] >= 2
    page = admin.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert path in page and "被改动 1 个" in page  # "1 changed"
    # The weekly run is a periodic entry of the one scheduler; nobody started it, the admin sees it.
    assert any(p.kind == VERIFY for p in PERIODIC)
    with app.app_context():
        from jobs.worker import enqueue_periodic

        enqueue_periodic(app, next(p for p in PERIODIC if p.kind == VERIFY))
        weekly = db.session.scalar(select(Job.id).where(Job.kind == VERIFY, Job.user_id.is_(None)))
    drain(app)
    assert f"/jobs/{weekly}" in admin.get("/jobs").get_data(as_text=True)
    assert admin.get(f"/jobs/{weekly}").status_code == 200


def test_reindex_and_backfill_run_as_jobs(app, make_brief, login_as):
    make_brief(State.PUBLISHED, issue_date=date(2026, 1, 1), title="关于元宇宙产业的建议")
    admin = login_as("admin")
    ids = []
    for kind in ("archive.reindex", "brief.backfill_pdfs"):
        response = admin.post("/jobs/start", {"kind": kind})
        ids.append(int(response.location.rsplit("/", 1)[1]))
    assert sorted(drain(app)) == [(ids[0], "done"), (ids[1], "done")]
    assert json.loads(job_row(app, ids[0]).result)["briefs"] == 1
    assert json.loads(job_row(app, ids[1]).result) == {"made": 0, "had_one": 1}
    assert "已为 1 期已印发的简报建立索引" in admin.get(f"/jobs/{ids[0]}").get_data(as_text=True)
    assert "元宇宙" in login_as("drafter2").get("/archive/search?q=元宇宙").get_data(as_text=True)


def _env(runtime: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "CANYUE_JOBS_URL": f"sqlite:///{runtime / 'jobs.sqlite3'}",
           "SECRET_KEY": "test-secret", "CANYUE_AUDIT_KEYS": f"{AUDIT_KEY_ID}={AUDIT_KEY}",
           "CANYUE_AUDIT_KEY_ID": AUDIT_KEY_ID, "CANYUE_AUDIT_ANCHOR_FILE": str(ANCHOR_FILE),
           "CANYUE_FILES_DIR": str(FILES_DIR), "CANYUE_THROTTLE_DIR": str(runtime / "throttle"),
           **extra}
    env.pop("FLASK_APP", None)
    return env


def test_an_export_killed_with_its_worker_is_finished_by_the_next(app, make_brief, login_as, tmp_path):
    ids = [make_brief(State.PUBLISHED, issue_date=date(2026, m, 1)) for m in (1, 2, 3)]
    runtime = Path(tempfile.mkdtemp(prefix="canyue-worker-"))
    log = runtime / "worker.log"
    env = _env(runtime, CANYUE_JOB_STEP_DELAY="1.0")  # a second per issue: time to kill it midway
    archivist = login_as("archivist")
    job_id = start_export(archivist, {"series": str(fetch(app, ids[0]).series_id), "year": "2026"})
    workers: list[subprocess.Popen[bytes]] = []
    try:
        workers.append(_worker(env, log))
        assert _wait(lambda: job_row(app, job_id).progress >= 1), log.read_text()
        first = workers[0]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        job = job_row(app, job_id)
        assert job.state == "running" and 1 <= job.progress < job.total == 4
        assert job.claimed_by.endswith(f":{first.pid}")

        workers.append(_worker(env, log))  # its startup sweep takes the job over
        assert _wait(lambda: job_row(app, job_id).state == "done"), log.read_text()
        job = job_row(app, job_id)
        assert job.attempts == 2 and job.progress == job.total == 4 and job.claimed_by.endswith(f":{workers[1].pid}")
        download = archivist.get(f"/jobs/{job_id}/download")
        assert download.status_code == 200
        with zipfile.ZipFile(io.BytesIO(download.data)) as bundle:
            bundle.extractall(tmp_path)
        bagit.Bag(str(next(p for p in tmp_path.iterdir() if p.is_dir()))).validate()

        # The command line: `--queue` hands the export to the running worker and follows it.
        output = tmp_path / "cli.zip"
        cli = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "archive", "export", "--year", "2026",
                              "-o", str(output), "--queue"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
        assert cli.returncode == 0, cli.stderr + log.read_text()
        assert "queued (archive.export)" in cli.stderr and "100%" in cli.stderr, cli.stderr
        assert "3 issues, bag validated" in cli.stdout and zipfile.is_zipfile(output)
    finally:
        for process in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=15)
    assert all(p.poll() is not None for p in workers)
    assert EXPORT


def test_a_backup_runs_as_a_job_and_the_admin_home_shows_it(app, make_brief, login_as, tmp_path, monkeypatch):
    from backup.verify import verify_backup

    make_brief(State.PUBLISHED, issue_date=date(2026, 1, 1))
    monkeypatch.setattr(app, "instance_path", str(tmp_path))  # the default file, instance/backups/
    admin = login_as("admin")
    job_id = int(admin.post("/jobs/start", {"kind": "backup.create"}).location.rsplit("/", 1)[1])
    assert drain(app) == [(job_id, "done")]
    job = job_row(app, job_id)
    assert job.state == "done"  # the backup's snapshot ends the job's session: the row is still marked
    result = json.loads(job.result)
    made = Path(result["file"])
    assert made.parent == tmp_path / "backups" and made.is_file()
    assert verify_backup(made, None).ok
    assert made.name in admin.get("/admin").get_data(as_text=True)
    assert "备份已写入" in admin.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_an_import_killed_with_its_worker_goes_on_with_the_next_file(app, series_id, people, login_as):
    from tests.test_archive import PAST_ISSUE

    files = [(io.BytesIO(PAST_ISSUE.format(issue=n, total=30 + n, date=f"2022-0{n}-10").encode()), f"2022-0{n}.md")
             for n in (1, 2, 3)]
    archivist = login_as("archivist")
    response = archivist.post("/archive/import", {"files": files}, content_type="multipart/form-data")
    assert response.status_code == 302
    job_id = int(response.location.rstrip("/").rsplit("/", 1)[1])
    runtime = Path(tempfile.mkdtemp(prefix="canyue-worker-"))
    log = runtime / "worker.log"
    env = _env(runtime, CANYUE_JOB_STEP_DELAY="1.5")  # time to kill it after the first file
    workers: list[subprocess.Popen[bytes]] = []
    try:
        workers.append(_worker(env, log))
        assert _wait(lambda: job_row(app, job_id).progress >= 1), log.read_text()
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=30)
        job = job_row(app, job_id)
        assert job.state == "running" and 1 <= job.progress < 3
        imported_before = job.progress
        workers.append(_worker(env, log))
        assert _wait(lambda: job_row(app, job_id).state == "done"), log.read_text()

        # The command line: `archive import --queue` checks the files, then follows the job.
        folder = Path(tempfile.mkdtemp(prefix="canyue-import-"))
        (folder / "2022-04.md").write_text(PAST_ISSUE.format(issue=4, total=34, date="2022-04-10"), encoding="utf-8")
        (folder / "2022-05.md").write_text("no front matter", encoding="utf-8")
        cli = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "archive", "import", str(folder),
                              "--as", "archivist", "--queue"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
        assert cli.returncode == 1, cli.stderr + log.read_text()  # one file refused
        assert "queued (archive.import)" in cli.stderr and "100%" in cli.stderr, cli.stderr
        assert "imported" in cli.stdout and "2022-05.md" in cli.stdout and "1 imported, 1 refused" in cli.stdout
    finally:
        for process in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
    job = job_row(app, job_id)
    result = json.loads(job.result)
    assert job.attempts == 2 and (result["imported"], result["refused"]) == (3, 0)  # none imported twice or refused
    assert [o["name"] for o in result["outcomes"]] == ["2022-01.md", "2022-02.md", "2022-03.md"]
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Brief.id))) == 4  # three from the page, one from the command line
        assert db.session.scalar(select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "import")) == 4
    assert imported_before >= 1
    page = archivist.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert page.count('data-outcome="ok"') == 3
