"""Periodic jobs with stable ids, enqueued by whichever worker gets there first.

Feature modules call :func:`register` at import time. ``survey-app worker`` runs :func:`tick`
every few seconds on a scheduler thread: for each job whose period has come, a Redis lock
``periodic:lock:<name>`` (``SET NX`` with the period as expiry) lets exactly one worker enqueue it,
with the stable job id ``periodic-<name>``; a second worker, or a restart within the period,
enqueues nothing. In the embedded mode the same jobs run through the CLI (e.g.
``survey-app followup sweep``) or :func:`run_all`.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

from rq.job import Job, JobStatus

from .queue import enqueue, redis_connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    func_path: str
    every_seconds: int
    queue: str = "maintenance"

    @property
    def job_id(self) -> str:
        return f"periodic-{self.name}"  # RQ job ids allow letters, digits, "_" and "-" only

    @property
    def lock_key(self) -> str:
        return f"periodic:lock:{self.name}"


_registry: dict[str, Periodic] = {}


def register(name: str, func_path: str, every_seconds: int, queue: str = "maintenance") -> None:
    """Declare a periodic job; registering the same name again with the same target is a no-op."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise ValueError(f"periodic job {name!r}: use lowercase letters, digits, '-' and '_'")
    if every_seconds < 1:
        raise ValueError(f"periodic job {name!r}: every_seconds must be at least 1")
    job = Periodic(name, func_path, int(every_seconds), queue)
    old = _registry.get(name)
    if old is not None and old != job:
        raise ValueError(f"periodic job {name!r} is already registered as {old}")
    _registry[name] = job


def registered() -> list[Periodic]:
    return sorted(_registry.values(), key=lambda p: p.name)


def tick(conn=None) -> list[str]:
    """Enqueue every periodic job whose period has come; returns the names enqueued here."""
    conn = conn or redis_connection()
    started = []
    for job in registered():
        if not conn.set(job.lock_key, "1", nx=True, ex=job.every_seconds):
            continue
        try:
            previous = Job.fetch(job.job_id, connection=conn)
        except Exception:  # noqa: BLE001 - no such job (or an unreadable one): start afresh
            previous = None
        if previous is not None:
            status = previous.get_status(refresh=True)
            if status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED):
                continue  # the last run is still waiting or running
            previous.delete()
        enqueue(job.queue, job.func_path, job_id=job.job_id)
        started.append(job.name)
    return started


def run_all() -> list[str]:
    """Run every periodic job now, in this process (the embedded mode)."""
    from importlib import import_module

    done = []
    for job in registered():
        module, _, func = job.func_path.rpartition(".")
        getattr(import_module(module), func)()
        done.append(job.name)
    return done


class Scheduler(threading.Thread):
    """The worker's scheduler thread: calls :func:`tick` every ``interval`` seconds."""

    def __init__(self, app, interval: float = 5.0):
        super().__init__(name="survey-periodic", daemon=True)
        self.app, self.interval = app, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                with self.app.app_context():
                    names = tick()
                if names:
                    log.info("periodic jobs enqueued: %s", ", ".join(names))
            except Exception:
                log.exception("periodic scheduler tick failed")
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
