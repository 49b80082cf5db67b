"""Prometheus metrics at ``/metrics``: requests and latencies, plus gauges read at scrape time.

Request metrics are counted in each process. Under gunicorn with several workers set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before the processes start (the topology
script does); each scrape then adds up every worker's files. Gauges that describe shared state
(queue depths, message states, responses per brand) are *not* kept in process memory: feature
modules register a function with :func:`register_gauge` that reads the database or Redis when
Prometheus scrapes, so any app process gives the same answer.

Access: when ``METRICS_TOKEN`` is set, a scrape must send ``Authorization: Bearer <token>``;
otherwise only requests from this machine (loopback) are answered.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "survey_http_requests_total",
    "HTTP requests answered, by endpoint and status class",
    ["method", "endpoint", "status"],
)
LATENCY = Histogram(
    "survey_http_request_duration_seconds",
    "Time from the request's arrival to the response, by endpoint",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

GaugeReader = Callable[[], Iterable[tuple[tuple[str, ...], float]]]


@dataclass(frozen=True)
class _Gauge:
    name: str
    documentation: str
    labels: tuple[str, ...]
    read: GaugeReader


_GAUGES: dict[str, _Gauge] = {}


def register_gauge(name: str, documentation: str, labels: Iterable[str], read: GaugeReader) -> None:
    """Register a gauge computed at scrape time; ``read`` yields (label values, value) pairs.

    It runs inside an application context. Registering the same name again replaces it.
    """
    _GAUGES[name] = _Gauge(name, documentation, tuple(labels), read)


class _SharedStateCollector:
    """Reads the registered gauges from the shared engines at each scrape."""

    def __init__(self, app) -> None:
        self.app = app

    def collect(self):
        for gauge in list(_GAUGES.values()):
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=gauge.labels)
            try:
                with self.app.app_context():
                    for label_values, value in gauge.read():
                        family.add_metric(list(label_values), float(value))
            except Exception:  # a broken source must not hide the other metrics
                log.exception("metric %s could not be read", gauge.name)
                continue
            yield family


def observe(method: str, endpoint: str | None, status: int, seconds: float) -> None:
    name = endpoint or "unmatched"
    REQUESTS.labels(method, name, f"{status // 100}xx").inc()
    LATENCY.labels(method, name).observe(seconds)


def _registry(app) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(_SharedStateCollector(app))
    return registry


bp = Blueprint("metrics", __name__)


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        sent = request.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    return request.remote_addr in {"127.0.0.1", "::1"}


@bp.route("/metrics")
def metrics():
    if not _allowed():
        abort(403)
    body = generate_latest(_registry(current_app._get_current_object()))
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _queue_depths():
    from .queue import QUEUE_NAMES, get_queue

    if current_app.config["EMBEDDED_QUEUE"]:
        return
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        yield (name, "queued"), queue.count
        yield (name, "failed"), queue.failed_job_registry.count
        yield (name, "started"), queue.started_job_registry.count


def init_app(app) -> None:
    app.register_blueprint(bp)
    register_gauge(
        "survey_queue_jobs",
        "RQ jobs per queue and state (production mode only)",
        ("queue", "state"),
        _queue_depths,
    )
