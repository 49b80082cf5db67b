"""Webhook push of completed responses to STAR: an outbox, signed requests, retries with back-off.

1. :func:`sweep` finds completed responses without a delivery and writes one row each, with the
   JSON body fixed at that moment (provenance and answers) and its sha256.
2. :func:`send_due` claims due rows and POSTs each body to ``SURVEY_STAR_WEBHOOK_URL``.

Both run for one response right after its completion is committed (``push``: a job per commit,
like messages) and for everything every minute (the periodic ``star-push`` job in ``jobs``),
which catches what the immediate job missed and sends the retries that have come due.

Each request carries::

    Content-Type: application/json
    Idempotency-Key: <delivery id>        (the same on every attempt: the receiver de-duplicates)
    X-Survey-Delivery: <delivery id>
    X-Survey-Timestamp: <unix seconds of this attempt>
    X-Survey-Signature: sha256=<hex HMAC-SHA256 with SURVEY_STAR_WEBHOOK_SECRET>

The HMAC covers ``<timestamp>.<raw body>`` (the timestamp header, a dot, the body bytes), so a
receiver that rejects timestamps older than a few minutes also rejects replays. A 2xx answer
delivers; a 5xx, 408, 429, a timeout or a connection error is retried after
``BACKOFF * 2**(attempts-1)`` seconds (capped) until ``MAX_ATTEMPTS``; any other status fails at
once (the receiver refused the request, retrying would not help).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import requests
from flask import current_app

from survey_app.core import audit
from survey_app.core.db import db, utcnow
from survey_app.partners.models import Brand, Organisation
from survey_app.questionnaire.models import Answer, BankVersion, Response
from survey_app.sampling.models import Case, FieldingRound

from .export import derive_channel, derive_mode
from .models import Delivery

SWEEP_BATCH = 500
RETRY_STATUSES = frozenset({408, 425, 429})
DEFAULTS = {
    "STAR_WEBHOOK_TIMEOUT": 10.0,
    "STAR_WEBHOOK_BACKOFF": 30,
    "STAR_WEBHOOK_MAX_BACKOFF": 6 * 3600,
    "STAR_WEBHOOK_MAX_ATTEMPTS": 10,
    "STAR_WEBHOOK_CLAIM_TIMEOUT": 300,
}


class WebhookNotConfigured(RuntimeError):
    pass


def setting(name: str):
    return current_app.config.get(name, DEFAULTS.get(name))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature (constant-time)."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def _iso(value):
    return value.isoformat() if value is not None else None


def payloads(response_ids: list[int]) -> dict[int, dict]:
    """The body of each response's delivery: provenance and answers by question id."""
    rows = db.session.execute(
        db.select(
            Response.id,
            Case.id,
            FieldingRound.code,
            BankVersion.version,
            Brand.code,
            Organisation.code,
            Case.channel,
            Response.context,
            Response.mode,
            Response.language,
            Response.notice_version,
            Response.notice_shown_at,
            Response.started_at,
            Response.completed_at,
            Response.updated_at,
            Response.classification,
            Case.stratum,
            Case.selection_prob,
        )
        .join(Case, Case.response_id == Response.id)
        .join(FieldingRound, FieldingRound.id == Case.round_id)
        .join(BankVersion, BankVersion.id == Response.bank_version_id)
        .join(Brand, Brand.id == Case.brand_id)
        .join(Organisation, Organisation.id == Brand.organisation_id)
        .where(Response.id.in_(response_ids))
    ).all()
    answers: dict[int, dict] = {}
    modes: dict[int, set] = {}
    for rid, qid, value, mode in db.session.execute(
        db.select(Answer.response_id, Answer.question_id, Answer.value, Answer.mode).where(
            Answer.response_id.in_(response_ids)
        )
    ):
        answers.setdefault(rid, {})[qid] = value
        modes.setdefault(rid, set()).add(mode)
    out = {}
    for r in rows:
        out[r[0]] = {
            "response_id": r[0],
            "case_id": r[1],
            "round": r[2],
            "bank_version": r[3],
            "brand": r[4],
            "organisation": r[5],
            "channel": derive_channel(r[6], r[7], r[8]),
            "mode": derive_mode(modes.get(r[0], set()), r[8]),
            "language": r[9],
            "notice_version": r[10],
            "notice_shown_at": _iso(r[11]),
            "started_at": _iso(r[12]),
            "completed_at": _iso(r[13]),
            "updated_at": _iso(r[14]),
            "classification": r[15],
            "stratum": r[16],
            "selection_prob": r[17],
            "answers": dict(sorted(answers.get(r[0], {}).items())),
        }
    return out


def encode(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sweep(limit: int | None = None, response_ids: list[int] | None = None) -> int:
    """Write a delivery for every completed response that has none (only ``response_ids``, if
    given). Flushes; returns the count."""
    created = 0
    while limit is None or created < limit:
        size = SWEEP_BATCH if limit is None else min(SWEEP_BATCH, limit - created)
        query = (
            db.select(Response.id)
            .join(Case, Case.response_id == Response.id)
            .where(
                Response.status == "completed",
                ~db.exists().where(Delivery.response_id == Response.id),
            )
            .order_by(Response.id)
            .limit(size)
        )
        if response_ids is not None:
            query = query.where(Response.id.in_(response_ids))
        ids = list(db.session.scalars(query))
        if not ids:
            break
        bodies = payloads(ids)
        for rid in ids:
            body = encode(bodies[rid])
            db.session.add(
                Delivery(
                    response_id=rid,
                    payload=body,
                    payload_hash=hashlib.sha256(body.encode("utf-8")).hexdigest(),
                    state="queued",
                )
            )
            created += 1
        db.session.flush()
    return created


def backoff(attempts: int) -> int:
    base = int(setting("STAR_WEBHOOK_BACKOFF"))
    return min(int(setting("STAR_WEBHOOK_MAX_BACKOFF")), base * 2 ** max(0, attempts - 1))


def claim(limit: int, response_ids: list[int] | None = None) -> list[int]:
    """Mark due deliveries as sending (and take over claims older than the claim timeout);
    only the deliveries of ``response_ids``, if given."""
    now = utcnow()
    stale = now - timedelta(seconds=int(setting("STAR_WEBHOOK_CLAIM_TIMEOUT")))
    query = (
        db.select(Delivery)
        .where(
            db.or_(
                db.and_(
                    Delivery.state == "queued",
                    db.or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
                ),
                db.and_(Delivery.state == "sending", Delivery.claimed_at < stale),
            )
        )
        .order_by(Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if response_ids is not None:
        query = query.where(Delivery.response_id.in_(response_ids))
    rows = db.session.scalars(query).all()
    for d in rows:
        d.state = "sending"
        d.claimed_at = now
    ids = [d.id for d in rows]
    db.session.commit()
    return ids


def _post(url: str, secret: str, delivery: Delivery) -> tuple[int | None, str | None]:
    body = delivery.payload.encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": str(delivery.id),
        "X-Survey-Delivery": str(delivery.id),
        "X-Survey-Timestamp": timestamp,
        "X-Survey-Signature": sign(secret, timestamp, body),
        "User-Agent": "survey-app-webhook/1",
    }
    try:
        answer = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=float(setting("STAR_WEBHOOK_TIMEOUT")),
            allow_redirects=False,
        )
    except requests.Timeout:
        return None, "timeout"
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    if answer.ok:
        return answer.status_code, None
    return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:500]}"


def send_one(delivery_id: int, url: str, secret: str) -> str:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.state != "sending":
        return "skipped"
    status, error = _post(url, secret, delivery)
    delivery.attempts += 1
    delivery.last_status = status
    delivery.claimed_at = None
    if status is not None and 200 <= status < 300:
        delivery.state = "delivered"
        delivery.delivered_at = utcnow()
        delivery.last_error = None
        delivery.next_attempt_at = None
    else:
        delivery.last_error = error or f"HTTP {status}"
        temporary = status is None or status >= 500 or status in RETRY_STATUSES
        if temporary and delivery.attempts < int(setting("STAR_WEBHOOK_MAX_ATTEMPTS")):
            delivery.state = "queued"
            delivery.next_attempt_at = utcnow() + timedelta(seconds=backoff(delivery.attempts))
        else:
            delivery.state = "failed"
            delivery.next_attempt_at = None
            audit.record(
                "delivery.failed",
                "delivery",
                delivery.id,
                actor_label="worker",
                response=delivery.response_id,
                status=status,
                attempts=delivery.attempts,
            )
    db.session.commit()
    return delivery.state


def configured() -> bool:
    return bool(
        current_app.config.get("STAR_WEBHOOK_URL") and current_app.config.get("STAR_WEBHOOK_SECRET")
    )


def send_due(limit: int = 500, response_ids: list[int] | None = None) -> dict[str, int]:
    """Send every due delivery (up to ``limit``; only those of ``response_ids``, if given).
    Returns counts by resulting state."""
    url = current_app.config.get("STAR_WEBHOOK_URL")
    secret = current_app.config.get("STAR_WEBHOOK_SECRET")
    if not url or not secret:
        raise WebhookNotConfigured(
            "set SURVEY_STAR_WEBHOOK_URL and SURVEY_STAR_WEBHOOK_SECRET to push responses to STAR"
        )
    counts: dict[str, int] = {}
    for delivery_id in claim(limit, response_ids):
        state = send_one(delivery_id, url, secret)
        counts[state] = counts.get(state, 0) + 1
    return counts


def retry(delivery: Delivery) -> None:
    """Put a failed delivery back in the queue, due now (flushes; the caller commits)."""
    delivery.state = "queued"
    delivery.next_attempt_at = None
    delivery.claimed_at = None
    audit.record("delivery.requeued", "delivery", delivery.id, response=delivery.response_id)
