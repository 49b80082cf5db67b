"""RQ jobs of the messaging module. They take ids and are safe to run twice."""

from __future__ import annotations

import logging

from survey_app.core import periodic
from survey_app.core.db import db
from survey_app.core.jobs import app_job

log = logging.getLogger(__name__)

periodic.register("reminder-sweep", f"{__name__}.sweep_job", 300)
periodic.register("outbox-reconcile", f"{__name__}.reconcile_job", 60)


@app_job
def send_batch(ids: list[int]) -> dict:
    from .outbox import send_batch as send

    return send([int(i) for i in ids])


@app_job
def build_letters(round_id: int) -> int:
    from .letters import build_letters as build

    batch = build(int(round_id))
    return 0 if batch is None else batch.letters


@app_job
def sweep_job() -> dict:
    """The reminder sweep: queue due reminders, hand due phone steps to the call centre."""
    from .outbox import dispatch
    from .reminders import sweep

    counts, new = sweep()
    db.session.commit()
    counts["jobs"] = dispatch(new)
    return counts


@app_job
def reconcile_job() -> dict:
    """Re-enqueue what a crash or a lost queue left in the outbox."""
    from .outbox import dispatch
    from .reconcile import reconcile

    counts, ready = reconcile()
    db.session.commit()
    counts["jobs"] = dispatch(ready)
    if counts["reclaimed"] or counts["requeued"]:
        log.info("outbox reconciled: %s", counts)
    return counts
