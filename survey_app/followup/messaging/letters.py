"""Letters are printed in batches: one PDF per round and day, rebuilt as more letters join it."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import update

from survey_app.core.db import db, utcnow
from survey_app.sampling.models import Case

from . import services
from .channels import SendFault
from .content import letterhead
from .models import LetterBatch, Message
from .outbox import _fault, _finish, _load, claim

log = logging.getLogger(__name__)


def provider_id(batch: LetterBatch) -> str:
    return f"letter-batch:{batch.id}"


def build_letters(round_id: int, day: date | None = None) -> LetterBatch | None:
    """Claim the round's queued letters and add them to the day's PDF. Safe to run twice."""
    day = day or utcnow().date()
    queued = db.session.scalars(
        db.select(Message.id)
        .join(Case, Case.id == Message.case_id)
        .where(Case.round_id == round_id, Message.channel == "letter", Message.state == "queued")
    ).all()
    claimed = claim(list(queued)) if queued else []
    db.session.commit()
    if not claimed:
        return None
    now = utcnow()
    fresh = []
    for message in _load(claimed):
        reason = services.stop_reason(message.case)
        if reason:
            _finish(message.id, "suppressed", reason, now)
        else:
            fresh.append(message)
    if not fresh:
        db.session.commit()
        return None
    batch = db.session.execute(
        db.select(LetterBatch).filter_by(round_id=round_id, day=day).with_for_update()
    ).scalar_one_or_none()
    if batch is None:
        batch = LetterBatch(round_id=round_id, day=day, pdf=b"", letters=0)
        db.session.add(batch)
        db.session.flush()
    earlier = db.session.scalars(
        db.select(Message.id).where(
            Message.channel == "letter", Message.provider_id == provider_id(batch)
        )
    ).all()
    items = []
    try:
        from .channels.letter import render_pdf

        for message in _load(list(earlier)) + fresh:
            items.append((message, letterhead(message)))
        pdf = render_pdf(items, day) if items else b""
    except Exception as exc:
        log.exception("letters of round %s: the PDF could not be rendered", round_id)
        fault = SendFault(f"letter PDF: {type(exc).__name__}: {exc}")
        for message in fresh:
            _fault(message.id, fault, now)
        db.session.commit()
        raise
    batch.pdf, batch.letters, batch.updated_at = pdf, len(items), now
    for message in fresh:
        db.session.execute(
            update(Message)
            .where(Message.id == message.id, Message.state == "sending")
            .values(state="sent", sent_at=now, provider_id=provider_id(batch), last_error=None)
        )
        services.event(message.id, "state", "sent", batch=batch.id)
    invited = sorted({m.case_id for m in fresh if m.purpose == "invitation"})
    if invited:
        db.session.execute(
            update(Case)
            .where(Case.id.in_(invited), Case.status == "sampled")
            .values(status="invited")
        )
    db.session.commit()
    return batch
