"""Periodic jobs with stable ids, the worker's scheduler, and the queue board for supervisors."""

from __future__ import annotations

import pytest

from survey_app.core import periodic
from survey_app.core.queue import get_queue, redis_connection

from .helpers import staff_login
from .messaging_fixtures import drain

PASSWORD = "a-long-test-password-1"


def test_messaging_registers_its_periodic_jobs(ctx):
    names = {p.name: p for p in periodic.registered()}
    assert names["reminder-sweep"].func_path.endswith("messaging.jobs.sweep_job")
    assert names["outbox-reconcile"].job_id == "periodic-outbox-reconcile"
    with pytest.raises(ValueError, match="already registered"):
        periodic.register("reminder-sweep", "somewhere.else", 300)
    with pytest.raises(ValueError, match="lowercase"):
        periodic.register("Bad Name", "x.y", 60)


@pytest.mark.postgres_only
def test_two_workers_never_enqueue_the_same_periodic_job_twice(ctx):
    conn = redis_connection()
    first = periodic.tick(conn)
    second = periodic.tick(conn)  # another worker's scheduler, a moment later
    assert set(first) >= {"reminder-sweep", "outbox-reconcile"} and second == []
    queued = get_queue("maintenance").job_ids
    assert queued.count("periodic-reminder-sweep") == 1
    assert queued.count("periodic-outbox-reconcile") == 1
    drain(ctx)
    assert periodic.tick(conn) == []  # the period has not passed
    conn.delete("periodic:lock:outbox-reconcile")  # ... now it has
    assert periodic.tick(conn) == ["outbox-reconcile"]


def test_run_all_in_the_embedded_way(ctx):
    assert set(periodic.run_all()) >= {"reminder-sweep", "outbox-reconcile"}


def test_queue_board_for_supervisors_only(ctx, client):
    from survey_app.auth.services import add_user
    from survey_app.core.db import db

    add_user("supervisor@callcentre.example", "supervisor", None, PASSWORD)
    add_user("agent@callcentre.example", "agent", None, PASSWORD)
    db.session.commit()
    board = "/staff/queues" if ctx.config["EMBEDDED_QUEUE"] else "/staff/queues/"
    r = client.get(board)
    assert r.status_code == 302 and "/login" in r.location
    agent = ctx.test_client()
    staff_login(agent, "agent@callcentre.example", PASSWORD)
    assert agent.get(board).status_code == 403
    staff_login(client, "supervisor@callcentre.example", PASSWORD)
    client.get("/lang/en")
    r = client.get(board)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    if ctx.config["EMBEDDED_QUEUE"]:
        assert "embedded mode" in html
    else:
        get_queue("maintenance").enqueue("survey_app.core.jobs.ping", "board")
        queues = client.get("/staff/queues/0/data/queues.json").get_json()
        assert {"name": "maintenance", "count": 1} in [
            {k: q[k] for k in ("name", "count")} for q in queues["queues"]
        ]


@pytest.mark.postgres_only
def test_the_workers_scheduler_thread_enqueues_periodic_jobs(ctx):
    import time

    scheduler = periodic.Scheduler(ctx, interval=0.05)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while "periodic-outbox-reconcile" not in get_queue("maintenance").job_ids:
            assert time.monotonic() < deadline, "the scheduler enqueued nothing"
            time.sleep(0.05)
    finally:
        scheduler.stop()
        scheduler.join(5)
    assert not scheduler.is_alive()
    assert get_queue("maintenance").job_ids.count("periodic-reminder-sweep") == 1
