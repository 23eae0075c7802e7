"""The job queue: a failing send is retried with backoff, ends `failed` and shows on the
admin's home with a retry button (the admin's alone); a worker — the real `flask --app app
worker`, a process of its own — SIGKILLed in the middle of a job leaves it unfinished, and the
next worker to start does it; a job whose worker's lease ran out is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from extensions import db
from jobs import operations
from jobs.queue import queue
from jobs.registry import KINDS
from jobs.worker import drain
from models import Brief, Job, User
from models.types import utcnow
from tests.conftest import ANCHOR_FILE, AUDIT_KEY, AUDIT_KEY_ID, DATABASE_URL, FILES_DIR, PEOPLE
from tests.mailserver import MailServer, body_of
from workflows.brief import State
from workflows.transitions import apply_transition

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mail(app, people, monkeypatch):
    """A real SMTP server; only the editor has an address, so one move makes one mail job."""
    with MailServer() as server:
        for key, value in server.config().items():
            monkeypatch.setitem(app.config, key, value)
        with app.app_context():
            db.session.get(User, people["editor"]).email = "editor@example.org"
            db.session.commit()
        queue(app).huey.flush()
        yield server
        queue(app).huey.flush()


def submit(app, brief_id: int) -> int:
    """The drafter submits; returns the id of the one mail job (the editor's)."""
    with app.app_context():
        drafter = db.session.scalar(select(User).where(User.username == "drafter"))
        apply_transition(db.session, db.session.get(Brief, brief_id), "submit", drafter)
        db.session.commit()
        return db.session.scalar(select(Job.id).where(Job.state == "queued"))


def job_row(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def test_a_failing_send_is_retried_with_backoff_then_failed_and_shown_to_the_admin(app, mail, make_brief,
                                                                                  login_as):
    brief_id = make_brief(State.DRAFT)
    mail.handler.refuse = True
    job_id = submit(app, brief_id)
    kind = KINDS["notification.mail"]
    waits = []
    for attempt in range(1, kind.max_attempts + 1):
        before = utcnow()
        assert drain(app) == [(job_id, "retry" if attempt < kind.max_attempts else "failed")]
        job = job_row(app, job_id)
        assert job.attempts == attempt and "554" in (job.last_error or "")
        if job.state == "queued":
            waits.append(job.next_attempt_at - before)
            assert drain(app) == []  # not due yet: the backoff holds
            with app.app_context():  # time passes
                db.session.execute(update(Job).where(Job.id == job_id).values(next_attempt_at=utcnow()))
                db.session.commit()
    assert job.state == "failed" and job.finished_at is not None
    assert mail.handler.attempts == kind.max_attempts and mail.handler.received == []
    # Exponential: each wait about twice the one before.
    assert [round(w.total_seconds() / kind.backoff_seconds) for w in waits] == [1, 2, 4, 8]

    admin = login_as("admin")
    home = admin.get("/admin").get_data(as_text=True)
    assert 'data-failed-jobs="1"' in home and f'action="/admin/jobs/{job_id}/retry"' in home
    assert "554" in home

    for name in sorted(set(PEOPLE) - {"admin"}):
        assert login_as(name).post(f"/admin/jobs/{job_id}/retry").status_code == 403, name
    assert app.test_client().post(f"/admin/jobs/{job_id}/retry").status_code in (302, 400)  # signed out
    assert job_row(app, job_id).state == "failed"
    assert admin.post(f"/admin/jobs/{job_id}/retry", csrf=False).status_code == 400

    mail.handler.refuse = False
    queue(app).huey.flush()  # drain ran the rows; forget the ids huey still carries
    assert admin.post(f"/admin/jobs/{job_id}/retry").status_code == 302
    assert queue(app).huey.pending_count() == 1  # handed over after the retry's commit
    assert drain(app) == [(job_id, "done")]
    assert [m["To"] for m in mail.handler.received] == ["editor@example.org"]
    assert job_row(app, job_id).state == "done"
    assert 'data-failed-jobs="0"' in admin.get("/admin").get_data(as_text=True)
    assert admin.post(f"/admin/jobs/{job_id}/retry").status_code == 302  # done: nothing to retry
    assert job_row(app, job_id).state == "done"
    assert admin.post("/admin/jobs/999999/retry").status_code == 404


def test_a_job_whose_worker_lease_ran_out_is_taken_over(app, mail, make_brief):
    brief_id = make_brief(State.DRAFT)
    job_id = submit(app, brief_id)
    with app.app_context():
        assert operations.claim(db.session, job_id, "elsewhere:1") is not None
        db.session.commit()
    assert drain(app) == []  # running, its lease holds: nobody else takes it
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert drain(app) == [(job_id, "done")]
    job = job_row(app, job_id)
    assert job.attempts == 2 and len(mail.handler.received) == 1


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", "1"],
                            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_worker_killed_mid_job_leaves_it_to_the_next_worker(app, mail, make_brief):
    brief_id = make_brief(State.DRAFT)
    runtime = Path(tempfile.mkdtemp(prefix="canyue-worker-"))
    log = runtime / "worker.log"
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "CANYUE_JOBS_URL": f"sqlite:///{runtime / 'jobs.sqlite3'}",
           "SECRET_KEY": "test-secret", "CANYUE_AUDIT_KEYS": f"{AUDIT_KEY_ID}={AUDIT_KEY}",
           "CANYUE_AUDIT_KEY_ID": AUDIT_KEY_ID, "CANYUE_AUDIT_ANCHOR_FILE": str(ANCHOR_FILE),
           "CANYUE_FILES_DIR": str(FILES_DIR), "CANYUE_THROTTLE_DIR": str(runtime / "throttle"),
           **{k: str(v) for k, v in mail.config().items()}}
    env.pop("FLASK_APP", None)
    mail.handler.hold.set()  # the SMTP server keeps the first worker waiting in mid-send
    job_id = submit(app, brief_id)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        workers.append(_worker(env, log))
        assert _wait(mail.handler.holding.is_set), log.read_text()
        first = workers[0]
        job = job_row(app, job_id)
        assert job.state == "running" and job.claimed_by.endswith(f":{first.pid}")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        assert job_row(app, job_id).state == "running"  # what huey alone would have lost
        mail.handler.hold.clear()
        assert _wait(lambda: not mail.handler.holding.is_set(), 10)
        assert mail.handler.received == []

        workers.append(_worker(env, log))
        assert _wait(lambda: job_row(app, job_id).state == "done"), log.read_text()
        job = job_row(app, job_id)
        assert job.attempts == 2 and job.claimed_by.endswith(f":{workers[1].pid}")
        assert "stopped during the job" not in (job.last_error or "")  # done clears the error
        [message] = mail.handler.received
        assert f"/briefs/{brief_id}" in body_of(message)
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


def test_a_periodic_job_starts_once_however_many_workers_schedule_it(app):
    """Each worker runs the scheduler (several machines: one worker each); the minute's run is
    one job, whichever worker's scheduler is first, over real concurrent connections."""
    import threading

    from jobs.registry import PERIODIC
    from jobs.worker import enqueue_periodic
    from longwork.operations import VERIFY

    entry = next(p for p in PERIODIC if p.kind == VERIFY)
    due = datetime(2026, 12, 6, 2, 30, 0, 400000, tzinfo=UTC)
    barrier, made = threading.Barrier(4), []

    def scheduler(when: datetime) -> None:
        barrier.wait()
        made.append(enqueue_periodic(app, entry, when))

    threads = [threading.Thread(target=scheduler, args=(due + timedelta(milliseconds=100 * n),)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(made) == [False, False, False, True]
    assert enqueue_periodic(app, entry, due + timedelta(days=7))  # next Sunday's run is another
    with app.app_context():
        keys = db.session.scalars(select(Job.unique_key).where(Job.kind == VERIFY).order_by(Job.id)).all()
    assert keys == ["periodic:archive.verify:2026-12-06T02:30", "periodic:archive.verify:2026-12-13T02:30"]


def test_features_add_job_kinds_and_periodic_jobs_that_report_progress(app):
    from jobs.registry import PERIODIC, crontab, job_kind, periodic
    from jobs.worker import enqueue_periodic

    seen = []

    @job_kind("test.tick", max_attempts=2)
    def tick(ctx):
        for done in range(1, 4):
            ctx.session.commit()
            ctx.progress(done, 3)
            with db.engine.connect() as connection:  # seen by others at once
                seen.append(connection.scalar(select(Job.progress).where(Job.id == ctx.job.id)))
        assert ctx.payload == {"scope": "all"}

    periodic("test.tick", crontab(minute="0", hour="3"), {"scope": "all"})
    try:
        [entry] = [p for p in PERIODIC if p.kind == "test.tick"]
        enqueue_periodic(app, entry)  # what the worker's scheduler does at 03:00
        with app.app_context():
            job_id = db.session.scalar(select(Job.id).where(Job.kind == "test.tick"))
        assert drain(app) == [(job_id, "done")]
        job = job_row(app, job_id)
        assert (job.progress, job.total, job.attempts) == (3, 3, 1)
        assert seen == [1, 2, 3]
        with app.app_context(), pytest.raises(ValueError):
            operations.enqueue(db.session, "test.no-such-kind")
    finally:
        PERIODIC[:] = [p for p in PERIODIC if p.kind != "test.tick"]
        KINDS.pop("test.tick", None)
