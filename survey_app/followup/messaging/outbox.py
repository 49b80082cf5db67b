"""The outbox: messages are rows first, jobs carry their ids, a claim makes sending idempotent.

A sender claims rows with one conditional UPDATE (``queued`` -> ``sending``), so two jobs for the
same message send it once. Results are written with conditional UPDATEs too, so a provider
callback that overtook the send is never undone. The reconciler puts back what a crash (rows
stuck in ``sending``) or a lost queue (``queued`` rows nobody picked up) left behind.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm import joinedload

from survey_app.core.db import db, utcnow
from survey_app.core.queue import enqueue, get_queue
from survey_app.privacy.requests import restricted_addresses
from survey_app.sampling.models import Case, Posting

from . import services
from .channels import SendFault
from .content import email_parts, letterhead, sms_text
from .models import Message

log = logging.getLogger(__name__)

QUEUE_OF = {"email": "email", "sms": "sms", "letter": "letters"}
JOBS = "survey_app.followup.messaging.jobs"


def _cfg(name: str, default):
    value = current_app.config.get(name)
    return default if value is None else value


def batch_size() -> int:
    return int(_cfg("MESSAGING_BATCH_SIZE", 200))


def max_attempts() -> int:
    return int(_cfg("MESSAGING_MAX_ATTEMPTS", 6))


def backoff(attempts: int) -> int:
    """Seconds before the next try after ``attempts`` tries: base * 2^(attempts-1), capped."""
    base = int(_cfg("MESSAGING_RETRY_BASE_SECONDS", 60))
    return min(base * 2 ** max(attempts - 1, 0), 6 * 3600)


# -- dispatch ---------------------------------------------------------------------------------


def dispatch(messages: list[tuple[int, str, int]]) -> int:
    """Enqueue jobs for committed messages given as (id, channel, round_id); returns job count.

    E-mail and SMS go in batches of ids; letters as one build job per round.
    """
    by_channel: dict[str, list[int]] = defaultdict(list)
    rounds: set[int] = set()
    for message_id, channel, round_id in messages:
        if channel == "letter":
            rounds.add(round_id)
        else:
            by_channel[channel].append(message_id)
    jobs = 0
    size = batch_size()
    for channel, ids in by_channel.items():
        ids.sort()
        for i in range(0, len(ids), size):
            enqueue(QUEUE_OF[channel], f"{JOBS}.send_batch", ids[i : i + size])
            jobs += 1
    for round_id in sorted(rounds):
        enqueue("letters", f"{JOBS}.build_letters", round_id, job_id=f"letters-{round_id}")
        jobs += 1
    return jobs


def dispatch_at(messages: list[tuple[int, str, int]], when: datetime) -> int:
    """Put committed e-mails and SMS held back until ``when`` (naive UTC) on RQ's schedule.

    Their rows carry ``next_attempt_at = when``, so an early job claims nothing and the
    reconciler sends them once the time has come; in the embedded mode it is the only path.
    """
    if current_app.config["EMBEDDED_QUEUE"] or not messages:
        return 0
    from datetime import UTC

    by_channel: dict[str, list[int]] = defaultdict(list)
    for message_id, channel, _round_id in messages:
        by_channel[channel].append(message_id)
    at = when.replace(tzinfo=UTC) + timedelta(seconds=1)
    jobs, size = 0, batch_size()
    for channel, ids in by_channel.items():
        ids.sort()
        for i in range(0, len(ids), size):
            get_queue(QUEUE_OF[channel]).enqueue_at(at, f"{JOBS}.send_batch", ids[i : i + size])
            jobs += 1
    return jobs


def dispatch_ids(ids: list[int]) -> int:
    rows = db.session.execute(
        db.select(Message.id, Message.channel, Case.round_id)
        .outerjoin(Case, Case.id == Message.case_id)
        .where(Message.id.in_(ids))
    ).all()
    return dispatch([tuple(r) for r in rows])


# -- claim and record -------------------------------------------------------------------------


def claim(ids: list[int], now: datetime | None = None) -> list[int]:
    """Take ``queued`` rows (past any back-off) for sending; returns the ids this caller owns."""
    now = now or utcnow()
    claimed = db.session.scalars(
        update(Message)
        .where(
            Message.id.in_(ids),
            Message.state == "queued",
            or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
        )
        .values(state="sending", claimed_at=now, attempts=Message.attempts + 1)
        .returning(Message.id)
    ).all()
    services.events([{"message_id": i, "kind": "state", "state": "sending"} for i in claimed])
    return sorted(claimed)


_T = Message.__table__
_SENT = (
    update(_T)
    .where(_T.c.id == bindparam("mid"), _T.c.state == "sending")
    .values(
        state="sent",
        provider_id=bindparam("pid"),
        sent_at=bindparam("at"),
        last_error=None,
        next_attempt_at=None,
    )
)
_PROVIDER = (
    update(_T)
    .where(_T.c.id == bindparam("mid"), _T.c.provider_id.is_(None))
    .values(provider_id=bindparam("pid"))
)


class Results:
    """The outcomes of a batch, written in small groups so a crash can re-send only a few."""

    def __init__(self, every: int = 20, seconds: float = 0.5):
        self.sent: list[dict] = []
        self.faults: list[tuple[int, SendFault]] = []
        self.blocked: list[tuple[int, str]] = []
        self.retry: dict[int, list[int]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self.invited: set[int] = set()
        self.every, self.seconds, self.last = every, seconds, time.monotonic()

    def pending(self) -> int:
        return len(self.sent) + len(self.faults) + len(self.blocked)

    def maybe_flush(self) -> None:
        if self.pending() >= self.every or time.monotonic() - self.last >= self.seconds:
            self.flush()

    def flush(self) -> None:
        now = utcnow()
        if self.sent:
            rows = [{"mid": s["mid"], "pid": s["pid"], "at": now} for s in self.sent]
            conn = db.session.connection()
            conn.execute(_SENT, rows)
            conn.execute(_PROVIDER, [{"mid": r["mid"], "pid": r["pid"]} for r in rows])
            # a "sent" event only where this write moved the state: a callback that overtook
            # the send (already "delivered" or "failed") keeps the history as it happened
            moved = db.session.scalars(
                db.select(Message.id).where(
                    Message.id.in_([r["mid"] for r in rows]),
                    Message.state == "sent",
                    Message.sent_at == now,
                )
            ).all()
            services.events(
                [{"message_id": i, "kind": "state", "state": "sent"} for i in sorted(moved)]
            )
            self.invited.update(s["case_id"] for s in self.sent if s["purpose"] == "invitation")
            self.counts["sent"] += len(self.sent)
        for message_id, reason in self.blocked:
            _finish(message_id, "suppressed", reason, now)
            self.counts["suppressed"] += 1
        for message_id, fault in self.faults:
            delay = _fault(message_id, fault, now)
            if delay is None:
                self.counts["failed"] += 1
            else:
                self.retry[delay].append(message_id)
                self.counts["retry"] += 1
        if self.invited:
            db.session.execute(
                update(Case)
                .where(Case.id.in_(sorted(self.invited)), Case.status == "sampled")
                .values(status="invited")
            )
            self.invited.clear()
        db.session.commit()
        self.sent, self.faults, self.blocked = [], [], []
        self.last = time.monotonic()

    def schedule_retries(self, func: str, queue: str) -> None:
        """In the production mode a retry is also put on RQ's schedule; the reconciler is the
        safety net (and the only path in the embedded mode)."""
        if current_app.config["EMBEDDED_QUEUE"]:
            return
        for delay, ids in self.retry.items():
            get_queue(queue).enqueue_in(timedelta(seconds=delay + 1), func, sorted(ids))


def _finish(message_id: int, state: str, reason: str, now: datetime) -> None:
    values = {"state": state, "last_error": reason[:2000]}
    if state == "failed":
        values["failed_at"] = now
    db.session.execute(
        update(Message).where(Message.id == message_id, Message.state == "sending").values(values)
    )
    services.event(message_id, "state", state, reason=reason[:500])


def _fault(message_id: int, fault: SendFault, now: datetime) -> int | None:
    """Record a failed try; returns the back-off in seconds when it will be retried."""
    message = db.session.get(Message, message_id)
    if message is None or message.state != "sending":
        return None
    message.last_error = fault.message[:2000]
    if not fault.permanent and message.attempts < max_attempts():
        delay = backoff(message.attempts)
        message.state, message.claimed_at = "queued", None
        message.next_attempt_at = now + timedelta(seconds=delay)
        services.event(message.id, "fault", "queued", error=fault.message[:500], retry_in=delay)
        return delay
    message.state, message.failed_at = "failed", now
    message.error_permanent = fault.permanent
    services.event(
        message.id, "fault", "failed", error=fault.message[:500], permanent=fault.permanent
    )
    if fault.suppress:
        services.suppress(
            message.channel, message.to_address, fault.suppress, f"{message.channel}-send"
        )
    if message.case_id is not None:
        services.advance_case(message.case_id, message.channel, now)
    return None


# -- sending ----------------------------------------------------------------------------------


def _load(ids: list[int]) -> list[Message]:
    return (
        db.session.execute(
            db.select(Message)
            .where(Message.id.in_(ids))
            .options(
                joinedload(Message.brand),
                joinedload(Message.case).joinedload(Case.response),
                joinedload(Message.case).joinedload(Case.posting).joinedload(Posting.company),
            )
            .order_by(Message.id)
        )
        .unique()
        .scalars()
        .all()
    )


def _render(message: Message, channel: str):
    """The wire form of one message: an e-mail ready for SMTP, or the SMS text."""
    from .channels.email import build

    if message.case_id is None:  # a notice about the person, not a case (see retention_notice)
        from .retention_notice import render

        return render(message, channel)
    head = letterhead(message)
    if channel == "email":
        subject, text, html = email_parts(message, head)
        return build(
            to=message.to_address,
            subject=subject,
            text=text,
            html=html,
            from_name=head.brand_name,
            unsubscribe_url=head.optout_url,
            outbox_id=message.id,
            created_at=message.created_at,
        )
    return sms_text(message, head)


def send_batch(ids: list[int]) -> dict[str, int]:
    """Send the e-mails or SMS among ``ids`` that this call can claim. Safe to run twice.

    Everything is read and rendered first; the sending loop then touches no ORM object, so the
    small commits of results between sends cost no reloads.
    """
    from .channels import email, sms
    from .channels.email import SmtpSender
    from .channels.sms import SmsSender

    channels = set(db.session.scalars(db.select(Message.channel).where(Message.id.in_(ids))))
    unconfigured = [c for c in channels if c in ("email", "sms")]
    unconfigured = [c for c in unconfigured if not (email if c == "email" else sms).configured()]
    if unconfigured:
        # a setting is missing, not a fault of the messages: they wait, no attempt is used up
        log.warning("%s is not configured; %d messages stay queued", unconfigured[0], len(ids))
        return {"not_configured": len(ids)}
    claimed = claim(ids)
    db.session.commit()
    results = Results()
    if not claimed:
        return dict(results.counts)
    messages = _load(claimed)
    channels = {m.channel for m in messages}
    if len(channels) != 1 or channels & {"letter"}:
        raise ValueError(f"send_batch takes e-mail or SMS messages of one channel, got {channels}")
    channel = channels.pop()
    suppressed = services.suppressed_addresses(channel, [m.to_address for m in messages])
    restricted = restricted_addresses(channel, [m.to_address for m in messages])
    sender = SmtpSender() if channel == "email" else SmsSender()
    outgoing = []  # (id, case id, purpose, address, payload)
    for message in messages:
        reason = services.stop_reason(message.case) if message.case is not None else None
        if reason is None and message.to_address in suppressed:
            reason = f"address suppressed ({suppressed[message.to_address]})"
        if reason is None and message.to_address in restricted:
            reason = "processing restricted (data-subject request)"
        if reason:
            results.blocked.append((message.id, reason))
        else:
            try:
                payload = _render(message, channel)
            except Exception as exc:  # bad data must not strand the batch
                log.exception("message %s: could not be rendered", message.id)
                results.faults.append((message.id, SendFault(f"{type(exc).__name__}: {exc}")))
            else:
                outgoing.append(
                    (message.id, message.case_id, message.purpose, message.to_address, payload)
                )
    try:
        for message_id, case_id, purpose, address, payload in outgoing:
            try:
                if channel == "email":
                    pid = sender.send(payload)
                else:
                    pid = sender.send(address, payload, message_id)
            except SendFault as fault:
                results.faults.append((message_id, fault))
            except Exception as exc:
                log.exception("message %s: unexpected error while sending", message_id)
                results.faults.append((message_id, SendFault(f"{type(exc).__name__}: {exc}")))
            else:
                results.sent.append(
                    {"mid": message_id, "pid": pid, "case_id": case_id, "purpose": purpose}
                )
            results.maybe_flush()
        results.flush()
    finally:
        sender.close()
    results.schedule_retries(f"{JOBS}.send_batch", QUEUE_OF[channel])
    return dict(results.counts)
