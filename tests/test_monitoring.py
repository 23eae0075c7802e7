"""Operations: /healthz and /readyz, /metrics (and who may read it), request ids, JSON logs,
and the deploy/ files: gunicorn started with deploy/gunicorn.conf.py in multiprocess metrics
mode, the systemd units checked by systemd-analyze."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import delete

import monitoring
from extensions import db
from jobs.queue import queue
from tests.conftest import AUDIT_KEY, AUDIT_KEY_ID, FILES_DIR
from workflows.brief import State

ROOT = Path(__file__).resolve().parents[1]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_healthz_and_readyz_answer_without_signing_in(app):
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200, response.data
    assert response.json == {"status": "ready", "checks": {"database": "ok", "storage": "ok", "queue": "ok"}}


def test_readyz_names_what_is_unreachable(app, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store should be")
    monkeypatch.setitem(app.config, "CANYUE_FILES_DIR", str(blocker / "files"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "storage": "unreachable", "queue": "ok"}
    assert str(blocker) not in response.get_data(as_text=True)  # the reason is logged, not shown
    monkeypatch.setitem(app.config, "CANYUE_FILES_DIR", str(FILES_DIR))

    def queue_down() -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setitem(monitoring.READINESS, "queue", queue_down)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["queue"] == "unreachable"


def test_readyz_on_object_storage(app, s3_server, monkeypatch):
    monkeypatch.setitem(app.config, "CANYUE_STORAGE_URL", "s3://canyue-test/ready")
    for key, value in s3_server.items():
        monkeypatch.setitem(app.config, key, value)
    app.extensions.pop("canyue.store", None)
    try:
        assert app.test_client().get("/readyz").status_code == 200
        monkeypatch.setitem(app.config, "CANYUE_STORAGE_URL", "s3://no-such-bucket/ready")
        app.extensions.pop("canyue.store", None)
        response = app.test_client().get("/readyz")
        assert response.status_code == 503 and response.json["checks"]["storage"] == "unreachable"
    finally:
        app.extensions.pop("canyue.store", None)


def test_metrics_count_requests_publishes_and_renders(app, make_brief, login_as):
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    make_brief(State.PUBLISHED)
    login_as("editor").get("/")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = response.get_data(as_text=True)
    assert sample(after, "canyue_publishes_total", action="publish", outcome="published") == \
        sample(before, "canyue_publishes_total", action="publish", outcome="published") + 1
    assert sample(after, "canyue_render_seconds_count") >= sample(before, "canyue_render_seconds_count") + 1
    assert sample(after, "canyue_request_seconds_count", endpoint="monitoring.metrics", method="GET",
                  status="200") >= 1



def test_the_queue_reports_through_its_probe(app):
    from monitoring import metrics

    wired = metrics._queue_probe
    metrics.set_queue_probe(lambda: {"depth": 3, "failed": 1})
    try:
        text = app.test_client().get("/metrics").get_data(as_text=True)
        metrics.set_queue_probe(None)
        assert "canyue_queue_depth" not in app.test_client().get("/metrics").get_data(as_text=True)  # no false 0
    finally:
        metrics.set_queue_probe(wired)
    assert sample(text, "canyue_queue_depth") == 3 and sample(text, "canyue_jobs_failed") == 1


def test_queue_depth_and_failed_jobs_are_counted_from_the_job_table(app):
    from jobs.operations import enqueue
    from models import Job
    from notifications.mail import MAIL_JOB

    client = app.test_client()
    assert sample(client.get("/metrics").get_data(as_text=True), "canyue_queue_depth") == 0
    with app.app_context():
        jobs = [enqueue(db.session, MAIL_JOB, {"notification_id": n}) for n in range(4)]
        jobs[0].state = "failed"
        jobs[1].state = "running"
        jobs[2].state = "done"
        db.session.commit()
        ids = [job.id for job in jobs]
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "canyue_queue_depth") == 1 and sample(text, "canyue_jobs_failed") == 1
    with app.app_context():
        db.session.execute(delete(Job).where(Job.id.in_(ids)))
        db.session.commit()
    queue(app).huey.flush()


def test_readyz_says_when_the_queue_store_does_not_answer(app, monkeypatch):
    """A Redis queue with no server behind it: not ready, and the queue is named."""
    import jobs.queue

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    monkeypatch.setitem(app.config, "CANYUE_JOBS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setitem(app.extensions, jobs.queue.EXTENSION, jobs.queue.JobQueue(app))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "storage": "ok", "queue": "unreachable"}


def test_metrics_are_for_this_machine_or_the_token(app, monkeypatch):
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    # A reverse proxy on this machine relays the world's requests from 127.0.0.1:
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    monkeypatch.setitem(app.config, "CANYUE_METRICS_TOKEN", "s3cret-token")
    assert client.get("/metrics").status_code == 403  # once a token is set, even from here
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"},
                          environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 200 and "canyue_request_seconds" in response.get_data(as_text=True)


def test_every_response_carries_a_request_id(app):
    client = app.test_client()
    given = client.get("/login", headers={"X-Request-ID": "lb-7f3a.42"})
    assert given.headers["X-Request-ID"] == "lb-7f3a.42"
    made = client.get("/login").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    odd = client.get("/login", headers={"X-Request-ID": "x" * 300}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)  # not echoed: made anew


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_gunicorn_with_the_deploy_config_logs_json_and_adds_up_its_workers(app, people):
    port, work = free_port(), Path(tempfile.mkdtemp(prefix="canyue-deploy-"))
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "deploy-test",
           "CANYUE_AUDIT_KEYS": f"{AUDIT_KEY_ID}={AUDIT_KEY}", "CANYUE_AUDIT_KEY_ID": AUDIT_KEY_ID,
           "CANYUE_AUDIT_ANCHOR_FILE": str(work / "anchors.log"), "CANYUE_FILES_DIR": str(work / "files"),
           "CANYUE_LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
           "CANYUE_GUNICORN_BIND": f"127.0.0.1:{port}", "CANYUE_GUNICORN_WORKERS": "2"}
    stderr = open(work / "stderr.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "app:create_app()"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, (work / "stderr.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        assert get(port, "/readyz")[0] == 200
        for n in range(20):  # spread over both workers
            status, headers, _ = get(port, "/login", {"X-Request-ID": f"probe-{n}"})
            assert status == 200 and headers["X-Request-ID"] == f"probe-{n}"
        status, _, body = get(port, "/metrics")
        assert status == 200
        assert sample(body.decode(), "canyue_request_seconds_count", endpoint="auth.login") == 20
    finally:
        process.terminate()
        process.wait(timeout=30)
        stderr.close()
    entries = []
    for line in (work / "stderr.log").read_text().splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    logged = {e["request_id"]: e for e in entries if e.get("logger") == "canyue.requests"}
    assert {f"probe-{n}" for n in range(20)} <= set(logged)
    assert logged["probe-3"]["path"] == "/login" and logged["probe-3"]["status"] == 200
    assert logged["probe-3"]["duration_ms"] >= 0
    shutil.rmtree(work, ignore_errors=True)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_are_valid(tmp_path):
    for unit in ("canyue-web.service", "canyue-worker.service"):
        text = (ROOT / "deploy" / unit).read_text()
        # Checked where the paths they name exist: this checkout stands in for /srv/canyue.
        (tmp_path / unit).write_text(text.replace("/srv/canyue/.venv/bin/", f"{sys.prefix}/bin/")
                                     .replace("/srv/canyue", str(ROOT))
                                     .replace("EnvironmentFile=/etc/canyue/canyue.env", "")
                                     .replace("User=canyue", "User=root").replace("Group=canyue", "Group=root"))
    result = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / u) for u in
                             ("canyue-web.service", "canyue-worker.service"))],
                            capture_output=True, text=True)
    problems = [line for line in (result.stderr + result.stdout).splitlines() if "canyue" in line]
    assert result.returncode == 0 and not problems, result.stderr + result.stdout
