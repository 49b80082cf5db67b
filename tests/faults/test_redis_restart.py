"""Redis restarted with nothing persisted: the queue is rebuilt from the database.

A private ``redis-server`` (``--save "" --appendonly no``) on a free port carries the jobs; it is
killed with jobs waiting, and started again empty. A dispatch while it is down fails without
losing the rows. The real ``survey-app worker`` that was running lives through the outage, and
on the new, empty Redis its scheduler runs the outbox reconciler, which sends every message
exactly once.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import redis
from rq import Worker as RqWorker
from rq.suspension import suspend

from survey_app.core.db import db
from survey_app.core.queue import get_queue, redis_connection
from survey_app.followup.messaging import outbox
from survey_app.followup.messaging.invitations import create_invitations
from survey_app.followup.messaging.models import Message

from ..app.messaging_fixtures import make_round, smtp_fixture  # noqa: F401
from .fault_helpers import PrivateRedis, Worker, wait_for

pytestmark = pytest.mark.postgres_only

OUTAGE = 8.0  # seconds Redis stays down


@pytest.fixture
def private_redis(app, tmp_path):
    """The app pointed at a Redis of this test's own; the run's Redis is back afterwards."""
    server = PrivateRedis(tmp_path).start()
    saved = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = server.url
    app.extensions.pop("survey_app.redis", None)
    try:
        yield server
    finally:
        app.extensions.pop("survey_app.redis", None)
        app.config["REDIS_URL"] = saved
        server.stop()


def test_redis_restarted_empty_the_reconciler_rebuilds_the_queue(
    ctx, smtp, private_redis, database_url, tmp_path
):
    conn = redis_connection()
    suspend(conn)  # the worker is up, but takes no job before Redis goes
    worker = Worker(
        ctx,
        database_url,
        private_redis.url,
        tmp_path / "worker.log",
        MESSAGING_QUEUED_GRACE_SECONDS=1,  # shortened for the test (300 s by default)
    )
    try:
        rnd = make_round(n=6, partner=False)
        run = create_invitations(rnd, "email")
        db.session.commit()
        first, rest = run.created[:3], run.created[3:]
        outbox.dispatch(first)
        assert get_queue("email").count == 1
        wait_for(lambda: RqWorker.all(connection=conn), 60, "the worker to start")

        private_redis.kill9()
        down_since = time.monotonic()
        # Redis is down: the rows are committed first, so a failed enqueue loses nothing
        with pytest.raises(redis.ConnectionError):
            outbox.dispatch(rest)
        # longer than the Redis client's own retries (about 6 s): RQ gives up on its connection
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_since)))
        private_redis.start()  # the same port, nothing in it
        assert get_queue("email").count == 0
        db.session.expire_all()
        assert Counter(db.session.scalars(db.select(Message.state))) == {"queued": 6}

        def all_sent():
            db.session.expire_all()
            return set(db.session.scalars(db.select(Message.state))) == {"sent"}

        try:
            wait_for(all_sent, 45, "every message to be sent", interval=0.2)
        except AssertionError:
            raise AssertionError(worker.output()) from None
        # the same worker process lived through it and ran the reconciler from its scheduler
        assert worker.proc.poll() is None
        assert "stopped without a stop request; restarting" in worker.output(tail=10**6)
        assert conn.exists("periodic:lock:outbox-reconcile")
    finally:
        worker.stop()
    received = Counter(m["To"] for m in smtp.sink.messages)
    expected = set(db.session.scalars(db.select(Message.to_address)))
    assert set(received) == expected and set(received.values()) == {1}
    assert {m.attempts for m in db.session.scalars(db.select(Message))} == {1}
