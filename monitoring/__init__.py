"""Operations: /healthz, /readyz, /metrics, request ids and structured logs (README:
"Running it on servers"). `init_monitoring(app)` is the one line in app.py."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable

from flask import Blueprint, Flask, abort, current_app, g, request
from sqlalchemy import text
from werkzeug.wrappers import Response

from monitoring import metrics
from monitoring.logs import init_logs

bp = Blueprint("monitoring", __name__)
log = logging.getLogger("canyue.requests")

# The readiness checks beyond the database and the store: name -> a callable that raises when
# the part is not reachable. The job queue adds its own (`add_readiness_check("queue", …)`).
READINESS: dict[str, Callable[[], None]] = {}
PUBLIC = {"monitoring.healthz", "monitoring.readyz", "monitoring.metrics"}


def add_readiness_check(name: str, check: Callable[[], None]) -> None:
    READINESS[name] = check


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and answers (no database, no store): for the process supervisor."""
    return Response('{"status": "ok"}\n', mimetype="application/json", headers={"Cache-Control": "no-store"})


@bp.get("/readyz")
def readyz() -> Response:
    """The database, the file store and (when configured) the queue are reachable: for the load
    balancer. 503 names the part that is not; the reason is logged, never shown."""
    import json

    from extensions import db
    from publishing.services import file_store

    checks: dict[str, Callable[[], None]] = {
        "database": lambda: db.session.execute(text("SELECT 1")).scalar_one(),
        "storage": lambda: file_store().ping(),
        **READINESS,
    }
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # noqa: BLE001  any failure means: not ready
            log.warning("readiness: %s is not reachable: %s", name, error)
            results[name] = "unreachable"
    db.session.rollback()
    ready = all(v == "ok" for v in results.values())
    body = json.dumps({"status": "ready" if ready else "not ready", "checks": results}) + "\n"
    return Response(body, status=200 if ready else 503, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def _from_this_machine() -> bool:
    """A request made on this machine, not relayed by a proxy on it (a relayed one carries
    X-Forwarded-For or Forwarded; behind ProxyFix, remote_addr is already the client's)."""
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def metrics_page() -> Response:
    """Prometheus text format. With CANYUE_METRICS_TOKEN set: to `Authorization: Bearer <token>`
    only; without: only to requests from this machine that no proxy relayed."""
    token = current_app.config.get("CANYUE_METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            abort(403)
    elif not _from_this_machine():
        abort(403)
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(metrics.exposition(), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Cache-Control": "no-store"})


bp.add_url_rule("/metrics", endpoint="metrics", view_func=metrics_page)


def init_monitoring(app: Flask) -> None:
    init_logs(app)
    app.register_blueprint(bp)

    @app.before_request
    def _start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("request_started")
        if started is None:
            return response
        seconds = time.perf_counter() - started
        endpoint = request.endpoint or "unmatched"
        metrics.REQUEST_SECONDS.labels(endpoint, request.method, str(response.status_code)).observe(seconds)
        if app.config.get("CANYUE_LOG_FORMAT") == "json" and endpoint not in PUBLIC:
            log.info("%s %s %s", request.method, request.path, response.status_code,
                     extra={"method": request.method, "path": request.path, "status": response.status_code,
                            "duration_ms": round(seconds * 1000, 1), "endpoint": endpoint})
        return response
