from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import Worker

from .jobs import set_worker_app
from .queue import QUEUE_NAMES, redis_connection


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
    set_worker_app(current_app._get_current_object())
    w = Worker(names, connection=redis_connection())
    w.work(with_scheduler=True, burst=burst)
