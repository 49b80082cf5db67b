"""Webhook push of completed responses: outbox, signature, retries with back-off, idempotency."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from survey_app.core.audit import AuditEvent
from survey_app.core.db import db, utcnow
from survey_app.stats import delivery
from survey_app.stats.models import Delivery

from .export_fixtures import NOT_FILLED, OTHER_PROFILE, fill, first_case, login
from .helpers import csrf_token

SECRET = "test-webhook-secret-0123456789abcdef"


class Receiver:
    """STAR's side: verifies each request; answers the n-th request of each idempotency key
    with ``statuses[n]`` (200 once the script is used up)."""

    def __init__(self, statuses, delay: float = 0.0):
        self.statuses = list(statuses)
        self.delay = delay
        self.requests: list[dict] = []
        self.seen_keys: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = delivery.verify(
                    SECRET,
                    self.headers["X-Survey-Timestamp"],
                    body,
                    self.headers["X-Survey-Signature"],
                )
                key = self.headers["Idempotency-Key"]
                receiver.requests.append({"key": key, "body": body, "valid": valid})
                if receiver.delay:
                    time.sleep(receiver.delay)
                if not valid:
                    status = 401
                else:
                    n = sum(1 for r in receiver.requests if r["key"] == key and r["valid"]) - 1
                    status = receiver.statuses[n] if n < len(receiver.statuses) else 200
                    if status == 200:
                        receiver.seen_keys.add(key)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/survey"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory(app, monkeypatch):
    made = []

    def make(statuses=(), delay=0.0, secret=SECRET, **settings):
        r = Receiver(statuses, delay)
        made.append(r)
        monkeypatch.setitem(app.config, "STAR_WEBHOOK_URL", r.url)
        monkeypatch.setitem(app.config, "STAR_WEBHOOK_SECRET", secret)
        for key, value in settings.items():
            monkeypatch.setitem(app.config, f"STAR_WEBHOOK_{key}", value)
        return r

    yield make
    for r in made:
        r.close()


@pytest.fixture
def completed(demo):
    case = first_case("jobportalen")
    fill(case, OTHER_PROFILE)
    fill(first_case("star"), NOT_FILLED, mode="phone")
    return case


def push(runner):
    result = runner.invoke(args=["stats", "push"])
    assert result.exit_code == 0, result.output
    return result.output


def test_signed_delivery_retries_on_5xx_then_succeeds_once(runner, completed, receiver_factory):
    receiver = receiver_factory(statuses=[503, 502], BACKOFF=30)
    assert "2 new deliveries" in push(runner)
    db.session.expire_all()
    d = db.session.scalars(db.select(Delivery).filter_by(response_id=completed.response_id)).one()
    assert d.state == "queued" and d.attempts == 1 and d.last_status == 503
    first_wait = (d.next_attempt_at - utcnow()).total_seconds()
    assert 25 < first_wait <= 30
    assert "nothing due" in push(runner)  # backing off
    for expected_attempts, expected_state in ((2, "queued"), (3, "delivered")):
        d.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        push(runner)
        db.session.expire_all()
        d = db.session.get(Delivery, d.id)
        assert (d.attempts, d.state) == (expected_attempts, expected_state)
        if expected_state == "queued":
            assert 55 < (d.next_attempt_at - utcnow()).total_seconds() <= 60  # doubled
    assert d.last_status == 200 and d.delivered_at is not None
    mine = [r for r in receiver.requests if r["key"] == str(d.id)]
    assert len(mine) == 3 and all(r["valid"] for r in mine)
    assert len({r["body"] for r in mine}) == 1  # the same bytes each time
    payload = json.loads(mine[0]["body"])
    assert payload["response_id"] == completed.response_id
    assert payload["brand"] == "jobportalen" and payload["organisation"] == "jobportalen"
    assert payload["round"] and payload["bank_version"] == "2026.1"
    assert payload["answers"]["outcome"] == 2 and payload["answers"]["channels"] == [1, 3]
    assert payload["notice_version"] == "2026-1" and payload["mode"] == "web"
    import hashlib

    assert hashlib.sha256(mine[0]["body"]).hexdigest() == d.payload_hash
    # Nothing is delivered twice: the sweep finds nothing new, nothing is due.
    assert "0 new deliveries" in push(runner)
    assert len(receiver.requests) == 4  # three attempts for one; the other still backs off


def test_timeout_is_retried_and_4xx_fails_at_once(runner, completed, receiver_factory):
    receiver_factory(delay=1.0, TIMEOUT=0.2, BACKOFF=1)
    push(runner)
    db.session.expire_all()
    items = db.session.scalars(db.select(Delivery)).all()
    assert {(d.state, d.last_error, d.attempts) for d in items} == {("queued", "timeout", 1)}
    receiver_factory(statuses=[422])
    for d in items:
        d.next_attempt_at = None
    db.session.commit()
    push(runner)
    db.session.expire_all()
    items = db.session.scalars(db.select(Delivery)).all()
    assert {(d.state, d.last_status) for d in items} == {("failed", 422)}
    failed = db.session.scalars(db.select(AuditEvent).filter_by(action="delivery.failed")).all()
    assert len(failed) == 2


def test_wrong_secret_is_refused_by_the_receiver(runner, completed, receiver_factory):
    receiver = receiver_factory()
    receiver_factory_url = receiver.url
    from flask import current_app

    current_app.config["STAR_WEBHOOK_SECRET"] = "another-secret"
    current_app.config["STAR_WEBHOOK_URL"] = receiver_factory_url
    push(runner)
    assert receiver.requests and not any(r["valid"] for r in receiver.requests)
    db.session.expire_all()
    assert {d.state for d in db.session.scalars(db.select(Delivery))} == {"failed"}


def test_signature_binds_timestamp_and_body():
    body = b'{"a":1}'
    now = time.time()
    ts = str(int(now))
    sig = delivery.sign(SECRET, ts, body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert delivery.verify(SECRET, ts, body, sig, now=now)
    assert not delivery.verify(SECRET, ts, b'{"a":2}', sig, now=now)
    assert not delivery.verify(SECRET, str(int(now) - 1), body, sig, now=now)
    assert not delivery.verify(SECRET, ts, body, sig, now=now + 600)  # a replay, too late
    assert not delivery.verify("other", ts, body, sig, now=now)


def test_push_without_configuration_says_what_to_set(runner, completed, app, monkeypatch):
    monkeypatch.setitem(app.config, "STAR_WEBHOOK_URL", None)
    result = runner.invoke(args=["stats", "push"])
    assert result.exit_code != 0 and "SURVEY_STAR_WEBHOOK_URL" in result.output
    assert db.session.scalar(db.select(db.func.count(Delivery.id))) == 2  # written first


def test_delivery_log_is_for_admins_and_can_requeue(app, runner, completed, receiver_factory):
    receiver_factory(statuses=[400])
    push(runner)
    analyst = login(app, "analyst@star.example")
    assert analyst.get("/staff/deliveries").status_code == 403
    admin = login(app, "admin@star.example")
    html = admin.get("/staff/deliveries?state=failed").get_data(as_text=True)
    d = db.session.scalars(db.select(Delivery).order_by(Delivery.id)).first()
    assert f'id="delivery-{d.id}" data-state="failed"' in html and "HTTP 400" in html
    r = admin.post(f"/staff/deliveries/{d.id}/retry", data={"csrf_token": csrf_token(html)})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Delivery, d.id).state == "queued"
    push(runner)
    db.session.expire_all()
    assert db.session.get(Delivery, d.id).state == "delivered"


def test_push_through_the_exports_queue(app, runner, completed, receiver_factory):
    from .export_fixtures import run_exports_queue

    receiver = receiver_factory()
    result = runner.invoke(args=["stats", "push", "--queue"])
    assert result.exit_code == 0, result.output
    run_exports_queue(app)
    db.session.expire_all()
    assert {d.state for d in db.session.scalars(db.select(Delivery))} == {"delivered"}
    assert len(receiver.requests) == 2 and all(r["valid"] for r in receiver.requests)


def test_queue_down_marks_the_export_failed(app, completed, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from survey_app.stats import export_views

    from .export_fixtures import request_export

    def down(_export_id):
        raise RedisConnectionError("refused")

    monkeypatch.setattr(export_views, "enqueue_export", down)
    client = login(app, "analyst@star.example")
    assert request_export(client, "csv").status_code == 303
    from survey_app.stats.models import Export

    db.session.expire_all()
    export = db.session.scalars(db.select(Export)).one()
    assert export.state == "failed" and "queue" in export.error
