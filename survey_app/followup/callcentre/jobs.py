"""Periodic jobs: the daily call-list build, the refresh of stale dispositions and the recovery
of click-to-call calls whose status callbacks were lost."""

from __future__ import annotations

from survey_app.core.db import db
from survey_app.core.jobs import app_job
from survey_app.sampling.models import FieldingRound

from . import calllist, dispositions


@app_job
def build_call_lists() -> dict[str, dict[str, int]]:
    """Build the call list of every round the call centre fields."""
    out = {}
    for rid in calllist.round_settings():
        rnd = db.session.get(FieldingRound, rid)
        out[rnd.code] = calllist.build(rnd)
        db.session.commit()
    return out


@app_job
def refresh_dispositions() -> int:
    """Re-derive the dispositions of cases whose response, calls or messages changed."""
    n = dispositions.refresh_stale()
    db.session.commit()
    return n


@app_job
def recover_voice_calls() -> dict[str, int]:
    """Fetch from Twilio the status of calls left live for too long and apply it."""
    from .voice_recovery import recover

    return recover()


def register_periodic() -> None:
    try:
        from survey_app.core.periodic import register
    except ImportError:  # pragma: no cover - the registry is part of the standard build
        return
    register("calls-build", "survey_app.followup.callcentre.jobs.build_call_lists", 24 * 3600)
    register("calls-dispositions", "survey_app.followup.callcentre.jobs.refresh_dispositions", 600)
    register("voice-calls-recover", "survey_app.followup.callcentre.jobs.recover_voice_calls", 300)
