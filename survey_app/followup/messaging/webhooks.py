"""What Twilio tells us: delivery status callbacks and inbound SMS (STOP, START, replies).

Callbacks may repeat and arrive out of order: the state only moves forward
(queued < sending < sent < delivered; failed from anything before delivered), and every
callback is stored as an event whether it moved the state or not.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from survey_app.core import audit
from survey_app.core.db import db, utcnow
from survey_app.core.ids import parse_id

from . import services
from .channels.sms import UNDELIVERABLE_CODES
from .models import STATE_RANK, InboundMessage, Message

#: Twilio MessageStatus -> our state
TWILIO_STATES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "AFMELD"})
START_WORDS = frozenset({"START", "UNSTOP"})


def _message(hint: str | None, sid: str | None, lock: bool) -> Message | None:
    query = db.select(Message).where(Message.channel == "sms")
    if (message_id := parse_id(hint)) is not None:
        query = query.where(Message.id == message_id)
    elif sid:
        query = query.where(Message.provider_id == sid)
    else:
        return None
    if lock:
        query = query.with_for_update()
    message = db.session.execute(query).scalars().first()
    if message is not None and sid and message.provider_id not in (None, sid):
        return None  # the id in the URL and the sid disagree: not ours
    return message


def status_callback(form: dict, hint: str | None) -> tuple[Message | None, bool]:
    """Apply one status callback; returns (message or None if unknown, whether state moved)."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    raw = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    code = form.get("ErrorCode")
    message = _message(hint, sid, lock=db.session.get_bind().dialect.name == "postgresql")
    if message is None:
        return None, False
    new = TWILIO_STATES.get(raw)
    now = utcnow()
    current = message.state
    moved = False
    if message.provider_id is None and sid:
        message.provider_id = sid
    if new == "failed":
        if current in ("queued", "sending", "sent"):
            message.state, message.failed_at = "failed", now
            message.last_error = f"Twilio {raw}" + (f" error {code}" if code else "")
            moved = True
    elif new in STATE_RANK and current in STATE_RANK and STATE_RANK[new] > STATE_RANK[current]:
        message.state = new
        if new == "sent":
            message.sent_at = message.sent_at or now
        if new == "delivered":
            message.sent_at = message.sent_at or now
            message.delivered_at = now
        moved = True
    services.event(
        message.id,
        "callback",
        message.state,
        raw_status=raw[:32] or None,
        sid=sid,
        error_code=code,
        applied=moved,
    )
    if moved and message.state == "failed":
        permanent = code is not None and str(code).isdigit() and int(code) in UNDELIVERABLE_CODES
        message.error_permanent = permanent
        if permanent:
            services.suppress("sms", message.to_address, "invalid", f"twilio:{code}")
        services.advance_case(message.case_id, "sms", now)
    db.session.flush()
    return message, moved


def _keyword(body: str) -> str | None:
    words = re.findall(r"[A-Za-zÆØÅæøå]+", body or "")
    if not words or len(words) > 3:
        return None
    first = words[0].upper()
    if first in STOP_WORDS:
        return "stop"
    if first in START_WORDS:
        return "start"
    return None


def inbound(form: dict) -> InboundMessage:
    """Store an inbound SMS; STOP suppresses the number for every sender, START lifts it."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    if sid:
        seen = db.session.execute(
            db.select(InboundMessage).filter_by(provider_id=sid)
        ).scalar_one_or_none()
        if seen is not None:
            return seen  # a repeated webhook
    raw_from = form.get("From") or ""
    try:
        sender = services.normalise_phone(raw_from) or raw_from
    except services.AddressError:
        sender = raw_from
    body = form.get("Body") or ""
    action = _keyword(body)
    row = InboundMessage(
        provider_id=sid,
        from_address=sender[:32],
        to_address=(form.get("To") or "")[:32] or None,
        body=body[:1600],
        action=action,
    )
    try:
        # a savepoint: the same webhook delivered twice at once loses the race on the unique
        # provider id, and then changes nothing (the other delivery did the work)
        with db.session.begin_nested():
            db.session.add(row)
            if action == "stop":
                services.suppress("sms", sender, "stop", "inbound-sms")
                audit.record(
                    "sms.stop", "suppression", None, actor_label="respondent", channel="sms"
                )
            elif action == "start":
                services.lift("sms", sender, ("stop",), "inbound-sms")
            db.session.flush()
    except IntegrityError:
        seen = (
            db.session.execute(
                db.select(InboundMessage).filter_by(provider_id=sid)
            ).scalar_one_or_none()
            if sid
            else None
        )
        if seen is None:
            raise
        return seen
    return row
