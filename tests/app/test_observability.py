"""Probes, Prometheus metrics, request ids and JSON logs without personal data or tokens."""

from __future__ import annotations

import json
import logging

from survey_app.core.requestlog import JsonFormatter


def _metric_lines(body: str, name: str) -> list[str]:
    return [line for line in body.splitlines() if line.startswith(name)]


def test_probes(client):
    assert client.get("/livez").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"]["schema"] == {"ok": True, "missing": []}


def test_readyz_fails_when_the_schema_is_behind(app, client):
    from sqlalchemy import text

    from survey_app.core.db import db

    with app.app_context():
        saved = [r[0] for r in db.session.execute(text("SELECT version_num FROM alembic_version"))]
        db.session.execute(text("DELETE FROM alembic_version"))
        db.session.commit()
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["checks"]["schema"]["ok"] is False
        assert sorted(ready.json["checks"]["schema"]["missing"]) == sorted(saved)
    finally:
        with app.app_context():
            for version in saved:
                db.session.execute(
                    text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version}
                )
            db.session.commit()


def test_metrics_count_requests_and_read_shared_state(demo, client):
    client.get("/healthz")
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    health = [
        line
        for line in _metric_lines(body, "survey_http_requests_total")
        if 'endpoint="health.healthz"' in line
    ]
    assert health and float(health[0].rsplit(" ", 1)[1]) >= 2
    assert _metric_lines(body, "survey_http_request_duration_seconds_bucket")
    # Gauges come from the database at scrape time: every demo brand has its responses.
    brands = {
        line.split('brand="')[1].split('"')[0] for line in _metric_lines(body, "survey_responses{")
    }
    assert {"star", "jobportalen", "karrierenet"} <= brands


def test_metrics_are_not_public(app, client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    app.config["METRICS_TOKEN"] = "scrape-secret-123"
    try:
        assert client.get("/metrics").status_code == 403  # loopback no longer enough
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = client.get(
            "/metrics",
            headers={"Authorization": "Bearer scrape-secret-123"},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
        assert right.status_code == 200
    finally:
        app.config.pop("METRICS_TOKEN")


def test_request_ids(client):
    mine = client.get("/livez", headers={"X-Request-ID": "lb-1234abcd"})
    assert mine.headers["X-Request-ID"] == "lb-1234abcd"
    made = client.get("/livez", headers={"X-Request-ID": "<script>"})
    assert made.headers["X-Request-ID"] != "<script>"
    assert len(made.headers["X-Request-ID"]) == 16
    other = client.get("/livez")
    assert other.headers["X-Request-ID"] != made.headers["X-Request-ID"]


def test_request_log_is_json_with_the_id_and_no_token(demo, client, caplog):
    from survey_app.core.db import db
    from survey_app.questionnaire.models import Response
    from survey_app.questionnaire.services import link_token

    token = link_token(db.session.scalars(db.select(Response).limit(1)).one())
    caplog.set_level(logging.INFO, logger="survey_app.request")
    response = client.get(f"/s/{token}?x=secret-query", headers={"X-Request-ID": "req-abcdef12"})
    assert response.status_code in (302, 303)
    records = [r for r in caplog.records if r.name == "survey_app.request"]
    assert records
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["request_id"] == "req-abcdef12"
    assert line["status"] == response.status_code
    assert line["endpoint"] and line["duration_ms"] >= 0
    text = json.dumps(line)
    assert token not in text and "secret-query" not in text
    assert "/s/<redacted>" in line["message"]


def test_json_formatter_redacts_exceptions():
    try:
        raise ValueError("failed at /s/abcdefghijklmnopqrstuvwxyz012345")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert "abcdefghijklmnopqrstuvwxyz012345" not in line["exception"]
    assert line["level"] == "ERROR"
