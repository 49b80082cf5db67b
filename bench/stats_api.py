"""Benchmark: the statistics API (``/api/v1``) under concurrent clients, against a bare Flask
endpoint on the same kind of server, measured in the same run (issue 6: p99 under 50 ms at 20
concurrent clients).

    .venv/bin/python bench/stats_api.py [--clients 20] [--seconds 5] [--responses 5000]
                                        [--workers 2] [--threads 4] [--paced-rate 100]

A fresh PostgreSQL database (and a free Redis database for the rate-limit counters, as in
production) is made for the run and removed afterwards. A round of ``--responses`` answered
cases is written with COPY (``bench/publish.py``'s generator) and published as a release (about
2,000 cells; the occupation table has about 300 values); one API key is made.

Both servers are gunicorn with the same flags (``-k gthread -w W --threads T``, the production
worker class): the app (``wsgi:app``: bearer-key check, rate limit in Redis, the call logged in
``api_calls``, the release looked up) and the baseline, a bare Flask app whose one endpoint
runs a single SELECT of a table's cells of the latest release and returns them as JSON (the
floor of a data call). Each of ``--clients`` threads keeps its own keep-alive connection, for
``--seconds`` per endpoint, in two phases:

- *closed loop*: each client sends its next request as soon as the answer comes (capacity; the
  latency here is mostly queueing, about clients / throughput);
- *paced*: the clients together send ``--paced-rate`` requests/s on a fixed schedule, and each
  latency counts from the request's scheduled time, so a slow answer also counts against the
  requests it held up (the latency of 20 clients at a load the servers can carry).

The baseline is measured before and after the app's endpoints in each phase. Prints requests/s
and latency percentiles per endpoint and the ratios against the baseline. Not part of the test
suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.support import (  # noqa: E402
    app_env,
    free_port,
    percentile,
    served_app_scratch,
    wait_until_up,
)

LOG = Path(tempfile.gettempdir()) / "bench-stats-api-servers.log"

# --- the baseline: a bare Flask endpoint doing one SELECT -------------------------------------


def baseline():
    """``gunicorn 'stats_api:baseline()'``: GET /cells/<table> answers the cells as JSON."""
    from flask import Flask, abort, jsonify, request

    engine = create_engine(os.environ["BENCH_BASELINE_DB"], pool_pre_ping=True)
    app = Flask("baseline")
    query = text(
        "SELECT dimension, value, measure, estimate, ci_low, ci_high, n, suppressed "
        "FROM stats_release_cells WHERE table_id = :t "
        "AND release_id = (SELECT max(id) FROM stats_releases) ORDER BY id"
    )

    @app.get("/cells/<table_id>")
    def cells(table_id: str):
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            abort(401)
        with engine.connect() as conn:
            rows = conn.execute(query, {"t": table_id}).mappings().all()
        return jsonify({"table": table_id, "data": [dict(r) for r in rows]})

    @app.get("/")
    def index():
        return "ok"

    return app


# --- setup --------------------------------------------------------------------------------------


def prepare(url: str, responses: int) -> tuple[str, str]:
    """A migrated database with a published release; ``(api key, period)``."""
    from flask_migrate import upgrade

    from bench.publish import load
    from survey_app import create_app
    from survey_app.core.db import db
    from survey_app.partners.services import ensure_star
    from survey_app.questionnaire.bank import default_bank_path
    from survey_app.questionnaire.services import load_bank_version
    from survey_app.sampling.rounds import create_round
    from survey_app.stats.api.keys import create_key
    from survey_app.stats.releases import publish

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "REDIS_URL": None})
    with app.app_context():
        upgrade(revision="heads")
        star = ensure_star()
        load_bank_version(default_bank_path())
        rnd = create_round("BENCH", "Benchmark", date(2026, 1, 1), date(2026, 6, 30))
        db.session.commit()
        load(db, rnd, star.default_brand.id, star.id, responses)
        release = publish(["BENCH"])
        key, _row = create_key("Benchmark A/S", "api@benchmark.example")
        period = release.period
        db.session.commit()
        cells = db.session.scalar(
            text("SELECT count(*) FROM stats_release_cells WHERE release_id = :r"),
            {"r": release.id},
        )
        print(f"release {release.id} of period {period} published, {cells} cells")
        db.session.remove()
        db.engine.dispose()
    return key, period


def serve(target: str, port: int, args, env: dict, cwd: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-k", "gthread", "-w", str(args.workers),
         "--threads", str(args.threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "--backlog", "2048", target],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=LOG.open("ab"),  # the request log (still written, as in production), not shown
    )  # fmt: skip
    path = "/livez" if target == "wsgi:app" else "/"
    url = f"http://127.0.0.1:{port}{path}"
    return wait_until_up(process, url, f"gunicorn {target} did not start; see {LOG}")


# --- the clients ----------------------------------------------------------------------------------


def run(
    base: str, path: str, key: str, clients: int, seconds: float, rate: float | None = None
) -> dict:
    """``clients`` threads GET ``path`` for ``seconds``: in a closed loop (each sends again as
    soon as its answer comes), or, with ``rate``, together ``rate`` requests/s on a fixed
    schedule, each latency counted from the request's scheduled time (a late server is not
    excused by the requests it delayed)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {key}"}
    start = time.perf_counter() + 1.0
    stop = start + seconds
    interval = clients / rate if rate else 0.0

    def loop(n: int) -> None:
        mine = []
        due = start + (interval * n / clients if rate else 0.0)  # spread the clients' phases
        with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
            client.get(path)  # the connection is opened before the clock starts, not counted
            while True:
                now = time.perf_counter()
                if rate:
                    if due >= stop:
                        break
                    if due > now:
                        time.sleep(due - now)
                    begin = due
                    due += interval
                else:
                    if now < start:
                        time.sleep(0.005)
                        continue
                    if now >= stop:
                        break
                    begin = now
                try:
                    r = client.get(path)
                    if r.status_code != 200:
                        raise RuntimeError(f"{r.status_code} {r.text[:200]}")
                except Exception as exc:  # noqa: BLE001 - counted and shown
                    with lock:
                        errors.append(str(exc)[:200])
                    continue
                mine.append(time.perf_counter() - begin)
        with lock:
            latencies.extend(mine)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(loop, range(clients)))
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "per_s": len(latencies) / seconds,
        "p50": percentile(latencies, 0.50) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--responses", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, both servers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker, both")
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=100,
        help="requests/s of all clients together in the paced phase (0: closed loop only)",
    )
    args = parser.parse_args()

    with served_app_scratch() as (url, redis_url, servers):
        measure(args, url, redis_url, servers)


def measure(args, url: str, redis_url: str, servers: list[subprocess.Popen]) -> None:
    """The release, both servers up (appended to ``servers``), warm-up, the runs, the table."""
    key, period = prepare(url, args.responses)
    app_port, base_port = free_port(), free_port()
    env = app_env(
        url,
        redis_url,
        # the limit stays on (its Redis round trip is part of a call) with a wide budget
        SURVEY_RATELIMIT_API_PER_KEY="100000000/minute",
    )
    servers.append(serve("wsgi:app", app_port, args, env, ROOT))
    servers.append(
        serve("stats_api:baseline()", base_port, args, {"BENCH_BASELINE_DB": url}, ROOT / "bench")
    )
    app_base = f"http://127.0.0.1:{app_port}"
    baseline_base = f"http://127.0.0.1:{base_port}"
    endpoints = [
        ("tables", "/api/v1/tables"),
        ("table metadata", "/api/v1/tables/recruitment_by_occupation"),
        ("data JSON (area)", f"/api/v1/data/recruitment_by_area?period={period}&format=json"),
        ("data CSV (area)", f"/api/v1/data/recruitment_by_area?period={period}&format=csv"),
        ("data JSON (occupation)", f"/api/v1/data/recruitment_by_occupation?period={period}"),
    ]
    base_path = "/cells/recruitment_by_area"
    # warm up both (imports, pools, every worker)
    for path in [p for _, p in endpoints]:
        run(app_base, path, key, args.clients, 1)
    run(baseline_base, base_path, key, args.clients, 1)

    phases = [("closed loop", None)]
    if args.paced_rate:
        phases.append((f"paced, {args.paced_rate:.0f} requests/s in all", args.paced_rate))
    print(
        f"\n{args.clients} concurrent clients, {args.seconds:.0f} s per endpoint and phase; "
        f"gunicorn -k gthread -w {args.workers} --threads {args.threads} for both servers; "
        f"PostgreSQL, Redis; {os.cpu_count()} CPUs shared with the clients; "
        f"release of {args.responses} responses"
    )
    for phase, rate in phases:
        results = [
            (
                "baseline (before)",
                run(baseline_base, base_path, key, args.clients, args.seconds, rate),
            )
        ]
        for label, path in endpoints:
            results.append((label, run(app_base, path, key, args.clients, args.seconds, rate)))
        results.append(
            (
                "baseline (after)",
                run(baseline_base, base_path, key, args.clients, args.seconds, rate),
            )
        )
        report(phase, results)
    print("\nratios against the mean of the two baseline runs of the phase; goal: p99 < 50 ms")


def report(phase: str, results: list[tuple[str, dict]]) -> None:
    base = [r for label, r in results if label.startswith("baseline")]
    base_per_s = sum(r["per_s"] for r in base) / len(base)
    base_p99 = sum(r["p99"] for r in base) / len(base)
    print(f"\n{phase}")
    head = f"{'endpoint':<24}{'requests':>9}{'err':>5}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
    head += f"{'p99 ms':>8}{'req/s ratio':>12}{'p99 ratio':>10}"
    print(head)
    print("-" * len(head))
    for label, r in results:
        print(
            f"{label:<24}{r['requests']:>9}{r['errors']:>5}{r['per_s']:>8.0f}{r['p50']:>8.1f}"
            f"{r['p95']:>8.1f}{r['p99']:>8.1f}{r['per_s'] / base_per_s:>12.2f}"
            f"{r['p99'] / base_p99:>10.2f}"
        )
        if r["first_error"]:
            print(f"   first error: {r['first_error']}")


if __name__ == "__main__":
    main()
