from __future__ import annotations

import logging
import signal
import time

import click
import redis
from flask import current_app
from flask.cli import with_appcontext
from rq import Worker

from .jobs import set_worker_app
from .queue import QUEUE_NAMES, redis_connection
from .requestlog import configure_logging

log = logging.getLogger(__name__)


class _Worker(Worker):
    """RQ's worker, remembering whether it was asked to stop (SIGTERM/SIGINT)."""

    stop_requested = False

    def request_stop(self, signum, frame):
        self.stop_requested = True
        super().request_stop(signum, frame)


@click.command("worker")
@click.option(
    "--queues",
    default=",".join(QUEUE_NAMES),
    show_default=True,
    help="Comma-separated queues to listen on, in priority order.",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker(queues: str, burst: bool) -> None:
    """Run an RQ worker (with the scheduler) on the production Redis."""
    if current_app.config["EMBEDDED_QUEUE"]:
        raise click.ClickException(
            "no SURVEY_REDIS_URL is set: in the embedded mode jobs run in-process, no worker needed"
        )
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(names) - set(QUEUE_NAMES))
    if unknown:
        raise click.ClickException(f"unknown queues: {', '.join(unknown)}")
    configure_logging(current_app.config["LOG_FORMAT"])
    app = current_app._get_current_object()
    set_worker_app(app)
    scheduler = None
    if not burst:
        from .periodic import Scheduler

        scheduler = Scheduler(app)
        scheduler.start()
    try:
        restarts = 0
        while True:
            w = _Worker(names, connection=_worker_connection())
            try:
                w.work(with_scheduler=True, burst=burst)
            except redis.RedisError:
                log.exception("worker lost Redis")
            if burst or w.stop_requested:
                break
            # RQ gives up when Redis goes away while it is busy (a restart, a fail-over): wait
            # for Redis and work on, instead of leaving the queues without a worker.
            restarts += 1
            log.error("worker stopped without a stop request; restarting (%d)", restarts)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # nothing is in flight while waiting
            _wait_for_redis(min(2 ** min(restarts, 5), 30))
    finally:
        if scheduler is not None:
            scheduler.stop()


def _worker_connection() -> redis.Redis:
    """The worker's own connection. A worker blocks on Redis for minutes while it waits for jobs,
    so the short read time-out of the app's connection (right for a web request) would make an
    idle worker quit and restart over and over; keep-alive and health checks find a dead peer."""
    return redis.Redis.from_url(
        current_app.config["REDIS_URL"],
        socket_connect_timeout=2,
        socket_timeout=None,
        socket_keepalive=True,
        health_check_interval=30,
    )


def _wait_for_redis(pause: float) -> None:
    time.sleep(pause)
    while True:
        try:
            if redis_connection().ping():
                return
        except redis.RedisError:
            pass
        time.sleep(1)
