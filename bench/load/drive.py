"""One phase of the load test in a process of its own (locust patches the process with gevent).

    BENCH_LOAD_DATA=data.json python bench/load/drive.py PHASE --seconds S --out stats.json

Phases: ``mix`` (respondents, agents and API clients in the counts of the data file),
``baseline-paced`` (as many bare users as the mix has, thinking like respondents) and
``baseline-saturated`` (as many bare users, no thinking). The users are spawned first; when all
run and ``--warmup`` seconds have passed, the statistics are reset, ``measuring`` is printed
(run.py starts the invitations then) and the phase is measured for ``--seconds``. Writes per
endpoint: requests, failures, requests/s, median, p95, p99 and max in ms; the errors by kind;
the users' counters.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import gevent
from locust.env import Environment

sys.path.insert(0, str(Path(__file__).resolve().parent))

import locustfile  # noqa: E402


def entry(e, seconds: float) -> dict:
    return {
        "method": e.method,
        "name": e.name,
        "requests": e.num_requests,
        "failures": e.num_failures,
        "rps": e.num_requests / seconds if seconds else 0.0,
        "median_ms": e.median_response_time,
        "p95_ms": e.get_response_time_percentile(0.95) if e.num_requests else 0,
        "p99_ms": e.get_response_time_percentile(0.99) if e.num_requests else 0,
        "max_ms": e.max_response_time or 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=["mix", "baseline-paced", "baseline-saturated"])
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--spawn-rate", type=float, default=50)
    parser.add_argument("--warmup", type=float, default=1, help="seconds after the spawn")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    counts = locustfile.DATA["counts"]
    if args.phase == "mix":
        classes = {
            locustfile.Respondent: counts["respondents"],
            locustfile.Agent: counts["agents"],
            locustfile.ApiClient: counts["api_clients"],
        }
        classes = {cls: n for cls, n in classes.items() if n > 0}
    else:
        total = counts["respondents"] + counts["agents"] + counts["api_clients"]
        bare = locustfile.BarePaced if args.phase == "baseline-paced" else locustfile.BareSaturated
        classes = {bare: total}
    for cls, n in classes.items():
        cls.fixed_count = n
    users = sum(classes.values())

    env = Environment(user_classes=list(classes), stop_timeout=5)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=args.spawn_rate)
    deadline = time.monotonic() + users / args.spawn_rate + 120
    while runner.user_count < users and time.monotonic() < deadline:
        gevent.sleep(0.2)
    gevent.sleep(args.warmup)  # the users are past their start (agents logged in, respondents
    # arrived), so the measurement sees the steady mix, not the start
    env.stats.reset_all()
    locustfile.COUNTERS.clear()
    print("measuring", flush=True)
    started = time.monotonic()
    gevent.sleep(args.seconds)
    seconds = time.monotonic() - started
    stats = [entry(e, seconds) for e in env.stats.entries.values()]
    total = entry(env.stats.total, seconds)
    errors = [
        {"method": e.method, "name": e.name, "error": str(e.error), "count": e.occurrences}
        for e in env.stats.errors.values()
    ]
    runner.quit()
    Path(args.out).write_text(
        json.dumps(
            {
                "phase": args.phase,
                "users": users,
                "seconds": seconds,
                "endpoints": sorted(stats, key=lambda s: (s["name"], s["method"])),
                "total": total,
                "errors": errors,
                "counters": dict(locustfile.COUNTERS),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
