"""The production topology: two gunicorn app processes and two RQ workers, one PostgreSQL, one
Redis, started and stopped by ``scripts/topology.sh``; the app keeps no state in its processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.postgres_only

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - local test server
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


@pytest.fixture
def topology(tmp_path, redis_url, database_url):
    name = f"survey_topo_{uuid.uuid4().hex[:8]}"
    base = database_url.rsplit("/", 1)[0]
    ports = [_free_port(), _free_port()]
    env = {
        **os.environ,
        "TOPOLOGY_DIR": str(tmp_path / "topology"),
        "TOPOLOGY_PORTS": " ".join(map(str, ports)),
        "SURVEY_DATABASE_URL": f"{base}/{name}",
        "SURVEY_REDIS_URL": redis_url,
        "SURVEY_WEB_WORKERS": "1",
    }
    script = str(REPO / "scripts" / "topology.sh")
    up = subprocess.run([script, "up"], env=env, capture_output=True, text=True, timeout=180)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield {"ports": ports, "env": env, "db": f"{base}/{name}", "status": up.stdout}
    finally:
        subprocess.run([script, "down"], env=env, capture_output=True, timeout=120)
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_apps_two_workers_share_one_database_and_queue(topology):
    import redis
    from rq import Queue

    status = topology["status"]
    assert status.count("running") == 4, status
    for port in topology["ports"]:
        code, body, headers = _get(f"http://127.0.0.1:{port}/readyz")
        assert code == 200, body
        assert json.loads(body)["checks"]["queue"]["mode"] == "redis"
        assert headers.get("X-Request-ID")

    # Jobs enqueued through either app's Redis are done by the workers, into the one database.
    queue = Queue(
        "maintenance", connection=redis.Redis.from_url(topology["env"]["SURVEY_REDIS_URL"])
    )
    for n in range(6):
        queue.enqueue("survey_app.core.jobs.ping", f"topology-{n}", job_id=f"topology-{n}")
    engine = create_engine(topology["db"])
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            done = conn.execute(
                text("SELECT count(*) FROM audit_events WHERE action = 'queue.ping'")
            ).scalar()
        if done >= 6:
            break
        time.sleep(0.5)
    engine.dispose()
    assert done == 6

    # Metrics from the app processes; request counts are summed across gunicorn workers.
    for port in topology["ports"]:
        _get(f"http://127.0.0.1:{port}/livez")
    code, body, _ = _get(f"http://127.0.0.1:{topology['ports'][0]}/metrics")
    assert code == 200
    assert b"survey_http_requests_total" in body and b"survey_queue_jobs" in body


def _running(pid: int) -> bool:
    """True while ``pid`` runs; an exited process its parent has not reaped yet (a zombie,
    state Z in /proc) has stopped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_down_stops_everything_gracefully(topology):
    script = str(REPO / "scripts" / "topology.sh")
    pids = [int(p.read_text()) for p in Path(topology["env"]["TOPOLOGY_DIR"]).glob("*.pid")]
    assert len(pids) == 4
    down = subprocess.run([script, "down"], env=topology["env"], capture_output=True, text=True)
    assert down.returncode == 0 and "did not stop" not in down.stderr, down.stderr
    for pid in pids:
        assert not _running(pid), pid
    for port in topology["ports"]:
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2)  # noqa: S310
