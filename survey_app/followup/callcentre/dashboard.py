"""The supervisor's figures: progress, dispositions and AAPOR rates, attempts, agents, appointments.

Every table is a header and rows, so the page, its charts and its CSV downloads show the same
numbers. Dispositions are refreshed (dispositions.refresh_stale) before they are counted."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import func

from survey_app.auth.models import User
from survey_app.core.db import db, utcnow
from survey_app.followup.disposition import CODES, disposition_for
from survey_app.followup.rates import all_rates, counts_from_dispositions
from survey_app.partners.models import Brand
from survey_app.questionnaire.models import Response
from survey_app.sampling.models import Case, FieldingRound

from . import dispositions
from .calllist import to_local
from .models import Appointment, CallAttempt, CaseDisposition

PROGRESS_HEADER = [
    "cases",
    "completed",
    "in_progress",
    "refused",
    "opted_out",
    "ineligible",
    "open",
]
TABLES = (
    "progress_round",
    "progress_brand",
    "progress_channel",
    "progress_mode",
    "dispositions",
    "rates",
    "attempts",
    "agents",
    "appointments",
)


def _progress(key, rounds: list[int], label: str) -> dict:
    rows = db.session.execute(
        db.select(key, Case.status, Response.status, func.count())
        .select_from(Case)
        .join(Response, Response.id == Case.response_id)
        .join(FieldingRound, FieldingRound.id == Case.round_id)
        .join(Brand, Brand.id == Case.brand_id)
        .where(Case.round_id.in_(rounds))
        .group_by(key, Case.status, Response.status)
    ).all()
    table: dict[str, Counter] = defaultdict(Counter)
    for value, status, rstatus, n in rows:
        c = table[value if value is not None else "-"]
        c["cases"] += n
        if rstatus == "completed":
            c["completed"] += n
        elif status in ("refused", "opted_out", "ineligible"):
            c[status] += n
        elif rstatus == "in_progress":
            c["in_progress"] += n
        else:
            c["open"] += n
    return {
        "header": [label, *PROGRESS_HEADER],
        "rows": [[k, *(table[k][h] for h in PROGRESS_HEADER)] for k in sorted(table)],
    }


def build(round_ids: list[int], timezone: str = "Europe/Copenhagen", now: datetime | None = None):
    now = now or utcnow()
    for rid in round_ids:
        dispositions.refresh_stale(rid)
    db.session.commit()
    out = {
        "progress_round": _progress(FieldingRound.code, round_ids, "round"),
        "progress_brand": _progress(Brand.name, round_ids, "brand"),
        "progress_channel": _progress(Case.channel, round_ids, "channel"),
        "progress_mode": _progress(Response.mode, round_ids, "mode"),
    }
    codes = Counter(
        {
            k: n
            for k, n in db.session.execute(
                db.select(CaseDisposition.code, func.count())
                .join(Case, Case.id == CaseDisposition.case_id)
                .where(Case.round_id.in_(round_ids))
                .group_by(CaseDisposition.code)
            )
        }
    )
    out["dispositions"] = {
        "header": ["code", "disposition", "group", "cases"],
        "rows": [
            [code, disposition_for(code).label_en, disposition_for(code).group, codes[code]]
            for code in sorted(CODES, key=lambda c: [int(p) for p in c.split(".")])
            if codes[code]
        ],
    }
    counts = counts_from_dispositions(codes.elements())
    rates = all_rates(counts)
    out["rates"] = {
        "header": ["rate", "value"],
        "rows": [[name, None if v is None else round(v, 4)] for name, v in rates.items()],
    }
    per_case = Counter(
        {
            k: n
            for k, n in db.session.execute(
                db.select(CallAttempt.case_id, func.count())
                .join(Case, Case.id == CallAttempt.case_id)
                .where(Case.round_id.in_(round_ids), CallAttempt.outcome.is_not(None))
                .group_by(CallAttempt.case_id)
            )
        }
    )
    total_cases = sum(r[1] for r in out["progress_round"]["rows"])
    histogram = Counter(min(n, 10) for n in per_case.values())
    histogram[0] = total_cases - len(per_case)
    out["attempts"] = {
        "header": ["attempts", "cases"],
        "rows": [["10+" if k == 10 else str(k), histogram[k]] for k in range(11) if histogram[k]],
    }
    out["agents"] = _agents(round_ids, timezone)
    out["appointments"] = _appointments(round_ids, timezone, now)
    return out


def _agents(round_ids: list[int], timezone: str) -> dict:
    """Calls per agent; calls/hour over the agent's working span per day (first call started to
    last call ended, the day being the call centre's local one); completes; the mean duration
    of a closed call."""
    rows = db.session.execute(
        db.select(User.email, CallAttempt.started_at, CallAttempt.ended_at, CallAttempt.outcome)
        .join(User, User.id == CallAttempt.agent_id)
        .join(Case, Case.id == CallAttempt.case_id)
        .where(Case.round_id.in_(round_ids), CallAttempt.outcome.is_not(None))
    ).all()
    stats: dict[str, dict] = defaultdict(
        lambda: {"calls": 0, "completes": 0, "seconds": 0.0, "closed": 0, "days": {}}
    )
    for email, started, ended, outcome in rows:
        s = stats[email]
        s["calls"] += 1
        s["completes"] += outcome == "completed"
        if ended is not None:
            s["closed"] += 1
            s["seconds"] += (ended - started).total_seconds()
        day = to_local(started, timezone).date()
        first, last = s["days"].get(day, (started, ended or started))
        s["days"][day] = (min(first, started), max(last, ended or started))
    table = []
    for email in sorted(stats):
        s = stats[email]
        hours = sum((b - a).total_seconds() for a, b in s["days"].values()) / 3600
        table.append(
            [
                email,
                s["calls"],
                round(hours, 2),
                round(s["calls"] / hours, 1) if hours > 0 else None,
                s["completes"],
                round(s["seconds"] / s["closed"]) if s["closed"] else None,
            ]
        )
    return {
        "header": ["agent", "calls", "hours", "calls_per_hour", "completes", "avg_call_seconds"],
        "rows": table,
    }


def _appointments(round_ids: list[int], timezone: str, now: datetime) -> dict:
    rows = db.session.execute(
        db.select(Appointment.due_at, Appointment.hard)
        .join(Case, Case.id == Appointment.case_id)
        .where(Case.round_id.in_(round_ids), Appointment.state == "pending")
    ).all()
    hours: dict[str, Counter] = defaultdict(Counter)
    for due, hard in rows:
        label = to_local(due, timezone).strftime("%Y-%m-%d %H:00")
        hours[label]["hard" if hard else "soft"] += 1
    return {
        "header": ["hour", "hard", "soft", "total"],
        "rows": [
            [h, hours[h]["hard"], hours[h]["soft"], hours[h]["hard"] + hours[h]["soft"]]
            for h in sorted(hours)
        ],
    }
