"""Queued exports: the request writes an ``exports`` row and enqueues; a worker writes the file.

Files go under ``SURVEY_EXPORT_DIR`` (default ``instance/exports``), written to a ``.part`` file
and renamed when complete, with their sha256 and row count recorded. Every request, completion,
failure and download is in the audit log. In the embedded mode the queue runs the job inline.

While a worker writes the file, a heartbeat thread refreshes ``heartbeat_at`` every
``SURVEY_EXPORT_HEARTBEAT_SECONDS`` (30). A worker that dies (killed, out of memory, the host
gone) leaves the export ``running`` with an old heartbeat: the periodic ``exports-reclaim`` job
(every 5 minutes) puts every export whose heartbeat is older than ``SURVEY_EXPORT_STALE_SECONDS``
(900) back in the queue, or marks it failed once ``SURVEY_EXPORT_MAX_ATTEMPTS`` (3) workers have
started it. The heartbeat does not depend on the export's length, so a long export is never taken
for a dead one.

The periodic ``star-push`` job (every minute) sweeps completed responses into the webhook outbox
and sends what is due (see ``push`` for the immediate path).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError

from survey_app.core import audit, periodic
from survey_app.core.db import db, utcnow
from survey_app.core.jobs import app_job
from survey_app.core.queue import enqueue
from survey_app.partners.models import Brand, Organisation
from survey_app.sampling.models import FieldingRound

from .export import Dataset
from .formats import EXTENSIONS, FORMATS, ExportFormatError, write
from .models import Export

QUEUE = "exports"
JOB = "survey_app.stats.jobs.run_export"
DEFAULTS = {
    "EXPORT_HEARTBEAT_SECONDS": 30,
    "EXPORT_STALE_SECONDS": 900,
    "EXPORT_MAX_ATTEMPTS": 3,
}
log = logging.getLogger(__name__)

periodic.register("exports-reclaim", f"{__name__}.reclaim_exports", 300)
periodic.register("star-push", f"{__name__}.push_job", 60)


def setting(name: str) -> float:
    return float(current_app.config.get(name, DEFAULTS[name]))


def export_dir() -> Path:
    configured = current_app.config.get("EXPORT_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def brand_scope(organisation_id: int | None) -> set[int] | None:
    """The brands whose cases an export of this scope holds (None: every case)."""
    if organisation_id is None:
        return None
    return set(db.session.scalars(db.select(Brand.id).filter_by(organisation_id=organisation_id)))


def scope_label(organisation_id: int | None) -> str:
    if organisation_id is None:
        return "all"
    org = db.session.get(Organisation, organisation_id)
    return f"organisation {org.code}" if org else f"organisation {organisation_id}"


def create_export(
    rnd: FieldingRound,
    fmt: str,
    *,
    user=None,
    organisation_id: int | None = None,
    actor_label: str | None = None,
) -> Export:
    """Record the request (flushes; the caller commits, then calls :func:`enqueue_export`)."""
    if fmt not in FORMATS:
        raise ExportFormatError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    export = Export(
        round_id=rnd.id,
        format=fmt,
        requested_by_id=getattr(user, "id", None),
        organisation_id=organisation_id,
        state="queued",
    )
    db.session.add(export)
    db.session.flush()
    audit.record(
        "export.requested",
        "export",
        export.id,
        actor_label=actor_label,
        round=rnd.code,
        format=fmt,
        scope=scope_label(organisation_id),
    )
    return export


def enqueue_export(export_id: int):
    return enqueue(QUEUE, JOB, export_id, job_id=f"export-{export_id}", job_timeout=6 * 3600)


def mark_unqueued(export_id: int) -> None:
    """The queue refused the job: the request is recorded as failed rather than left queued."""
    db.session.rollback()
    export = db.session.get(Export, export_id)
    export.state = "failed"
    export.error = "the export queue could not be reached"
    export.finished_at = utcnow()
    audit.record("export.failed", "export", export_id, error=export.error)
    db.session.commit()


def _file_name(export: Export, rnd: FieldingRound) -> str:
    scope = "all" if export.organisation_id is None else export.organisation.code
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{rnd.code}-{scope}-{export.id}")
    return f"{safe}.{EXTENSIONS[export.format]}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_export(export_id: int) -> Export | None:
    """Write the file of a queued export. Safe to run twice: a finished export is left alone."""
    export = db.session.get(Export, export_id)
    if export is None or export.state in ("ready", "failed"):
        return export
    export.state = "running"
    export.started_at = export.heartbeat_at = utcnow()
    export.attempts = (export.attempts or 0) + 1
    db.session.commit()
    rnd = db.session.get(FieldingRound, export.round_id)
    name = _file_name(export, rnd)
    target = export_dir() / name
    part = target.with_name(target.name + ".part")
    org_id, fmt = export.organisation_id, export.format
    heartbeat = Heartbeat(db.engine, export_id, setting("EXPORT_HEARTBEAT_SECONDS"))
    heartbeat.start()
    try:
        scope = scope_label(org_id)
        ds = Dataset(rnd, brand_scope(org_id))
        rows = write(ds, fmt, part, scope=scope)
        os.replace(part, target)
        digest, size = sha256_of(target), target.stat().st_size
    except Exception as exc:  # noqa: BLE001 - the failure is recorded, the worker goes on
        heartbeat.stop()
        db.session.rollback()
        part.unlink(missing_ok=True)
        export = db.session.get(Export, export_id)
        export.state = "failed"
        export.error = f"{type(exc).__name__}: {exc}"[:2000]
        export.finished_at = utcnow()
        audit.record("export.failed", "export", export_id, actor_label="worker", error=export.error)
        db.session.commit()
        current_app.logger.exception("export %s failed", export_id)
        return export
    heartbeat.stop()
    export = db.session.get(Export, export_id)
    export.state = "ready"
    export.path = name
    export.row_count = rows
    export.size_bytes = size
    export.sha256 = digest
    export.finished_at = utcnow()
    audit.record(
        "export.created",
        "export",
        export_id,
        actor_label="worker",
        round=rnd.code,
        format=fmt,
        rows=rows,
        sha256=digest,
        scope=scope,
    )
    db.session.commit()
    return export


class Heartbeat(threading.Thread):
    """Refreshes the export's ``heartbeat_at`` on its own connection while the file is written."""

    def __init__(self, engine, export_id: int, every: float):
        super().__init__(name=f"export-{export_id}-heartbeat", daemon=True)
        self.engine, self.export_id, self.every = engine, export_id, every
        self.stopped = threading.Event()

    def run(self) -> None:
        table = Export.__table__
        while not self.stopped.wait(self.every):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        update(table)
                        .where(table.c.id == self.export_id, table.c.state == "running")
                        .values(heartbeat_at=utcnow())
                    )
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                log.warning("export %s: heartbeat not written", self.export_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


def _forget_job(export_id: int) -> None:
    """Remove a dead worker's RQ job of the export, so the export can be enqueued afresh."""
    if current_app.config["EMBEDDED_QUEUE"]:
        return
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from survey_app.core.queue import redis_connection

    with contextlib.suppress(NoSuchJobError):
        Job.fetch(f"export-{export_id}", connection=redis_connection()).delete()


def reclaim(now=None) -> dict[str, int]:
    """Exports left ``running`` by a worker that stopped: queue them again, or fail them after
    ``EXPORT_MAX_ATTEMPTS`` starts. Commits; returns the counts."""
    now = now or utcnow()
    stale = now - timedelta(seconds=setting("EXPORT_STALE_SECONDS"))
    beat = func.coalesce(Export.heartbeat_at, Export.started_at, Export.created_at)
    rows = db.session.scalars(
        db.select(Export)
        .where(Export.state == "running", beat < stale)
        .order_by(Export.id)
        .with_for_update(skip_locked=True)
    ).all()
    requeue, failed = [], 0
    for export in rows:
        rnd = db.session.get(FieldingRound, export.round_id)
        part = export_dir() / (_file_name(export, rnd) + ".part")
        part.unlink(missing_ok=True)
        if export.attempts >= int(setting("EXPORT_MAX_ATTEMPTS")):
            export.state = "failed"
            export.error = (
                f"the worker stopped while writing the file, {export.attempts} times; "
                "request the export again"
            )
            export.finished_at = now
            audit.record(
                "export.failed", "export", export.id, actor_label="worker", error=export.error
            )
            failed += 1
        else:
            audit.record(
                "export.requeued",
                "export",
                export.id,
                actor_label="worker",
                attempts=export.attempts,
                last_heartbeat=str(export.heartbeat_at or export.started_at),
            )
            export.state = "queued"
            export.heartbeat_at = None
            requeue.append(export.id)
    db.session.commit()
    for export_id in requeue:
        _forget_job(export_id)
        try:
            enqueue_export(export_id)
        except Exception:  # noqa: BLE001 - recorded on the export, as for a new request
            log.exception("export %s could not be queued again", export_id)
            mark_unqueued(export_id)
    return {"requeued": len(requeue), "failed": failed}


@app_job
def reclaim_exports() -> dict[str, int]:
    """The periodic sweep for exports of crashed workers."""
    counts = reclaim()
    if counts["requeued"] or counts["failed"]:
        log.info("exports reclaimed: %s", counts)
    return counts


@app_job
def run_export(export_id: int) -> str | None:
    export = build_export(export_id)
    return None if export is None else export.state


def file_of(export: Export) -> Path | None:
    if not export.is_ready or not export.path:
        return None
    path = export_dir() / export.path
    return path if path.is_file() else None


def _sweep(response_ids: list[int] | None = None) -> int:
    """Write the missing deliveries and commit; a concurrent sweep that wrote one first wins."""
    from .delivery import sweep

    try:
        created = sweep(response_ids=response_ids)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        created = 0
    return created


@app_job
def push_deliveries(limit: int = 500) -> dict:
    """Sweep completed responses into the outbox and send what is due."""
    from .delivery import send_due

    created = _sweep()
    return {"created": created, **send_due(limit=limit)}


@app_job
def push_job() -> dict:
    """The periodic ``star-push``: the sweep behind the immediate push, and the due retries."""
    from .delivery import configured

    if not configured():
        return {"skipped": "the STAR webhook is not configured"}
    return push_deliveries()


@app_job
def push_responses(response_ids: list[int]) -> dict:
    """The immediate push after a completion: write these responses' deliveries, send them."""
    from .delivery import WebhookNotConfigured, send_due

    ids = [int(i) for i in response_ids]
    created = _sweep(ids)
    try:
        return {"created": created, **send_due(limit=len(ids), response_ids=ids)}
    except WebhookNotConfigured:
        return {"created": created, "skipped": "the STAR webhook is not configured"}
