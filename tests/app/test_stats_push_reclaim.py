"""A completion is pushed to STAR at once (an outbox, like messages) with a periodic sweep behind
it; exports left ``running`` by a worker that stopped are queued again by the periodic sweep."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from survey_app.core import periodic
from survey_app.core.audit import AuditEvent
from survey_app.core.db import db, utcnow
from survey_app.questionnaire import services
from survey_app.questionnaire.services import bank_of, link_token
from survey_app.stats import jobs, push
from survey_app.stats.models import Delivery, Export

from .export_fixtures import NOT_FILLED, fill, first_case, run_exports_queue, the_round
from .helpers import answer_survey
from .test_webhook_delivery import SECRET, Receiver


@pytest.fixture
def receiver(app, monkeypatch):
    """STAR's endpoint, configured as the webhook (answers 200)."""
    r = Receiver(())
    monkeypatch.setitem(app.config, "STAR_WEBHOOK_URL", r.url)
    monkeypatch.setitem(app.config, "STAR_WEBHOOK_SECRET", SECRET)
    yield r
    r.close()


def deliveries(response_id: int) -> list[Delivery]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Delivery).filter_by(response_id=response_id)))


def test_the_stats_module_registers_its_periodic_jobs(ctx):
    names = {p.name: p for p in periodic.registered()}
    assert names["star-push"].func_path == "survey_app.stats.jobs.push_job"
    assert names["star-push"].every_seconds == 60
    assert names["exports-reclaim"].func_path == "survey_app.stats.jobs.reclaim_exports"


def test_a_completed_response_is_pushed_at_once_without_a_sweep(app, demo, receiver):
    case = first_case("star")
    response_id = case.response_id
    answer_survey(app.test_client(), link_token(case.response))
    run_exports_queue(app)  # with Redis a worker runs the job; embedded, the request did
    [d] = deliveries(response_id)
    assert d.state == "delivered" and d.attempts == 1
    assert len(receiver.requests) == 1 and receiver.requests[0]["valid"]
    assert receiver.requests[0]["key"] == str(d.id)
    # no other response was completed, so nothing else went out
    assert db.session.scalar(db.select(db.func.count(Delivery.id))) == 1


def test_only_committed_completions_are_pushed(app, demo, receiver, monkeypatch):
    pushed: list[list[int]] = []
    monkeypatch.setattr(push, "enqueue_push", pushed.append)
    case = first_case("jobportalen")
    response = case.response
    services.complete(response, bank_of(response.bank_version))
    db.session.flush()
    db.session.rollback()
    assert pushed == []
    fill(first_case("star"), NOT_FILLED)  # committed outside a request
    rid = first_case("star").response_id
    # with Redis the job is enqueued from the commit; embedded, it waits for the sweep
    assert pushed == ([] if app.config["EMBEDDED_QUEUE"] else [[rid]])


def test_the_periodic_sweep_sends_what_the_immediate_push_missed(app, demo, receiver):
    case = first_case("karrierenet")
    response_id = case.response_id
    original = push.QUEUE
    push.QUEUE = "no-such-queue"  # the enqueue fails: logged, the respondent's page still works
    try:
        answer_survey(app.test_client(), link_token(case.response))
    finally:
        push.QUEUE = original
    run_exports_queue(app)
    assert deliveries(response_id) == []
    counts = jobs.push_job()
    assert counts["created"] == 1 and counts["delivered"] == 1
    assert [d.state for d in deliveries(response_id)] == ["delivered"]
    assert len(receiver.requests) == 1


def test_nothing_is_pushed_while_the_webhook_is_not_configured(app, demo, monkeypatch):
    monkeypatch.setitem(app.config, "STAR_WEBHOOK_URL", None)
    pushed: list[list[int]] = []
    monkeypatch.setattr(push, "enqueue_push", pushed.append)
    case = first_case("star")
    answer_survey(app.test_client(), link_token(case.response))
    assert pushed == []
    assert jobs.push_job() == {"skipped": "the STAR webhook is not configured"}
    assert deliveries(case.response_id) == []


def crashed_export(attempts: int, minutes_ago: int) -> Export:
    """An export a worker started and then stopped beating for: state running, a .part file."""
    export = jobs.create_export(the_round(), "csv", actor_label="test")
    export.state = "running"
    export.attempts = attempts
    export.started_at = export.heartbeat_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    part = jobs.export_dir() / (jobs._file_name(export, the_round()) + ".part")
    part.write_text("half a file")
    return export


def test_a_crashed_workers_export_is_queued_again_and_written(app, demo):
    stale = crashed_export(attempts=1, minutes_ago=60)
    alive = crashed_export(attempts=1, minutes_ago=1)
    stale_id, alive_id = stale.id, alive.id
    part = jobs.export_dir() / (jobs._file_name(stale, the_round()) + ".part")
    counts = jobs.reclaim_exports()
    assert counts == {"requeued": 1, "failed": 0}
    run_exports_queue(app)
    db.session.expire_all()
    again = db.session.get(Export, stale_id)
    assert again.state == "ready" and again.attempts == 2 and again.row_count > 0
    assert jobs.file_of(again) is not None and not part.exists()
    assert db.session.get(Export, alive_id).state == "running"  # its heartbeat is recent
    events = db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.object_id == str(stale_id))
    ).all()
    assert "export.requeued" in events and "export.created" in events


def test_an_export_that_keeps_crashing_fails_with_a_reason(app, demo, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_MAX_ATTEMPTS", 3)
    export = crashed_export(attempts=3, minutes_ago=60)
    assert jobs.reclaim_exports() == {"requeued": 0, "failed": 1}
    db.session.expire_all()
    failed = db.session.get(Export, export.id)
    assert failed.state == "failed" and "stopped while writing the file, 3 times" in failed.error


def test_the_heartbeat_beats_while_the_file_is_written(app, demo, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_HEARTBEAT_SECONDS", 0.05)
    real_write = jobs.write

    def slow_write(*args, **kwargs):
        time.sleep(0.5)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(jobs, "write", slow_write)
    export = jobs.create_export(the_round(), "csv", actor_label="test")
    db.session.commit()
    jobs.build_export(export.id)
    db.session.expire_all()
    done = db.session.get(Export, export.id)
    assert done.state == "ready" and done.attempts == 1
    assert done.heartbeat_at - done.started_at >= timedelta(seconds=0.2)


def test_the_stale_timeout_is_a_setting(app, demo, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_STALE_SECONDS", 3600)
    export = crashed_export(attempts=1, minutes_ago=30)
    assert jobs.reclaim_exports() == {"requeued": 0, "failed": 0}
    db.session.expire_all()
    assert db.session.get(Export, export.id).state == "running"
