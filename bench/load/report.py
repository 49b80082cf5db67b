"""The load test's figures: per endpoint against the same-run bare-Flask baseline, errors, the
invitation fan-out and the memory of the app and worker processes."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path


def _ratio(value: float, base: float) -> float | None:
    return value / base if base else None


def _log_errors(directory: Path) -> dict:
    """Tracebacks and ERROR-level lines in the topology's logs, the latter by message."""
    counts: dict = {"tracebacks": 0, "error_lines": 0, "messages": Counter()}
    for log in sorted(directory.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            counts["tracebacks"] += line.startswith("Traceback")
            if '"level": "ERROR"' in line or "[ERROR]" in line:
                counts["error_lines"] += 1
                try:
                    message = json.loads(line)["message"]
                except (ValueError, KeyError, TypeError):
                    message = line
                counts["messages"][re.sub(r"[0-9a-f]{32}|\d+", "N", message)[:140]] += 1
    counts["messages"] = dict(counts["messages"].most_common(10))
    return counts


def build(args, phases: dict, fan: dict, sampler, work: Path) -> dict:
    paced, saturated, mix = phases["baseline-paced"], phases["baseline-saturated"], phases["mix"]
    bp, bs = paced["total"], saturated["total"]
    endpoints = []
    for e in [x for x in mix["endpoints"] if x["requests"]] + [
        {**mix["total"], "method": "", "name": "all (mix)"}
    ]:
        endpoints.append(
            {
                **e,
                "pct_of_bare_capacity": 100 * e["rps"] / bs["rps"] if bs["rps"] else None,
                "p95_x_bare": _ratio(e["p95_ms"], bp["p95_ms"]),
                "p99_x_bare": _ratio(e["p99_ms"], bp["p99_ms"]),
            }
        )
    emails, sms = fan.pop("emails"), fan.pop("sms")
    states = fan.get("states", {})
    sent = states.get("sent", 0) + states.get("delivered", 0)
    received = sum(emails.values()) + sum(sms.values())
    distinct = len(emails) + len(sms)
    fan.update(
        invitations=2 * fan["cases"],
        rows=sum(states.values()),
        received=received,
        duplicates=received - distinct,
        lost=max(sent - distinct, 0),
        messages_per_s=sent / fan["all_sent_s"] if fan.get("all_sent_s") else None,
        finished=bool(fan.get("all_sent_s")) and not set(states) & {"queued", "sending"},
    )
    return {
        "size": {
            "invitations": 2 * fan["cases"],
            "respondents": args.respondents,
            "agents": args.agents,
            "api_clients": args.api_clients,
            "mix_seconds": round(mix["seconds"], 1),
            "baseline_seconds": args.baseline_seconds,
            "think_s": {"respondent": args.think, "agent": args.agent_think, "api": args.api_think},
            "app_processes": 2,
            "gunicorn_workers_each": args.web_workers,
            "rq_workers": args.workers,
            "cpus": os.cpu_count(),
            "soak": args.soak,
        },
        "baseline": {
            "paced": {k: bp[k] for k in ("rps", "median_ms", "p95_ms", "p99_ms", "failures")},
            "saturated": {k: bs[k] for k in ("rps", "median_ms", "p95_ms", "p99_ms", "failures")},
        },
        "endpoints": endpoints,
        "errors": mix["errors"] + paced["errors"] + saturated["errors"],
        "counters": mix["counters"],
        "fanout": fan,
        "memory": sampler.growth(),
        "memory_samples": len(sampler.samples),
        "memory_span_s": sampler.samples[-1][0] - sampler.samples[0][0] if sampler.samples else 0,
        "logs": _log_errors(work / "topology"),
        "work_dir": str(work),
    }


def _x(value: float | None) -> str:
    return f"{value:6.2f}" if value is not None else "     -"


def show(f: dict) -> None:
    s = f["size"]
    print(
        f"\nRun size: {s['invitations']} invitations, {s['respondents']} respondents, "
        f"{s['agents']} agents, {s['api_clients']} API clients; mix {s['mix_seconds']} s, "
        f"baseline {s['baseline_seconds']} s per phase; {s['app_processes']} app processes x "
        f"{s['gunicorn_workers_each']} gunicorn workers, {s['rq_workers']} RQ workers, "
        f"{s['cpus']} CPUs (load generator on the same machine)"
    )
    b = f["baseline"]
    print(
        f"Baseline (bare Flask, same gunicorn settings, same number of users): paced "
        f"{b['paced']['rps']:.1f} req/s, p95 {b['paced']['p95_ms']:.0f} ms, "
        f"p99 {b['paced']['p99_ms']:.0f} ms; saturated (capacity) {b['saturated']['rps']:.0f} "
        f"req/s, p95 {b['saturated']['p95_ms']:.0f} ms, p99 {b['saturated']['p99_ms']:.0f} ms"
    )
    print(
        f"\n{'endpoint':<34}{'reqs':>7}{'fail':>6}{'req/s':>8}{'% cap':>8}"
        f"{'p95 ms':>8}{'p99 ms':>8}{'p95 x':>8}{'p99 x':>8}"
    )
    for e in f["endpoints"]:
        label = f"{e['method']} {e['name']}".strip()
        print(
            f"{label[:33]:<34}{e['requests']:>7}{e['failures']:>6}{e['rps']:>8.2f}"
            f"{_x(e['pct_of_bare_capacity']):>8}{e['p95_ms']:>8.0f}{e['p99_ms']:>8.0f}"
            f"{_x(e['p95_x_bare']):>8}{_x(e['p99_x_bare']):>8}"
        )
    print("  (% cap: req/s in per cent of the bare app's saturated req/s; p95 x / p99 x: the")
    print("   endpoint's percentile over the paced bare app's at the same number of users)")
    errors = f["errors"]
    print(f"\nErrors: {sum(e['count'] for e in errors)}" + (":" if errors else " (goal: none)"))
    for e in errors[:20]:
        print(f"  {e['count']:>6}  {e['method']} {e['name']}: {e['error'][:120]}")
    logs = f["logs"]
    print(f"Topology logs: {logs['tracebacks']} tracebacks, {logs['error_lines']} ERROR lines")
    for message, n in logs["messages"].items():
        print(f"  {n:>6}  {message}")
    if f["counters"]:
        print("Users: " + ", ".join(f"{k}: {v}" for k, v in sorted(f["counters"].items())))
    fan = f["fanout"]
    if fan.get("all_sent_s") is not None:
        rate = f"{fan['messages_per_s']:.0f} messages/s" if fan["messages_per_s"] else "-"
        skipped = fan["rows"] < fan["invitations"]
        print(
            f"\nInvitation fan-out: {fan['invitations']} invitations planned, {fan['rows']} queued"
            f"{' (the rest skipped: the case had answered)' if skipped else ''}; written and "
            f"enqueued in {fan['queued_s']:.1f} s; all recorded as sent after "
            f"{fan['all_sent_s']:.1f} s ({rate}); states {fan['states']}"
        )
        if fan.get("rows_to_last_sent_s") is not None:
            print(
                f"  first row written to last sent (the rows' own times, without the command's "
                f"start-up): {fan['rows_to_last_sent_s']:.1f} s"
            )
        print(
            f"  at the SMTP sink and fake Twilio: {fan['received']} received, duplicates "
            f"{fan['duplicates']}, lost {fan['lost']}"
        )
        for out in fan["commands"]:
            print("  " + out.replace("\n", "\n  "))
    else:
        print("\nInvitation fan-out: did not run")
    span = f["memory_span_s"]
    hourly = span >= 600
    print(f"\nMemory (RSS, {f['memory_samples']} samples over {span:.0f} s of the mix):")
    print(
        f"  {'process':<40}{'first':>9}{'last':>9}{'peak':>9}{'growth':>9}"
        + (f"{'per hour':>10}" if hourly else "")
    )
    for m in f["memory"]:
        print(
            f"  {m['process'][:39]:<40}{m['first_mib']:>8.1f}M{m['last_mib']:>8.1f}M"
            f"{m['peak_mib']:>8.1f}M{m['growth_mib']:>+8.1f}M"
            + (f"{m['growth_mib_per_hour']:>+9.1f}M" if hourly else "")
        )
    if not hourly:
        print("  (growth per hour is shown for runs of 10 minutes or more: --soak)")


def problems(f: dict) -> bool:
    """Anything to look at in the kept logs: errors, failures, log errors, lost messages."""
    fan = f["fanout"]
    return bool(
        f["errors"]
        or any(e["failures"] for e in f["endpoints"])
        or f["logs"]["tracebacks"]
        or f["logs"]["error_lines"]
        or fan.get("duplicates")
        or fan.get("lost")
        or not fan.get("finished")
    )
