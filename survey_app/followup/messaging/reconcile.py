"""Putting back what a crash or a lost queue left behind; safe to run any time."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, false, or_, update

from survey_app.core.db import db, utcnow
from survey_app.sampling.models import Case

from . import services
from .models import Message


def reconcile(
    now: datetime | None = None,
    queued_grace: timedelta | None = None,
    sending_timeout: timedelta | None = None,
) -> tuple[dict[str, int], list[tuple[int, str, int]]]:
    """Return stuck ``sending`` rows to ``queued`` and list the ``queued`` rows to enqueue again.

    A ``queued`` row is picked when it waited longer than ``queued_grace`` (its job was lost)
    or its back-off has passed. Re-enqueueing is harmless: the claim lets one sender win.
    The caller commits, then dispatches the list.
    """
    cfg = current_app.config
    now = now or utcnow()
    if queued_grace is None:
        queued_grace = timedelta(seconds=_seconds(cfg, "MESSAGING_QUEUED_GRACE_SECONDS", 300))
    if sending_timeout is None:
        sending_timeout = timedelta(seconds=_seconds(cfg, "MESSAGING_SENDING_TIMEOUT_SECONDS", 900))
    stuck = db.session.scalars(
        update(Message)
        .where(Message.state == "sending", Message.claimed_at < now - sending_timeout)
        .values(state="queued", claimed_at=None, next_attempt_at=None)
        .returning(Message.id)
    ).all()
    services.events(
        [
            {"message_id": i, "kind": "state", "state": "queued", "detail": {"reclaimed": True}}
            for i in stuck
        ]  # fmt: skip
    )
    ready = db.session.execute(
        db.select(Message.id, Message.channel, Case.round_id)
        .outerjoin(Case, Case.id == Message.case_id)
        .where(
            Message.state == "queued",
            or_(
                Message.id.in_(stuck) if stuck else false(),
                and_(Message.next_attempt_at.is_(None), Message.queued_at <= now - queued_grace),
                Message.next_attempt_at <= now,
            ),
        )
        .order_by(Message.id)
    ).all()
    counts = {"reclaimed": len(stuck), "requeued": len(ready)}
    return counts, [tuple(r) for r in ready]


def _seconds(cfg, name: str, default: int) -> int:
    """A setting in seconds; 0 is a value (no grace), only a missing or empty one is the default."""
    value = cfg.get(name)
    return default if value is None or value == "" else int(value)
