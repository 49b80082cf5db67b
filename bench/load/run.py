"""Whole-system load test: a fielding day against the production topology.

    .venv/bin/python bench/load/run.py [--invitations 20000] [--respondents 500] [--agents 20]
        [--api-clients 5] [--seconds 300] [--baseline-seconds 30] [--soak [--soak-seconds 3600]]

On a database of its own (created, and dropped afterwards) and a free Redis database, it starts
``scripts/topology.sh up`` (two gunicorn app processes, two RQ workers) with e-mail going to a
local SMTP sink (aiosmtpd) and SMS to the local fake Twilio API of the tests; seeds the rounds,
agents and API keys (``seed.py``); measures the bare-Flask baseline (``baseline.py`` behind the
same gunicorn settings, two processes) with as many users as the mix, paced like respondents and
saturated; then runs the mix (``drive.py`` with the users of ``locustfile.py``): respondents
answering page by page through ``/s/<token>`` links, agents working the call list, API clients
reading statistics, while ``survey-app invitations send`` queues an e-mail and an SMS per case
of the ``LOAD`` round through the real outbox and the workers send them.

Reports per endpoint requests/s and p95/p99 with ratios to the baseline, the errors (goal: none),
the invitation fan-out time (first ``invitations send`` until every message is recorded as sent,
with duplicates and losses counted at the SMTP sink and the fake Twilio), and the RSS of every app
and worker process sampled over the run (``--soak``: a long run, default one hour, reporting the
growth). Every process it started is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import procs  # noqa: E402
import report  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.support import (  # noqa: E402
    free_port,
    messaging_env,
    scratch_database,
    scratch_redis,
)
from survey_app.testing.messaging_fakes import (  # noqa: E402
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    SmtpServer,
)


def think(value: str) -> tuple[float, float]:
    lo, _, hi = value.partition("-")
    return float(lo), float(hi or lo)


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--invitations", type=int, default=20000, help="e-mail + SMS (2 per case)")
    p.add_argument("--respondents", type=int, default=500)
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--api-clients", type=int, default=5)
    p.add_argument("--call-cases", type=int, help="cases on the call list (default: enough)")
    p.add_argument("--web-cases", type=int, help="more links for respondents (default: enough)")
    p.add_argument("--seconds", type=float, default=300, help="measured length of the mix")
    p.add_argument("--baseline-seconds", type=float, default=30, help="per baseline phase")
    p.add_argument("--soak", action="store_true", help="a long mix with memory growth")
    p.add_argument("--soak-seconds", type=float, default=3600)
    p.add_argument("--sample-every", type=float, default=None, help="RSS sampling, seconds")
    p.add_argument("--think", type=think, default=(3, 8), help="respondent, s (lo-hi)")
    p.add_argument("--agent-think", type=think, default=(2, 5))
    p.add_argument("--api-think", type=think, default=(1, 3))
    p.add_argument("--spawn-rate", type=float, default=50, help="users started per second")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per app process")
    p.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    p.add_argument("--fanout-timeout", type=float, default=1800)
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--keep-logs", action="store_true", help="keep the run's directory")
    args = p.parse_args()
    if args.soak:
        args.seconds = args.soak_seconds
    args.sample_every = args.sample_every or (60 if args.soak else 5)
    # Enough links and call-list cases that the users do not run out: a survey is 9 pauses
    # (start, 7 pages, review), a call one pause plus about a second of requests.
    surveys = args.respondents * args.seconds / (9 * sum(args.think) / 2)
    if args.web_cases is None:
        args.web_cases = max(0, math.ceil(1.2 * surveys) + args.respondents - args.invitations // 2)
    calls = args.agents * args.seconds / (sum(args.agent_think) / 2 + 1)
    if args.call_cases is None:
        args.call_cases = max(200, math.ceil(1.2 * calls))
    return args


def drive(phase: str, seconds: float, args, env: dict, work: Path, on_measuring=None) -> dict:
    """One locust phase in its own process; ``on_measuring`` is called when it starts measuring.
    The mix is measured after a warm-up in which the respondents arrive (0 to 2x the longest
    think time after their start)."""
    out = work / f"{phase}.json"
    warmup = 2 * args.think[1] + 2 if phase == "mix" else 1
    proc = subprocess.Popen(
        [
            str(procs.BIN / "python"),
            str(HERE / "drive.py"),
            phase,
            "--seconds",
            str(seconds),
            "--spawn-rate",
            str(args.spawn_rate),
            "--warmup",
            str(warmup),
            "--out",
            str(out),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(work / f"{phase}.log", "ab"),  # noqa: SIM115
        text=True,
    )
    try:
        for line in proc.stdout:
            if line.strip() == "measuring" and on_measuring:
                on_measuring()
        proc.wait(timeout=seconds + 600)
    finally:
        procs.stop(proc, signal.SIGINT)
    if proc.returncode or not out.exists():
        raise SystemExit(f"load phase {phase} failed (exit {proc.returncode}); see {work}")
    return json.loads(out.read_text())


class FanOut(threading.Thread):
    """``survey-app invitations send`` for e-mail and SMS, then waits until every message is
    recorded as sent (or failed)."""

    def __init__(self, env: dict, db_url: str, timeout: float):
        super().__init__(daemon=True)
        self.env, self.db_url, self.timeout = env, db_url, timeout
        self.result: dict = {}
        self.proc: subprocess.Popen | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        engine = create_engine(self.db_url)
        start = time.monotonic()
        output = []
        for channel in ("email", "sms"):
            if self.halt.is_set():
                return
            self.proc = subprocess.Popen(
                [
                    str(procs.BIN / "survey-app"),
                    "invitations",
                    "send",
                    "--round",
                    "LOAD",
                    "--channel",
                    channel,
                ],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            output.append(self.proc.communicate()[0].strip())
        queued = time.monotonic() - start
        states: dict = {}
        while time.monotonic() - start < self.timeout and not self.halt.is_set():
            with engine.connect() as conn:
                query = text("SELECT state, count(*) FROM messages GROUP BY 1")
                states = dict(conn.execute(query).all())
            if states and not set(states) & {"queued", "sending"}:
                break
            time.sleep(0.5)
        all_sent = time.monotonic() - start
        with engine.connect() as conn:
            first, last = conn.execute(
                text("SELECT min(created_at), max(sent_at) FROM messages")
            ).one()
        self.result = {
            "commands": output,
            "queued_s": queued,
            "all_sent_s": all_sent,
            "rows_to_last_sent_s": (last - first).total_seconds() if first and last else None,
            "states": states,
        }
        engine.dispose()


def interrupt(*_args) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)  # let the clean-up run to its end
    raise KeyboardInterrupt


def fielding_day(args, env: dict, ports: list[int], db_url: str, run: dict) -> dict:
    """Topology up, seed, baseline, mix; the figures. ``run`` collects what must be stopped."""
    work = Path(env["TOPOLOGY_DIR"]).parent
    topology = run["topology"]
    t0 = time.monotonic()
    topology.up()
    print(
        f"topology up in {time.monotonic() - t0:.1f} s: apps on {ports}, {args.workers} "
        f"workers, {args.web_workers} gunicorn workers each ({work})"
    )

    os.environ.update({k: v for k, v in env.items() if k.startswith("SURVEY_")})
    from seed import seed

    from survey_app import create_app
    from survey_app.core.db import db

    t0 = time.monotonic()
    app = create_app()
    with app.app_context():
        data = seed(
            args.invitations // 2, args.call_cases, args.web_cases, args.agents, args.api_clients
        )
        db.engine.dispose()
    print(
        f"seeded in {time.monotonic() - t0:.1f} s: {data['cases']} cases to invite, "
        f"{len(data['tokens'])} respondent links, call list {data['call_list']}, "
        f"release {data['release']}"
    )

    base_ports = [free_port(), free_port()]
    data.update(
        apps=[f"http://127.0.0.1:{p}" for p in ports],
        baseline=[f"http://127.0.0.1:{p}" for p in base_ports],
        think={"respondent": args.think, "agent": args.agent_think, "api": args.api_think},
        counts={
            "respondents": args.respondents,
            "agents": args.agents,
            "api_clients": args.api_clients,
        },
    )
    data_file = work / "data.json"
    data_file.write_text(json.dumps(data))
    run_env = {**env, "BENCH_LOAD_DATA": str(data_file)}

    phases = {}
    with procs.BaselineServers(base_ports, env, work):
        for phase in ("baseline-paced", "baseline-saturated"):
            phases[phase] = drive(phase, args.baseline_seconds, args, run_env, work)
            print(f"{phase}: {phases[phase]['total']['rps']:.0f} requests/s")

    sampler = run["sampler"] = procs.MemorySampler(topology, args.sample_every)
    fanout = run["fanout"] = FanOut(env, db_url, args.fanout_timeout)

    def measuring():
        sampler.start()
        fanout.start()

    print(
        f"mix: {args.respondents} respondents, {args.agents} agents, "
        f"{args.api_clients} API clients for {args.seconds:.0f} s ...",
        flush=True,
    )
    phases["mix"] = drive("mix", args.seconds, args, run_env, work, measuring)
    sampler.stop()
    fanout.join(timeout=args.fanout_timeout)
    time.sleep(1)  # late arrivals at the fakes would be duplicates: let them land
    smtp, twilio = run["smtp"], run["twilio"]
    emails = Counter(smtp.sink.recipients)
    numbers = Counter(m["To"] for m in twilio.messages)
    fan = {**fanout.result, "cases": data["cases"], "emails": emails, "sms": numbers}
    return report.build(args, phases, fan, sampler, work)


def stop_all(run: dict) -> None:
    """Stop what the run started, the workers before the fakes they send to (idempotent)."""
    sampler, fanout = run.get("sampler"), run.get("fanout")
    if sampler is not None and sampler.is_alive():
        sampler.stop()
    if fanout is not None:
        fanout.halt.set()
        if fanout.proc is not None:
            procs.stop(fanout.proc)
    if run.get("topology") is not None:
        run["topology"].down()


def main() -> None:
    args = arguments()
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    run: dict = {}
    keep = args.keep_logs
    # SIGTERM (and SIGHUP) end the run like Ctrl-C: through the finally clauses below.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        with (
            scratch_redis("bench-load", ttl=4 * 3600) as redis_url,
            scratch_database("bench_load", digits=8) as db_url,
        ):
            try:
                keep = measure(args, work, db_url, redis_url, run) or keep
            finally:
                stop_all(run)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything this run started", file=sys.stderr)
    except BaseException:
        keep = True
        raise
    finally:
        if keep:
            print(f"logs, data and per-phase figures kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def measure(args, work: Path, db_url: str, redis_url: str, run: dict) -> bool:
    """The fakes, the fielding day and the report; whether the run had problems."""
    with (
        SmtpServer(parse=False) as smtp,
        FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, keep_bodies=False) as twilio,
    ):
        ports = [free_port(), free_port()]
        env = {
            **os.environ,
            "TOPOLOGY_DIR": str(work / "topology"),
            "TOPOLOGY_PORTS": " ".join(map(str, ports)),
            "TOPOLOGY_WORKERS": str(args.workers),
            "SURVEY_WEB_WORKERS": str(args.web_workers),
            "SURVEY_DATABASE_URL": db_url,
            "SURVEY_REDIS_URL": redis_url,
            "SURVEY_SECRET_KEY": "bench-load-" + uuid.uuid4().hex,
            "SURVEY_BASE_URL": f"http://127.0.0.1:{ports[0]}",
            "SURVEY_PROXY_FIX": "1",
            "SURVEY_STAFF_TOTP_ROLES": '["admin", "partner_operator", "agent"]',
            **messaging_env(smtp.port, twilio.url),
        }
        run.update(topology=procs.Topology(env, work / "topology"), smtp=smtp, twilio=twilio)
        try:
            figures = fielding_day(args, env, ports, db_url, run)
        finally:
            stop_all(run)  # inside the block: the workers stop while the fakes still answer
    report.show(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str))
    return bool(report.problems(figures))


if __name__ == "__main__":
    main()
