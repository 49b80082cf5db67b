"""Fixtures on the real parts: a fresh PostgreSQL database (or SQLite for the embedded run) built
by the Alembic migrations, a real Redis, a live server for headless Chromium.

``SURVEY_TEST_DB=sqlite`` switches the whole session to the embedded mode (SQLite file, no Redis,
jobs in-process). Pure unit tests under tests/unit use none of this.
"""

from __future__ import annotations

import contextvars
import os
import threading
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

EMBEDDED = os.environ.get("SURVEY_TEST_DB") == "sqlite"
PG_ADMIN_URL = os.environ.get(
    "SURVEY_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SURVEY_TEST_REDIS_URL")
CHROMIUM = os.environ.get("SURVEY_CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    if not EMBEDDED:
        return
    skip = pytest.mark.skip(reason="PostgreSQL/Redis only; this is the SQLite embedded run")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if EMBEDDED:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'survey.sqlite3'}"
        return
    name = f"survey_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url():
    """A Redis database of this run's own, so two suites on one machine never flush each other."""
    if EMBEDDED:
        yield None
        return
    if REDIS_URL:
        yield REDIS_URL
        return
    import redis

    marker = f"survey-test-run:{os.getpid()}:{uuid.uuid4().hex}"
    for number in range(15, 0, -1):
        conn = redis.Redis(host="127.0.0.1", port=6379, db=number)
        if conn.set("survey-test:owner", marker, nx=True, ex=6 * 3600):
            break
    else:
        pytest.exit("no free Redis database (1-15) for this test run")
    yield f"redis://127.0.0.1:6379/{number}"
    conn.flushdb()
    conn.close()


def make_config(database_url: str, tmp: Path, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": "http://survey.test",
    }
    config.update(extra)
    return config


class IsolatedClient(FlaskClient):
    """Each request runs in an empty context, so it gets its own app context, ``g`` and database
    session even while the test holds an app context of its own (as a real server would)."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # streamed bodies finish inside the same context
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def _app(database_url, redis_url, tmp_path_factory):
    from flask_migrate import upgrade

    from survey_app import create_app

    app = create_app(
        make_config(database_url, tmp_path_factory.mktemp("instance"), REDIS_URL=redis_url)
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade(revision="heads")
    return app


def _clean(app) -> None:
    from survey_app.core.db import db

    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        if db.engine.dialect.name == "postgresql":
            # A failed test may leave a request's transaction open; it must not block cleanup.
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in%'"
                    )
                )
            db.engine.dispose()
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            with db.engine.begin() as conn:
                for table in reversed(tables):
                    conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - table names from metadata
        if not app.config["EMBEDDED_QUEUE"]:
            from survey_app.core.queue import redis_connection

            conn = redis_connection()
            owner = conn.get("survey-test:owner")
            # Flush and re-claim in one MULTI/EXEC, so a run looking for a free database (a set
            # NX on the owner key) never finds this one empty in between.
            pipe = conn.pipeline(transaction=True)
            pipe.flushdb()
            if owner:
                pipe.set("survey-test:owner", owner, ex=6 * 3600)
            pipe.execute()


@pytest.fixture
def app(_app):
    """The application on a clean database (tables emptied after every test)."""
    _app.config["WTF_CSRF_ENABLED"] = True
    yield _app
    _clean(_app)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(ctx):
    """The demo data set (STAR, two partners, a bank version, a sampled round, users)."""
    from survey_app.core.db import db
    from survey_app.demo import load_demo

    load_demo()
    db.session.commit()
    return ctx


@pytest.fixture(scope="session")
def live_server(_app):
    """The app served over HTTP on a free local port, for the browser."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make services` (apt-get install chromium)"
        )
    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, app):
    context = browser.new_context(locale="da-DK")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
