"""The Prometheus metrics (prometheus-client), process-wide; no Flask here, so the renderer
and the publishing pipeline can count without knowing about requests.

Under gunicorn with several workers each process has its own counters: set
PROMETHEUS_MULTIPROC_DIR to an empty folder (deploy/canyue-web.service does) and /metrics
adds up every worker's files (deploy/gunicorn.conf.py clears a dead worker's)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

# Requests are fast or a render: buckets up to two minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

REQUEST_SECONDS = Histogram("canyue_request_seconds", "Time to answer a request, by endpoint",
                            ["endpoint", "method", "status"], buckets=LATENCY_BUCKETS)
PUBLISHES = Counter("canyue_publishes_total", "Publishes and corrections that made an issue's files, by outcome",
                    ["action", "outcome"])
RENDER_SECONDS = Histogram("canyue_render_seconds", "Time WeasyPrint took to render one PDF",
                           buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300))

# The job queue reports its depth and failures through a probe (set_queue_probe), read at
# scrape time: () -> {"depth": int, "failed": int}, or None while no queue is configured.
_queue_probe: Callable[[], dict[str, int]] | None = None


def set_queue_probe(probe: Callable[[], dict[str, int]] | None) -> None:
    global _queue_probe
    _queue_probe = probe


class _QueueCollector:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        if _queue_probe is None:
            return
        try:
            found = _queue_probe()
        except Exception:  # noqa: BLE001  a queue that cannot be read is reported by /readyz
            return
        yield GaugeMetricFamily("canyue_queue_depth", "Jobs waiting in the queue", value=found.get("depth", 0))
        yield GaugeMetricFamily("canyue_jobs_failed", "Jobs that failed and wait for the admin",
                                value=found.get("failed", 0))


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - started)


def exposition() -> bytes:
    """The text format of every metric: this process's, or every gunicorn worker's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    output = generate_latest(registry)
    queue = CollectorRegistry()
    queue.register(_QueueCollector())
    return output + generate_latest(queue)
