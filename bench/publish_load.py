"""Pages, downloads and logins on a real server while issues are published back to back.

    .venv/bin/python bench/publish_load.py [--briefs 40] [--rounds 4] [--idle 5] [--workers 2]
                                           [--via process|http] [--render-under-lock | --without-commit]
                                           [--publisher-nice N]

On SQLite, in a throw-away instance directory (its own database, file store, fonts folder,
audit keys and anchor log, given to the app as its whole configuration; nothing is read from
the repository's instance/): the schema from the migrations, users with scrypt-hashed
passwords as the product makes them, a series whose default list makes 30 copies, and
--briefs + 1 signed briefs of the demo text. gunicorn serves it (sync workers, 127.0.0.1, a
free port). A publisher first publishes one brief (the issue the clients download; its own
warm-up), then waits: by default a separate process publishing through
`publishing.pipeline.publish` on the same database; with --via http an editor posting the
publish form to the server, so that a worker renders; with --render-under-lock the
publisher process runs every step under the numbering lock, as publishing did before (the
baseline); with --without-commit it runs everything but the commit part and rolls back (a
control: the same CPU and disk work, the write lock never taken); --publisher-nice N runs it
at a lower CPU priority.

Client threads (http.client, one connection per request, as gunicorn's sync workers close
it; a short random pause between requests):
  pages     2 threads, logged in as an editor: the published brief's page and the brief list
  download  1 thread, logged in as an archivist: the issue's archival PDF (writes a fixity row)
  login     1 thread: GET /login for a fresh session and its CSRF token, then the timed POST
            (scrypt; writes last_login_at), expecting the redirect

After a 3 s warm-up, IDLE and PUBLISHING windows alternate: --rounds bursts of publishes
(the --briefs briefs back to back, split evenly), each between two --idle-second idle
windows, so that both kinds of window see the same shared machine; the second after each
burst, while requests queued behind it drain, counts in neither. A request counts as
publishing when it overlapped a burst at all (however long it then took), as idle only when
it began and ended inside an idle window. Each response carries the server's own
timing (a bench-only wrapper): the request's wall and CPU time in the worker, its write
statements (the first takes SQLite's write lock: waiting for it is in there) and its
COMMIT (WAL append + fsync), so that a wait on the lock shows apart from waiting for a
worker, a CPU or the disk. The machine's CPU use per kind of window is printed too.

Printed: p50 / p95 / max and counts per kind and window; the publishes (count, wall time,
how long each held the numbering lock = SQLite's write lock). Targets: login p95 publishing
/ idle <= 1.5; brief page, brief list and download p95 <= 100 ms while publishing. Exit
status 1 when a target is missed, a request failed or a publish did not happen.
Only 127.0.0.1 is contacted; every loop ends by itself (with a hard deadline as well).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # after the root: bench/distribution.py is not the package

import common  # noqa: E402

HOST = "127.0.0.1"
PASSWORD = "bench password 2026"
TARGET_LOGIN_RATIO = 1.5
TARGET_P95_MS = 100.0
CONFIG_ENV = "CANYUE_BENCH_CONFIG"
HARD_LIMIT_S = 300  # no run, whatever its options, sends traffic for longer than this
SETTLE_S = 1.0  # after each burst of publishes, before the next idle window


# --- the server side: gunicorn imports this ------------------------------------------------


def wsgi_app():  # type: ignore[no-untyped-def]
    """The app for gunicorn (`bench.publish_load:wsgi_app()`), configured from the JSON file
    that CANYUE_BENCH_CONFIG names, plus the bench's timing headers: the request's wall and
    CPU time in the worker; its write statements (INSERT / UPDATE / DELETE: on SQLite the
    first one takes the write lock, so waiting for it is in there); its COMMITs (the WAL
    append and its fsync, synchronous=FULL)."""
    from flask import g, has_request_context
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from app import create_app
    from extensions import db

    config = json.loads(Path(os.environ[CONFIG_ENV]).read_text(encoding="utf-8"))
    app = create_app(config)
    with app.app_context():
        engine = db.engine

    def add(name: str, seconds: float) -> None:
        setattr(g, name, getattr(g, name, 0.0) + seconds)

    @event.listens_for(engine, "before_cursor_execute")
    def _statement_start(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info["bench_statement"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _statement_end(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        started = conn.info.pop("bench_statement", None)
        if started is not None and has_request_context() and statement.lstrip()[:6].upper() in WRITES:
            add("bench_write", time.perf_counter() - started)

    @event.listens_for(engine, "commit")
    def _commit_start(conn):  # type: ignore[no-untyped-def]
        if has_request_context():
            g.bench_commit_start = time.perf_counter()

    def _commit_end(session: Any) -> None:  # first in line: before the anchor is appended
        if has_request_context() and "bench_commit_start" in g:
            add("bench_commit", time.perf_counter() - g.pop("bench_commit_start"))

    event.listen(Session, "after_commit", _commit_end, insert=True)

    @app.before_request
    def _bench_start() -> None:
        g.bench_start, g.bench_cpu = time.perf_counter(), time.process_time()

    @app.after_request
    def _bench_headers(response):  # type: ignore[no-untyped-def]
        # A sync worker serves one request at a time: its process CPU time is the request's.
        response.headers["X-Bench-Server-Ms"] = f"{(time.perf_counter() - g.bench_start) * 1000:.2f}"
        response.headers["X-Bench-Cpu-Ms"] = f"{(time.process_time() - g.bench_cpu) * 1000:.2f}"
        response.headers["X-Bench-Write-Ms"] = f"{getattr(g, 'bench_write', 0.0) * 1000:.2f}"
        response.headers["X-Bench-Commit-Ms"] = f"{getattr(g, 'bench_commit', 0.0) * 1000:.2f}"
        return response

    return app


WRITES = {"INSERT", "UPDATE", "DELETE"}


# --- the publisher process -------------------------------------------------------------------


# --render-under-lock: the pipeline as it was before, every step under the numbering lock
# (on SQLite the write lock): numbers, 共印, render, stamp, store, then the rows and commit.
# take_numbers is left out: numbers planned under the lock cannot have moved.
OLD_ORDER = ["plan_numbers", "settle_print_run", "render_master", "stamp_copies", "store_files",
             "record_publication", "record_files"]


class Skipped(Exception):
    """--without-commit: raised after the last prepare step, so the publish rolls back."""


def publisher_main(config_path: Path, ids: list[int], editor: str, max_seconds: float, under_lock: bool,
                   without_commit: bool = False, nice: int = 0) -> int:
    """Publish ids[0] (warm-up) and say "ready"; then for each line "go N" publish the next N
    briefs back to back, one JSON line each, and say "paused"; stop at "quit" (or at the
    end of the input, or after max_seconds of publishing)."""
    from app import create_app
    from extensions import db
    from models import User
    from publishing import pipeline

    if nice:
        os.nice(nice)  # only ever lowers this process's own priority
    app = create_app(json.loads(config_path.read_text(encoding="utf-8")))
    steps: dict[str, Any] = {}
    if under_lock:
        every = {step.__name__: step for step in pipeline.PREPARE_STEPS + pipeline.COMMIT_STEPS}
        steps = {"prepare": [], "commit": [every[name] for name in OLD_ORDER]}
    if without_commit:
        def skip_the_commit(ctx: Any) -> None:
            raise Skipped()

        steps = {"prepare": [*pipeline.PREPARE_STEPS, skip_the_commit]}
    lock = common.LockClock()
    lock.install()
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.username == editor))

        def publish(brief_id: int) -> dict[str, Any]:
            actor = db.session.get(User, user_id)
            db.session.commit()
            lock.held.clear()
            lock.waited.clear()
            start = time.monotonic()
            try:
                pipeline.publish(db.session, brief_id, actor, issue_date=date.today(), **steps)
            except Skipped:
                pass  # rolled back, its files removed: the lock was never taken
            end = time.monotonic()
            return {"id": brief_id, "start": start, "end": end, "lock_held": sum(lock.held),
                    "lock_wait": sum(lock.waited)}

        if without_commit:  # the issue the clients download is published for real
            plain, steps = steps, {}
            publish(ids[0])
            steps = plain
        else:
            publish(ids[0])
        print("ready", flush=True)
        queue = list(ids[1:])
        budget = max_seconds
        for line in sys.stdin:
            command = line.split()
            if not command or command[0] != "go":
                break
            started = time.monotonic()
            for _ in range(int(command[1])):
                if not queue or time.monotonic() - started > budget:
                    break
                print(json.dumps(publish(queue.pop(0))), flush=True)
            budget -= time.monotonic() - started
            print("paused", flush=True)
    return 0


# --- HTTP clients ------------------------------------------------------------------------------


class Browser:
    """One browser: cookies, one connection per request (gunicorn's sync workers close it)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Host": f"{HOST}:{self.port}", "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            for raw in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(raw)
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
            return response.status, data, {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()

    def csrf(self, path: str) -> str:
        status, page, _ = self.request("GET", path)
        match = re.search(rb'name="[\w-]*csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or match is None:
            raise RuntimeError(f"GET {path}: {status}, no CSRF token")
        return match.group(1).decode()

    def log_in(self, username: str) -> tuple[int, dict[str, str]]:
        token = self.csrf("/login")
        status, _, headers = self.request("POST", "/login", {"username": username, "password": PASSWORD,
                                                             "csrf_token": token})
        return status, headers


@dataclass
class Sample:
    kind: str
    start: float
    end: float
    ok: bool
    commit_ms: float | None
    server_ms: float | None
    cpu_ms: float | None
    write_ms: float | None

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


@dataclass
class Load:
    port: int
    brief_id: int
    stop: threading.Event = field(default_factory=threading.Event)
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    client_share: float = 0.0  # CPU this process (the clients) used, in cores

    def record(self, kind: str, start: float, status: int, expect: int, headers: dict[str, str]) -> None:
        end = time.monotonic()

        def number(name: str) -> float | None:
            value = headers.get(name)
            return float(value) if value else None

        sample = Sample(kind, start, end, status == expect, number("x-bench-commit-ms"), number("x-bench-server-ms"),
                        number("x-bench-cpu-ms"), number("x-bench-write-ms"))
        with self.lock:
            self.samples.append(sample)
            if not sample.ok:
                self.errors.append(f"{kind}: HTTP {status}, expected {expect}")

    def pause(self, rng: random.Random, low: float, high: float) -> None:
        self.stop.wait(rng.uniform(low, high))


def page_client(load: Load, seed: int, deadline: float) -> None:
    rng = random.Random(seed)
    browser = Browser(load.port)
    browser.log_in("editor")
    kinds = [("brief page", f"/briefs/{load.brief_id}"), ("brief list", "/briefs")]
    turn = seed % 2
    while not load.stop.is_set() and time.monotonic() < deadline:
        kind, path = kinds[turn]
        turn = 1 - turn
        start = time.monotonic()
        status, _, headers = browser.request("GET", path)
        load.record(kind, start, status, 200, headers)
        load.pause(rng, 0.05, 0.15)


def download_client(load: Load, seed: int, deadline: float) -> None:
    rng = random.Random(seed)
    browser = Browser(load.port)
    browser.log_in("archivist")
    while not load.stop.is_set() and time.monotonic() < deadline:
        start = time.monotonic()
        status, data, headers = browser.request("GET", f"/briefs/{load.brief_id}/issue.pdf")
        if status == 200 and not data.startswith(b"%PDF"):
            status = -1
        load.record("download", start, status, 200, headers)
        load.pause(rng, 0.05, 0.15)


def login_client(load: Load, seed: int, deadline: float) -> None:
    rng = random.Random(seed)
    while not load.stop.is_set() and time.monotonic() < deadline:
        browser = Browser(load.port)  # a new visitor: fresh session, fresh token
        token = browser.csrf("/login")
        start = time.monotonic()
        status, _, headers = browser.request("POST", "/login", {"username": "reader", "password": PASSWORD,
                                                                "csrf_token": token})
        load.record("login", start, status, 302, headers)
        load.pause(rng, 0.1, 0.3)


def http_publisher(port: int, ids: list[int], max_seconds: float, out: list[dict[str, Any]]) -> None:
    """--via http: an editor publishes each brief through the publish form, back to back."""
    browser = Browser(port)
    browser.log_in("editor")
    deadline = time.monotonic() + max_seconds
    for brief_id in ids:
        if time.monotonic() > deadline:
            break
        status, page, _ = browser.request("GET", f"/briefs/{brief_id}/publish")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        version = re.search(rb'name="version"[^>]*value="([^"]+)"', page)
        if status != 200 or token is None or version is None:
            raise RuntimeError(f"publish form of brief {brief_id}: HTTP {status}")
        start = time.monotonic()
        status, _, headers = browser.request("POST", f"/briefs/{brief_id}/publish", {
            "csrf_token": token.group(1).decode(), "version": version.group(1).decode(),
            "issue_date": date.today().isoformat()})
        end = time.monotonic()
        if status != 302:
            raise RuntimeError(f"publishing brief {brief_id}: HTTP {status}")
        out.append({"id": brief_id, "start": start, "end": end,
                    "commit_ms": float(headers.get("x-bench-commit-ms") or 0)})


# --- set-up ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def prepare_instance(work: Path, briefs: int) -> tuple[Path, list[int]]:
    import logging

    import flask_migrate

    from app import create_app
    from extensions import db

    config = common.instance_config(
        work, LOGIN_LIMIT_PER_ACCOUNT="100000 per minute", LOGIN_LIMIT_PER_ADDRESS="100000 per minute")
    config_path = work / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    app = create_app(config)
    with app.app_context():
        flask_migrate.upgrade()
        logging.getLogger("alembic").setLevel(logging.WARNING)
        people = common.make_people(db.session, PASSWORD, extra={"archivist": {"archivist"}, "reader": {"drafter"}})
        series = common.make_series(db.session, "领导参阅", common.DIRECTORY_30)
        ids = common.signed_briefs(db.session, people, series, common.demo_content(), briefs + 1)
        db.session.remove()
    return config_path, ids


def start_server(work: Path, config_path: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, CONFIG_ENV: str(config_path)}
    log = (work / "gunicorn.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{port}",
         "--pythonpath", str(ROOT), "--chdir", str(ROOT), "--timeout", "30", "--log-level", "warning",
         "bench.publish_load:wsgi_app()"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait_ready(port: int, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            if Browser(port).request("GET", "/login")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time")


def stop_process(process: subprocess.Popen[Any] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- the run -----------------------------------------------------------------------------------


def cpu_ticks() -> tuple[int, int, int]:
    """The machine's (busy, steal, total) CPU ticks so far, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    steal = fields[7] if len(fields) > 7 else 0
    total = sum(fields[:8])
    return total - idle - steal, steal, total


def spread(values: list[float | None]) -> str:
    """p50 / p95 / max of the requests that have the figure (the ones that wrote), or -."""
    have = [v for v in values if v]
    if not have:
        return "-"

    def short(value: float) -> str:
        return f"{value:.1f}" if value < 100 else f"{value:.0f}"

    return f"{short(percentile(have, 0.5))} / {short(percentile(have, 0.95))} / {short(max(have))}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--briefs", type=int, default=40, help="issues published, in --rounds bursts")
    parser.add_argument("--rounds", type=int, default=4, help="publishing windows, each between two idle ones")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of each idle window")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--via", choices=["process", "http"], default="process",
                        help="publish from a separate process (default) or through the server's publish form")
    parser.add_argument("--max-publishing", type=float, default=90.0, help="stop publishing after this long in all")
    parser.add_argument("--render-under-lock", action="store_true",
                        help="baseline: the publisher process runs every step under the numbering lock, as before")
    parser.add_argument("--without-commit", action="store_true",
                        help="control: the publisher process does everything but the commit part (never takes the lock)")
    parser.add_argument("--publisher-nice", type=int, default=0, choices=range(0, 20), metavar="0-19",
                        help="run the publisher process at this lower CPU priority (nice)")
    parser.add_argument("--keep", action="store_true", help="keep the instance directory (printed)")
    parser.add_argument("--publisher", type=Path, help=argparse.SUPPRESS)  # internal: the publisher process
    parser.add_argument("--ids", type=str, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publisher:
        return publisher_main(args.publisher, [int(i) for i in args.ids.split(",")], "editor", args.max_publishing,
                              args.render_under_lock, args.without_commit, args.publisher_nice)
    if (args.render_under_lock or args.without_commit or args.publisher_nice) and args.via != "process":
        parser.error("--render-under-lock, --without-commit and --publisher-nice change the publisher process: "
                     "use --via process")
    if args.render_under_lock and args.without_commit:
        parser.error("choose one of --render-under-lock and --without-commit")
    if args.rounds < 1 or args.briefs < args.rounds:
        parser.error("--briefs must be at least --rounds, which must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="canyue-bench-load-"))
    server = publisher = None
    load: Load | None = None
    clients: list[threading.Thread] = []
    windows: list[Window] = []
    published: list[dict[str, Any]] = []
    try:
        started = time.monotonic()
        config_path, ids = prepare_instance(work, args.briefs)
        port = free_port()
        server = start_server(work, config_path, port, args.workers)
        wait_ready(port, server)
        if args.via == "process":
            publisher = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--publisher", str(config_path),
                 "--ids", ",".join(map(str, ids)), "--max-publishing", str(args.max_publishing)]
                + (["--render-under-lock"] if args.render_under_lock else [])
                + (["--without-commit"] if args.without_commit else [])
                + (["--publisher-nice", str(args.publisher_nice)] if args.publisher_nice else []),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
            )
            assert publisher.stdout is not None and publisher.stdin is not None
            if publisher.stdout.readline().strip() != "ready":
                raise RuntimeError("the publisher did not get ready")
        else:
            http_publisher(port, ids[:1], args.max_publishing, [])
        queue = list(ids[1:])
        bursts = [len(chunk) for chunk in (queue[i::args.rounds] for i in range(args.rounds))]

        budget = (args.rounds + 1) * args.idle + args.rounds * SETTLE_S + args.max_publishing + 30
        deadline = time.monotonic() + min(HARD_LIMIT_S, budget)
        load = Load(port=port, brief_id=ids[0])
        clients = [threading.Thread(target=page_client, args=(load, 1, deadline)),
                   threading.Thread(target=page_client, args=(load, 2, deadline)),
                   threading.Thread(target=download_client, args=(load, 3, deadline)),
                   threading.Thread(target=login_client, args=(load, 4, deadline))]
        for client in clients:
            client.start()
        time.sleep(3)  # warm-up: both workers load templates, serve the first logins and downloads
        client_cpu = (time.monotonic(), time.process_time())

        def idle() -> None:
            window = Window("idle", time.monotonic(), cpu_ticks())
            time.sleep(args.idle)
            window.close()
            windows.append(window)

        for burst in bursts:
            idle()
            window = Window("publishing", time.monotonic(), cpu_ticks())
            if publisher is not None:
                publisher.stdin.write(f"go {burst}\n")
                publisher.stdin.flush()
                for line in publisher.stdout:
                    if line.strip() == "paused":
                        break
                    published.append(json.loads(line))
            else:
                chunk, queue = queue[:burst], queue[burst:]
                http_publisher(port, chunk, args.max_publishing, published)
            window.close()
            windows.append(window)
            time.sleep(SETTLE_S)  # requests queued behind the burst drain; counted in no window
        idle()
        total = time.monotonic() - started
        load.client_share = (time.process_time() - client_cpu[1]) / (time.monotonic() - client_cpu[0])
    finally:
        if load is not None:
            load.stop.set()
        for client in clients:
            client.join(timeout=90)
        if publisher is not None and publisher.poll() is None:
            try:
                publisher.stdin.write("quit\n")
                publisher.stdin.close()
                publisher.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        stop_process(publisher)
        stop_process(server)
        if args.keep:
            print(f"instance kept in {work} (server log: gunicorn.log)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    assert load is not None
    return report(args, load, published, windows, total)


@dataclass
class Window:
    kind: str  # idle or publishing
    start: float
    ticks: tuple[int, int, int]
    end: float = 0.0
    end_ticks: tuple[int, int, int] = (0, 0, 0)

    def close(self) -> None:
        self.end, self.end_ticks = time.monotonic(), cpu_ticks()

    def holds(self, sample: Sample) -> bool:
        """A publishing window holds every request that overlapped it (a request that began
        just before a burst and waited through it was slowed by it); an idle window only the
        requests that began and ended inside it."""
        if self.kind == "publishing":
            return sample.start < self.end and sample.end > self.start
        return self.start <= sample.start and sample.end <= self.end


def machine_load(windows: list[Window]) -> str:
    """How busy the machine's CPUs were in each kind of window (everything running on it)."""
    parts = []
    for kind in ("idle", "publishing"):
        chosen = [w for w in windows if w.kind == kind]
        busy = sum(w.end_ticks[0] - w.ticks[0] for w in chosen)
        steal = sum(w.end_ticks[1] - w.ticks[1] for w in chosen)
        total = max(1, sum(w.end_ticks[2] - w.ticks[2] for w in chosen))
        parts.append(f"{kind}: CPU busy {busy / total:.0%} of {os.cpu_count()} cores (steal {steal / total:.0%})")
    return "; ".join(parts)


def report(args: argparse.Namespace, load: Load, published: list[dict[str, Any]], windows: list[Window],
           total: float) -> int:
    kinds = ["brief page", "brief list", "download", "login"]
    stats: dict[tuple[str, str], dict[str, float]] = {}
    how = ("a separate process (publishing.pipeline.publish)" if args.via == "process"
           else "the publish form, over HTTP")
    if args.render_under_lock:
        how += ", every step under the numbering lock (baseline: as before)"
    if args.without_commit:
        how += ", everything but the commit part (control: the lock is never taken)"
    if args.publisher_nice:
        how += f", at nice {args.publisher_nice}"
    idle_s = sum(w.end - w.start for w in windows if w.kind == "idle")
    busy_s = sum(w.end - w.start for w in windows if w.kind == "publishing")
    print(f"gunicorn  {args.workers} sync workers on {HOST}; SQLite (WAL); publisher: {how}")
    print(f"windows   {args.rounds + 1} idle, {idle_s:.0f} s in all, between {args.rounds} publishing, "
          f"{busy_s:.1f} s in all; whole run {total:.0f} s")
    print(f"machine   {machine_load(windows)}; the clients used {load.client_share:.0%} of a core")
    print(f"\n{'':<12}{'window':<12}{'count':>6}{'p50':>8}{'p95':>8}{'max':>8}  "
          f"{'server p50/p95':<17}{'CPU p50/p95':<13}{'writes p50/p95/max':<22}{'COMMIT p50/p95/max':<20}")
    for kind in kinds:
        for name in ("idle", "publishing"):
            busy = [w for w in windows if w.kind == "publishing"]
            chosen = [s for s in load.samples if s.kind == kind and s.ok
                      and (any(w.holds(s) for w in busy) if name == "publishing"
                           else any(w.kind == "idle" and w.holds(s) for w in windows)
                           and not any(w.holds(s) for w in busy))]
            if not chosen:
                print(f"{kind:<12}{name:<12}{0:>6}")
                continue
            ms = [s.ms for s in chosen]
            row = {"count": len(ms), "p50": percentile(ms, 0.5), "p95": percentile(ms, 0.95), "max": max(ms)}
            stats[(kind, name)] = row
            server = [s.server_ms for s in chosen if s.server_ms is not None]
            served = f"{percentile(server, 0.5):.0f} / {percentile(server, 0.95):.0f} ms" if server else "-"
            cpu = [s.cpu_ms for s in chosen if s.cpu_ms is not None]
            used = f"{percentile(cpu, 0.5):.0f} / {percentile(cpu, 0.95):.0f} ms" if cpu else "-"
            print(f"{kind:<12}{name:<12}{row['count']:>6}{row['p50']:>6.0f}ms{row['p95']:>6.0f}ms{row['max']:>6.0f}ms"
                  f"  {served:<17}{used:<13}{spread([s.write_ms for s in chosen]):<22}"
                  f"{spread([s.commit_ms for s in chosen])}")

    print()
    if published:
        walls = [p["end"] - p["start"] for p in published]
        line = (f"publishes {len(published)} of {args.briefs}: {statistics.median(walls):.2f} s median, "
                f"{max(walls):.2f} s max each")
        if "lock_held" in published[0]:
            held = [p["lock_held"] * 1000 for p in published]
            line += (f"; numbering (= write) lock held {statistics.median(held):.1f} ms median, {max(held):.1f} ms max"
                     f" ({sum(held) / 1000 / max(busy_s, 1e-9):.1%} of the publishing windows)")
        else:
            held = [p["commit_ms"] for p in published]
            line += f"; the view's COMMIT {statistics.median(held):.1f} ms median, {max(held):.1f} ms max"
        print(line)
    failures = list(load.errors)
    if len(published) < args.briefs:
        failures.append(f"only {len(published)} of {args.briefs} briefs were published")

    verdicts = []
    login_idle, login_busy = stats.get(("login", "idle")), stats.get(("login", "publishing"))
    if login_idle and login_busy:
        ratio = login_busy["p95"] / login_idle["p95"]
        verdicts.append((f"login p95 publishing / idle: {login_busy['p95']:.0f} / {login_idle['p95']:.0f} ms = "
                         f"{ratio:.2f}x", f"<= {TARGET_LOGIN_RATIO}x", ratio <= TARGET_LOGIN_RATIO))
    else:
        failures.append("no login samples in a window")
    for kind in ("brief page", "brief list", "download"):
        row = stats.get((kind, "publishing"))
        if row is None:
            failures.append(f"no {kind} samples while publishing")
            continue
        idle = stats.get((kind, "idle"))
        ratio = f" (idle {idle['p95']:.0f} ms, {row['p95'] / idle['p95']:.2f}x)" if idle else ""
        verdicts.append((f"{kind} p95 while publishing: {row['p95']:.0f} ms{ratio}", f"<= {TARGET_P95_MS:.0f} ms",
                         row["p95"] <= TARGET_P95_MS))
    for text, target, ok in verdicts:
        print(f"{text:<62} target {target:<9} {'ok' if ok else 'MISSED'}")
    for failure in failures[:10]:
        print(f"FAILED: {failure}")
    if len(failures) > 10:
        print(f"... and {len(failures) - 10} more failures")
    return 0 if all(ok for _t, _g, ok in verdicts) and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
