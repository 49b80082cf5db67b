"""Benchmark: page saves by concurrent respondents against the app on gunicorn and PostgreSQL.

    .venv/bin/python bench/page_save.py [--respondents 50] [--workers 4] [--seconds 15]
                                        [--rounds 3] [--paced-rate 50]

A fresh PostgreSQL database (and a free Redis database, for the rate-limit counters, as in
production) is made for the run and removed afterwards. Each simulated respondent gets its own
response (``new_response``), exchanges its token at ``/s/<token>``, starts the survey with the
CSRF token from the page, then POSTs the questionnaire's pages with valid answers, over and over
(each POST is one page save: answers, routing, classification, paradata, commit).

The baseline is a bare Flask endpoint doing one SQL insert, served by gunicorn with the same
number of workers, measured in the same run with the same client. Two phases for each server:

- *saturated*: every respondent posts again as soon as the answer comes (throughput; latency
  here is mostly queueing: about respondents / throughput). ``--rounds`` rounds, baseline and
  app alternating, and the median of the rounds' ratios;
- *paced*: the respondents together offer ``--paced-rate`` saves per second (latency at a load
  below saturation, the figure the p99 goal is about).

Prints a table and the throughput ratio app / baseline. The client runs on the same machine and
its share of the CPU differs between the two (the app's client carries a session cookie and
reads more headers), so the table also gives each server's own CPU per save (gunicorn, PostgreSQL
and Redis processes) and their ratio. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.support import (  # noqa: E402
    SECRET_KEY,
    app_env,
    free_port,
    percentile,
    served_app_scratch,
    wait_until_up,
)

# One pass through the questionnaire of a "recruited with another profile" respondent.
PAGES = [
    ("role", {"respondent_role": "yes"}),
    ("status", {"recruitment_status": "1"}),
    ("outcome", {"outcome": "2", "positions": "3", "positions_filled": "2"}),
    ("applicants", {"applicants": "12", "qualified_applicants": "4"}),
    ("reasons", {"profile_gap": ["1", "3"]}),
    ("channels", {"channels": ["1", "3"], "job_order": "2"}),
    ("comment", {"comment": "Svært at finde folk med den rette erfaring."}),
]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- the baseline: a bare Flask endpoint doing one SQL insert ----------------------------------


def baseline():
    """``gunicorn 'page_save:baseline()'``: POST /save inserts one row and answers 204."""
    import json

    from flask import Flask, request

    # No ping per checkout: the app pings only connections that sat idle (core.db), and under
    # this load none do.
    engine = create_engine(os.environ["BENCH_BASELINE_DB"])
    app = Flask("baseline")
    insert = text(
        "INSERT INTO baseline_saves (response_id, page_id, payload) "
        "VALUES (:r, :p, CAST(:v AS jsonb))"
    )

    @app.post("/save/<int:response_id>/<page_id>")
    def save(response_id: int, page_id: str):
        values = json.dumps(request.form.to_dict(flat=False))
        with engine.begin() as conn:
            conn.execute(insert, {"r": response_id, "p": page_id, "v": values})
        return "", 204

    return app


# --- setup ------------------------------------------------------------------------------------


def make_responses(url: str, count: int) -> list[str]:
    """A migrated database with STAR, the bank and ``count`` responses; their tokens."""
    from flask_migrate import upgrade

    from survey_app import create_app
    from survey_app.core.db import db
    from survey_app.partners.services import brand_by_code, ensure_star
    from survey_app.questionnaire.bank import default_bank_path
    from survey_app.questionnaire.services import load_bank_version, new_response

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY, "REDIS_URL": None})
    tokens = []
    with app.app_context():
        upgrade(revision="heads")
        ensure_star()
        version, _ = load_bank_version(default_bank_path())
        brand = brand_by_code("star")
        for i in range(count):
            context = {"job_title": "Tømrer", "posted_on": "2026-05-10", "source_name": "Jobnet"}
            response, token = new_response(version, brand, {**context, "n": i})
            db.session.add(response)
            tokens.append(token)
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE baseline_saves (id bigserial PRIMARY KEY, response_id int, "
                    "page_id text, payload jsonb, saved_at timestamptz DEFAULT now())"
                )
            )
        db.session.remove()
        db.engine.dispose()
    return tokens


def serve(target: str, port: int, workers: int, env: dict, cwd: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "2048",
            target,
        ],  # fmt: skip
        cwd=cwd,
        env={**os.environ, **env},
    )
    url = f"http://127.0.0.1:{port}/"
    return wait_until_up(process, url, f"gunicorn {target} did not start")


# --- the simulated respondents ------------------------------------------------------------------


class Respondent:
    """One respondent's HTTP session; ``save()`` posts the next page of the cycle."""

    def __init__(self, base: str, token: str | None, number: int) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)
        self.number = number
        self.step = 0
        self.csrf = ""
        if token is not None:
            r = self.client.get(f"/s/{token}")
            assert r.status_code == 302, r.status_code
            html = self.client.get("/survey").text
            self.csrf = CSRF.search(html).group(1)
            r = self.client.post("/survey/start", data={"csrf_token": self.csrf})
            assert r.status_code == 302, r.status_code
            # From here the session cookie goes as a plain header: httpx's cookie jar (Python's
            # http.cookiejar) costs this client more CPU per request than some of what is
            # measured, on the cores the servers use. A save never sets a new cookie (checked).
            self.cookie = "; ".join(f"{k}={v}" for k, v in self.client.cookies.items())
            self.client.cookies.clear()

    def save_app(self) -> None:
        page_id, data = PAGES[self.step % len(PAGES)]
        self.step += 1
        r = self.client.post(
            f"/survey/p/{page_id}",
            data={**data, "csrf_token": self.csrf},
            headers={"Cookie": self.cookie},
        )
        # A saved page redirects to the next page (or the review); a refused one is a 4xx page.
        if r.status_code != 302:
            raise RuntimeError(f"page {page_id}: {r.status_code} {r.text[:300]}")
        if "set-cookie" in r.headers:
            raise RuntimeError(f"page {page_id}: the save set a cookie; the client must keep it")

    def save_baseline(self) -> None:
        page_id, data = PAGES[self.step % len(PAGES)]
        self.step += 1
        r = self.client.post(f"/save/{self.number}/{page_id}", data=data)
        if r.status_code != 204:
            raise RuntimeError(f"baseline: {r.status_code}")


def server_cpu(server: subprocess.Popen) -> dict[str, float]:
    """CPU seconds used so far by one gunicorn (master and workers) and by every PostgreSQL and
    Redis process: the server side of a save, without the client that shares the machine."""
    total = {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0}
    try:
        root = psutil.Process(server.pid)
        procs = [("gunicorn", p) for p in (root, *root.children(recursive=True))]
    except psutil.Error:
        procs = []
    for proc in psutil.process_iter(["name"]):
        name = proc.info["name"] or ""
        if name.startswith(("postgres", "redis-server")):
            procs.append(("postgres" if name.startswith("postgres") else "redis", proc))
    for part, proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total[part] += times.user + times.system
    return total


def run_phase(respondents, method: str, seconds: float, rate: float | None) -> dict:
    """Each respondent saves in a loop for ``seconds``; with ``rate`` (saves/s in all) the
    respondents are paced to start saves on a fixed schedule (open loop, latency counted from
    the scheduled start, so a slow server cannot hide its queue)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    stop = start + seconds

    def loop(resp: Respondent) -> None:
        mine: list[float] = []
        interval = len(respondents) / rate if rate else 0.0
        scheduled = start + (interval * resp.number / len(respondents) if rate else 0.0)
        while True:
            now = time.perf_counter()
            if rate:
                if scheduled > now:
                    time.sleep(scheduled - now)
                begin = scheduled
                scheduled += interval
            else:
                begin = now
            if begin >= stop:
                break
            try:
                getattr(resp, method)()
            except Exception as exc:  # noqa: BLE001 - counted and shown
                with lock:
                    errors.append(str(exc)[:200])
                continue
            mine.append(time.perf_counter() - begin)
        with lock:
            latencies.extend(mine)

    while time.perf_counter() < start:
        time.sleep(0.01)
    with ThreadPoolExecutor(len(respondents)) as pool:
        list(pool.map(loop, respondents))
    elapsed = max(time.perf_counter(), stop) - start
    latencies.sort()
    return {
        "saves": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "per_s": len(latencies) / min(elapsed, seconds),
        "p50": percentile(latencies, 0.50) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "mean": statistics.fmean(latencies) * 1000 if latencies else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers, both servers")
    parser.add_argument("--seconds", type=float, default=15, help="per phase")
    parser.add_argument(
        "--rounds", type=int, default=3, help="saturated rounds, baseline and app alternating"
    )
    parser.add_argument(
        "--paced-rate", type=float, default=50, help="saves/s in all in the paced phase"
    )
    args = parser.parse_args()

    with served_app_scratch() as (url, redis_url, servers):
        measure(args, url, redis_url, servers)


def measure(args, url: str, redis_url: str, servers: list[subprocess.Popen]) -> None:
    """Both servers up (appended to ``servers``), warm-up, the phases, the table."""
    tokens = make_responses(url, args.respondents)
    app_port, base_port = free_port(), free_port()
    env = app_env(
        url,
        redis_url,
        # Limits stay on (their Redis round trips are part of a save); the respondents all
        # come from one address and save far faster than a person, so the budgets are wide.
        SURVEY_RATELIMIT_PAGE_SAVE_PER_IP="1000000/minute",
        SURVEY_RATELIMIT_PAGE_SAVE_PER_RESPONSE="1000000/minute",
        SURVEY_RATELIMIT_CREDENTIAL_PER_IP="1000000/minute",
    )
    servers.append(serve("wsgi:app", app_port, args.workers, env, ROOT))
    servers.append(
        serve(
            "page_save:baseline()",
            base_port,
            args.workers,
            {"BENCH_BASELINE_DB": url},
            ROOT / "bench",
        )
    )
    app_people = [Respondent(f"http://127.0.0.1:{app_port}", t, i) for i, t in enumerate(tokens)]
    base_people = [Respondent(f"http://127.0.0.1:{base_port}", None, i) for i in range(len(tokens))]
    # Warm up both (imports, connection pools, the parsed bank in every worker).
    run_phase(app_people, "save_app", 3, None)
    run_phase(base_people, "save_baseline", 3, None)

    app_server, base_server = servers[-2], servers[-1]
    pair = (
        ("baseline", base_people, "save_baseline", base_server),
        ("app", app_people, "save_app", app_server),
    )

    def phase(people, method: str, process, rate: float | None) -> dict:
        before, client = server_cpu(process), time.process_time()
        result = run_phase(people, method, args.seconds, rate)
        after, client = server_cpu(process), time.process_time() - client
        per_save = {k: (after[k] - before[k]) * 1000 / max(1, result["saves"]) for k in after}
        result["client_ms"] = client * 1000 / max(1, result["saves"])
        result["server_ms"] = sum(per_save.values())
        result["server_parts"] = per_save
        return result

    # Saturated: baseline and app alternate, round by round, so a machine that speeds up or
    # slows down during the run (shared hardware) moves both sides of each round's ratio.
    rounds = [
        {server: phase(people, method, process, None) for server, people, method, process in pair}
        for _ in range(args.rounds)
    ]
    paced = {
        server: phase(people, method, process, args.paced_rate)
        for server, people, method, process in pair
    }

    print(
        f"\n{args.respondents} respondents, gunicorn -w {args.workers} (sync) for both, "
        f"{args.seconds:.0f} s per phase, PostgreSQL, Redis rate-limit counters; "
        f"{os.cpu_count()} CPUs (shared with the client)\n"
    )
    head = f"{'server':<10}{'phase':<13}{'saves':>7}{'err':>5}{'saves/s':>9}"
    head += f"{'mean ms':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'server cpu ms':>15}"
    print(head)
    print("-" * len(head))
    rows = [(f"saturated {n}", r) for n, r in enumerate(rounds, 1)] + [("paced", paced)]
    for label, results in rows:
        for server, r in results.items():
            print(
                f"{server:<10}{label:<13}{r['saves']:>7}{r['errors']:>5}{r['per_s']:>9.1f}"
                f"{r['mean']:>9.1f}{r['p50']:>8.1f}{r['p95']:>8.1f}{r['p99']:>8.1f}"
                f"{r['server_ms']:>15.2f}"
            )
            parts = ", ".join(f"{k} {v:.2f}" for k, v in r["server_parts"].items())
            print(f"{'':<23}cpu ms per save: {parts}; client {r['client_ms']:.2f}")
            if r["first_error"]:
                print(f"   first error: {r['first_error']}")
    ratios = [r["app"]["per_s"] / r["baseline"]["per_s"] for r in rounds]
    costs = [r["baseline"]["server_ms"] / r["app"]["server_ms"] for r in rounds]
    listed = ", ".join(f"{x:.2f}" for x in ratios)
    print(
        f"\nthroughput ratio app / baseline (saturated), median of {len(ratios)} rounds: "
        f"{statistics.median(ratios):.2f} ({listed}) (goal >= 0.5)"
    )
    listed = ", ".join(f"{x:.2f}" for x in costs)
    print(
        f"server-side cost ratio (baseline / app CPU per save of gunicorn, PostgreSQL and Redis, "
        f"the client left out), median: {statistics.median(costs):.2f} ({listed})"
    )
    print(
        f"app p99 at {args.paced_rate:.0f} saves/s: {paced['app']['p99']:.1f} ms (goal < 100 ms); "
        f"saturated p99 {max(r['app']['p99'] for r in rounds):.1f} ms at most"
    )
    for person in app_people + base_people:
        person.client.close()


if __name__ == "__main__":
    main()
