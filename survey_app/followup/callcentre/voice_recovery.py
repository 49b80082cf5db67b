"""Recovery of click-to-call calls whose status callbacks were lost (our service down, the
network): a call with a sid that has stayed in a live status for longer than
``SURVEY_TWILIO_VOICE_STALE_SECONDS`` (600) is fetched from Twilio and its status applied the way
a status callback is, so the status still only moves forward and the duration is kept once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app

from survey_app.core.db import db, utcnow

from . import voice
from .models import CallAttempt

log = logging.getLogger(__name__)


def stale_seconds() -> int:
    return int(current_app.config.get("TWILIO_VOICE_STALE_SECONDS") or 600)


def stale_calls(now: datetime | None = None) -> list[tuple[int, str]]:
    """(attempt id, call sid) of the calls still live in our records and quiet for too long."""
    cutoff = (now or utcnow()) - timedelta(seconds=stale_seconds())
    return list(
        db.session.execute(
            db.select(CallAttempt.id, CallAttempt.call_sid)
            .where(
                CallAttempt.call_sid.is_not(None),
                CallAttempt.call_status.in_(tuple(voice.LIVE_RANK)),
                CallAttempt.call_updated_at < cutoff,
            )
            .order_by(CallAttempt.id)
        ).all()
    )


def recover(now: datetime | None = None) -> dict[str, int]:
    """Ask Twilio for the status of every stale call and apply it; commits per call. A fault for
    one call is logged with its sid and the others go on."""
    from requests import RequestException
    from twilio.base.exceptions import TwilioException, TwilioRestException

    from survey_app.followup.messaging.channels.sms import twilio_client

    out = {"checked": 0, "moved": 0, "failed": 0}
    if not (
        current_app.config.get("TWILIO_ACCOUNT_SID") and current_app.config.get("TWILIO_AUTH_TOKEN")
    ):
        return out
    calls = stale_calls(now)
    db.session.rollback()  # no transaction held while Twilio is asked
    if not calls:
        return out
    client = twilio_client()
    try:
        for attempt_id, sid in calls:
            out["checked"] += 1
            try:
                fetched = client.calls(sid).fetch()
            except TwilioRestException as exc:
                out["failed"] += 1
                log.warning(
                    "Twilio Voice recovery: call %s: Twilio %s error %s: %s",
                    sid, exc.status, exc.code, exc.msg,
                )  # fmt: skip
                continue
            except (RequestException, TwilioException, OSError) as exc:
                out["failed"] += 1
                log.warning(
                    "Twilio Voice recovery: call %s: Twilio unreachable: %s",
                    sid, type(exc).__name__,
                )  # fmt: skip
                continue
            status = getattr(fetched.status, "value", fetched.status)
            form = {"CallSid": sid, "CallStatus": str(status or "").lower()}
            if fetched.duration is not None:
                form["CallDuration"] = str(fetched.duration)
            before = db.session.scalar(
                db.select(CallAttempt.call_status).where(CallAttempt.id == attempt_id)
            )
            call = voice.status_callback(form, str(attempt_id), None)
            if call is not None and call.call_status != before:
                out["moved"] += 1
                log.info(
                    "Twilio Voice recovery: call %s moved from %s to %s",
                    sid, before, call.call_status,
                )  # fmt: skip
            db.session.commit()
    finally:
        session = getattr(client.http_client, "session", None)
        if session is not None:
            session.close()
    return out
