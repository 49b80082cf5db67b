"""Pooled connections are pinged before use only after sitting idle (core.db.ping_after_idle):
a connection whose server side went away while idle is replaced before a request meets it, and
a connection in steady use costs no extra round trip."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from survey_app.core.db import ping_after_idle

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def engines(database_url):
    made = []

    def make(idle_seconds: float):
        engine = create_engine(database_url, pool_size=1, max_overflow=0)
        ping_after_idle(engine, idle_seconds)
        made.append(engine)
        return engine

    killer = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def kill(pid: int) -> None:
        with killer.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    yield make, kill
    for engine in made:
        engine.dispose()
    killer.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def counting_pings(engine) -> list:
    pings = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted
    return pings


def test_a_connection_broken_while_idle_is_replaced_before_use(engines):
    make, kill = engines
    engine = make(0.2)
    first = backend_pid(engine)
    kill(first)
    time.sleep(0.3)
    # No error reaches the caller: the ping found the connection dead and the pool made a new one.
    second = backend_pid(engine)
    assert second != first


def test_within_the_idle_window_there_is_no_ping(engines):
    make, kill = engines
    engine = make(3600)
    pings = counting_pings(engine)
    first = backend_pid(engine)
    for _ in range(5):
        assert backend_pid(engine) == first  # the same pooled connection, never pinged
    assert pings == []
    # So a connection broken in steady use fails its one request (the app answers 503 with
    # Retry-After, core.errors) and the pool has a new one for the retry.
    kill(first)
    with pytest.raises(OperationalError):
        backend_pid(engine)
    assert backend_pid(engine) != first


def test_after_the_idle_window_every_reuse_is_pinged(engines):
    make, _kill = engines
    engine = make(0)
    pings = counting_pings(engine)
    for _ in range(4):
        backend_pid(engine)
    assert len(pings) == 3  # a new connection is not pinged; each of the 3 reuses is
