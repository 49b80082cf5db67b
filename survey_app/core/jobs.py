"""RQ job functions run inside an application context.

A worker process (``survey-app worker``) imports job functions by their dotted path. ``app_job``
gives each call an app context: the current one when the job runs in-process (the embedded mode,
or a test), else the app the ``survey-app worker`` command registered before it started working
(its forked work horses inherit it). Jobs take ids, not objects,
and must be safe to run twice.
"""

from __future__ import annotations

import functools

from flask import current_app, has_app_context

_worker_app = None


def set_worker_app(app) -> None:
    global _worker_app
    _worker_app = app


def _app():
    if _worker_app is None:
        raise RuntimeError("no application for this job: run jobs through `survey-app worker`")
    return _worker_app


def app_job(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if has_app_context():
            return func(*args, **kwargs)
        with _app().app_context():
            return func(*args, **kwargs)

    return wrapper


@app_job
def ping(label: str) -> str:
    """A queue round trip that leaves a trace in the database (operators' smoke test)."""
    from . import audit
    from .db import db

    audit.record(
        "queue.ping",
        actor_label="worker",
        label=label,
        mode="embedded" if current_app.config["EMBEDDED_QUEUE"] else "redis",
    )
    db.session.commit()
    return label
