"""RQ queues named by purpose. Jobs carry ids, never objects; Redis is transport only.

Embedded mode (no ``SURVEY_REDIS_URL``): the same RQ API on an in-memory fakeredis with
``is_async=False``, so a job runs in-process at enqueue time. Production: a real Redis and
separate ``survey-app worker`` processes.
"""

from __future__ import annotations

import fakeredis
import redis
from flask import current_app
from rq import Queue

QUEUE_NAMES = ("email", "sms", "letters", "calls", "exports", "maintenance", "default")

_EMBEDDED_KEY = "survey_app.embedded_redis"


def redis_connection():
    app = current_app
    if app.config["EMBEDDED_QUEUE"]:
        conn = app.extensions.get(_EMBEDDED_KEY)
        if conn is None:
            conn = app.extensions[_EMBEDDED_KEY] = fakeredis.FakeStrictRedis()
        return conn
    conn = app.extensions.get("survey_app.redis")
    if conn is None:
        conn = app.extensions["survey_app.redis"] = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
        )
    return conn


def get_queue(name: str = "default") -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; known: {', '.join(QUEUE_NAMES)}")
    embedded = current_app.config["EMBEDDED_QUEUE"]
    return Queue(name, connection=redis_connection(), is_async=not embedded)


def enqueue(queue: str, func: str, *ids, job_id: str | None = None, **options):
    """Enqueue ``func`` (a dotted path) with id arguments.

    ``job_id`` makes the enqueue idempotent.
    """
    return get_queue(queue).enqueue(func, *ids, job_id=job_id, **options)


def ping() -> bool:
    return bool(redis_connection().ping())
