"""Configuration, health, migrations and the layout contracts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey_app import create_app
from survey_app.core.db import db

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_defaults_use_sqlite_in_instance_and_inprocess_queue(tmp_path, monkeypatch):
    for name in ("SURVEY_DATABASE_URL", "SURVEY_REDIS_URL", "SURVEY_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/survey.sqlite3")
    assert app.config["EMBEDDED_QUEUE"] is True
    assert app.config["BABEL_DEFAULT_LOCALE"] == "da"
    assert len(app.config["SECRET_KEY"]) >= 32


def test_environment_variables_switch_to_postgresql_and_redis(monkeypatch):
    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql://u@db.example/survey")
    monkeypatch.setenv("SURVEY_REDIS_URL", "redis://cache.example:6379/0")
    monkeypatch.setenv("SURVEY_SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/survey"
    assert app.config["EMBEDDED_QUEUE"] is False
    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_healthz_reports_database_and_queue(client, app):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["dialect"] == (
        "sqlite" if app.config["EMBEDDED_QUEUE"] else "postgresql"
    )
    assert body["checks"]["queue"] == {
        "ok": True,
        "mode": "embedded" if app.config["EMBEDDED_QUEUE"] else "redis",
    }


def test_healthz_503_when_database_unreachable(tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "SECRET_KEY": "x" * 32,
        }
    )
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["queue"]["ok"] is True


def test_healthz_503_when_queue_unreachable(database_url):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "x" * 32,
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
    )
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["checks"]["queue"] == {
        "ok": False,
        "mode": "redis",
        "error": "ConnectionError",
    }


def test_migrations_match_the_models(ctx):
    """The Alembic history builds exactly the schema the models declare."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


@pytest.mark.postgres_only
def test_real_redis_queue_round_trip(ctx):
    from survey_app.core.queue import get_queue

    queue = get_queue("maintenance")
    job = queue.enqueue("builtins.len", "abc", job_id="probe-1")
    assert queue.is_async
    assert queue.fetch_job("probe-1").id == job.id
    assert queue.count == 1


def test_embedded_queue_runs_jobs_in_process(tmp_path):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "x" * 32}
    )
    with app.app_context():
        from survey_app.core.queue import enqueue

        job = enqueue("default", "builtins.len", "abcd")
        assert job.return_value() == 4


def test_import_contracts_hold():
    """The feature modules import one way (import-linter, the same check `make lint` runs)."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.postgres_only
def test_separate_worker_process_runs_jobs_against_the_database(ctx, database_url):
    """Production mode: the web process enqueues, a `survey-app worker` process runs the job."""
    import os

    from survey_app.core.audit import AuditEvent
    from survey_app.core.queue import enqueue

    job = enqueue("maintenance", "survey_app.core.jobs.ping", "from-test", job_id="ping-1")
    assert job.get_status() == "queued"
    env = {
        **os.environ,
        "SURVEY_DATABASE_URL": database_url,
        "SURVEY_REDIS_URL": ctx.config["REDIS_URL"],
        "SURVEY_SECRET_KEY": "x" * 32,
    }
    worker = Path(sys.executable).with_name("survey-app")
    result = subprocess.run(
        [str(worker), "worker", "--burst", "--queues", "maintenance"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == "from-test"
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="queue.ping")).one()
    assert event.details == {"label": "from-test", "mode": "redis"}


def test_worker_command_refuses_the_embedded_mode(tmp_path):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "x" * 32}
    )
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "no SURVEY_REDIS_URL" in result.output
