"""Benchmark: an agent's working loop against PostgreSQL, as a ratio to a bare page.

    .venv/bin/python bench/agents.py [--cycles 200]

Loads the demo round into a fresh PostgreSQL database, fields it around the clock and builds the
call list, then times, through the WSGI test client of a logged-in agent, each step of the loop
"Next case" (claim with SKIP LOCKED, redirect) -> the case screen -> an outcome (re-plan and
re-derive the case, redirect to /agent), and as the same-run baseline ``/healthz`` (one SQL
query and a Redis ping, no template). Prints median and p95 per step and the ratio of each median
to the baseline median. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import CALLS_ALL_DAY, scratch_database  # noqa: E402

OUTCOMES = ("no_answer", "busy", "answering_machine")


def token(html: str) -> str:
    import re

    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def timed(samples: list[float], call):
    start = time.perf_counter()
    result = call()
    samples.append((time.perf_counter() - start) * 1000)
    return result


def summary(name: str, samples: list[float], base: float | None) -> str:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    ratio = f"{median / base:5.2f}x baseline" if base else "baseline"
    return f"{name:<14} median {median:7.2f} ms   p95 {p95:7.2f} ms   {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args()

    with scratch_database(digits=8) as url:
        from flask_migrate import upgrade

        from survey_app import create_app
        from survey_app.core.db import db
        from survey_app.demo import PASSWORD, ROUND, load_demo
        from survey_app.followup.callcentre import calllist
        from survey_app.sampling.rounds import get_round

        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False}
        )
        with app.app_context():
            upgrade(revision="heads")
            load_demo()
            rnd = get_round(ROUND)
            rnd.settings = {**rnd.settings, "calls": CALLS_ALL_DAY}
            db.session.commit()
            calllist.build(rnd)
            db.session.commit()
        client = app.test_client()
        html = client.get("/login").get_data(as_text=True)
        client.post(
            "/login",
            data={
                "email": "agent@callcentre.example",
                "password": PASSWORD,
                "csrf_token": token(html),
            },
        )
        steps: dict[str, list[float]] = {"healthz": [], "next": [], "case": [], "outcome": []}
        for i in range(args.cycles):
            timed(steps["healthz"], lambda: client.get("/healthz"))
            html = client.get("/agent").get_data(as_text=True)
            r = timed(
                steps["next"],
                lambda h=html: client.post("/agent/next", data={"csrf_token": token(h)}),
            )
            if "/agent/case/" not in (r.location or ""):
                print(f"list exhausted after {i} cycles")
                break
            page = timed(steps["case"], lambda u=r.location: client.get(u)).get_data(as_text=True)
            timed(
                steps["outcome"],
                lambda u=r.location, p=page, o=OUTCOMES[i % 3]: client.post(
                    f"{u}/outcome", data={"csrf_token": token(p), "outcome": o}
                ),
            )
        base = statistics.median(steps["healthz"])
        print(f"{len(steps['next'])} cycles, PostgreSQL, demo round (120 cases)")
        for step, samples in steps.items():
            print(summary(step, samples, None if step == "healthz" else base))


if __name__ == "__main__":
    main()
