"""gunicorn configuration for Canyue's web process (deploy/canyue-web.service uses it):
    gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'

Sized for renders: a specimen or a publish renders with WeasyPrint in the request, a CPU-bound
second or two per page and up to a minute for a full print run (CANYUE_MAX_PRINT_RUN copies,
bench/print_run.py), so the timeout is well above that, and a few threads per worker keep
pages and downloads answering while one thread renders. Every value can be set from the
environment (CANYUE_GUNICORN_*), e.g. CANYUE_GUNICORN_WORKERS=8."""

from __future__ import annotations

import multiprocessing
import os
import shutil


def _env(name: str, default: int | str) -> str:
    return os.environ.get(f"CANYUE_GUNICORN_{name}", str(default))


bind = _env("BIND", "127.0.0.1:8000")
# Renders are CPU-bound and each worker holds a WeasyPrint font configuration (~150 MB): one
# worker per core, at least two, at most eight unless told otherwise.
workers = int(_env("WORKERS", max(2, min(8, multiprocessing.cpu_count()))))
worker_class = "gthread"
threads = int(_env("THREADS", 4))
# A publish of the largest print run stays well below this (bench/README.md); a request still
# running then is killed and logged, and its publish rolls back (publishing is one unit).
timeout = int(_env("TIMEOUT", 180))
graceful_timeout = int(_env("GRACEFUL_TIMEOUT", 60))
keepalive = 5
# Recycle workers now and then (WeasyPrint's caches grow with every new document).
max_requests = int(_env("MAX_REQUESTS", 2000))
max_requests_jitter = 200
# Uploads (Word files, images, past issues) are spooled to disk, not kept in worker memory.
limit_request_line = 8190
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = None  # the app logs each request as JSON with its request id (CANYUE_LOG_FORMAT=json)
errorlog = "-"
loglevel = _env("LOGLEVEL", "info")
preload_app = False  # each worker builds its own app (and its database pool) after the fork


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    """Prometheus multiprocess mode: the folder of the workers' metric files starts empty."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
