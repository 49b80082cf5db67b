"""Click-to-call through Twilio Voice: the agent presses Call, Twilio rings the agent's phone (or
Twilio Client softphone) and, once the agent answers, bridges the call to the company's number.

The call is written to the agent's open call attempt first (status ``initiating``) and committed
before Twilio is asked; the sid, Twilio's status callbacks (which may repeat and come out of
order: the status only moves forward), the company leg's result and the duration follow on the
same row. Settings (``SURVEY_`` environment variables): ``TWILIO_ACCOUNT_SID``,
``TWILIO_AUTH_TOKEN``, ``TWILIO_VOICE_FROM`` (our number, shown to both sides), and where an
agent is rung: ``TWILIO_AGENT_PHONES`` (JSON ``{"agent e-mail": "+45…"}``) or, with
``TWILIO_VOICE_CLIENT=1``, the Twilio Client identity ``agent-<user id>`` (a Voice SDK
softphone registered under it). Without them the agent dials by hand from the number on the
case page, as before.

Write operations flush; callers commit.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from survey_app.core.db import db, utcnow
from survey_app.sampling.models import Case

from . import services
from .models import CallAttempt
from .sources import messaging_services

log = logging.getLogger(__name__)

#: statuses of a call in progress, in the order they may follow each other
LIVE_RANK = {"initiating": 0, "queued": 1, "initiated": 2, "ringing": 3, "in-progress": 4}
FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
#: Twilio's ``answered`` event reports the status ``in-progress``
ALIASES = {"answered": "in-progress"}


class VoiceError(Exception):
    """A call cannot be placed; the text is for the agent."""


def configured() -> bool:
    cfg = current_app.config
    return bool(
        cfg.get("TWILIO_ACCOUNT_SID")
        and cfg.get("TWILIO_AUTH_TOKEN")
        and cfg.get("TWILIO_VOICE_FROM")
    )


def agent_endpoint(user) -> str | None:
    """Where Twilio rings the agent: their phone number, their Twilio Client identity, or None."""
    cfg = current_app.config
    phones = cfg.get("TWILIO_AGENT_PHONES") or {}
    if isinstance(phones, dict):
        number = phones.get(user.email) or phones.get(str(user.id))
        if number:
            return str(number)
    if cfg.get("TWILIO_VOICE_CLIENT"):
        return f"client:agent-{user.id}"
    return None


def available_for(user) -> bool:
    return configured() and agent_endpoint(user) is not None


def _base() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def _company_number(case: Case) -> str:
    raw = services.dial_number(case)
    if not raw:
        raise VoiceError(_("The case has no phone number."))
    normalise = messaging_services().normalise_phone
    try:
        return normalise(raw)
    except ValueError:
        raise VoiceError(_("The number %(number)s cannot be dialled.", number=raw)) from None


def prepare(case: Case, agent, now: datetime | None = None) -> tuple[CallAttempt, str]:
    """Record the call about to be placed on the agent's open attempt; returns it and where to
    ring the agent. Raises :class:`VoiceError` (nothing written) or ``services.NotYours``."""
    now = now or utcnow()
    if not configured():
        raise VoiceError(_("Calling through the browser is not set up: dial the number by hand."))
    endpoint = agent_endpoint(agent)
    if endpoint is None:
        raise VoiceError(_("No phone is set up for you: dial the number by hand."))
    if not services.holds(case.id, agent.id, now):
        raise services.NotYours()
    number = _company_number(case)
    call = services._call(case, agent.id, now)
    if call.call_status in LIVE_RANK:
        raise VoiceError(_("A call is already going on."))
    if call.call_status in FINAL or call.call_error:
        raise VoiceError(_("Record the outcome of the last call first."))
    call.phone = number
    call.call_status, call.call_updated_at = "initiating", now
    db.session.flush()
    return call, endpoint


def dial(call: CallAttempt, endpoint: str) -> CallAttempt:
    """Ask Twilio to place the recorded call. Faults are stored on the attempt, never raised."""
    from requests import RequestException
    from twilio.base.exceptions import TwilioException, TwilioRestException

    from survey_app.followup.messaging.channels.sms import twilio_client

    cfg = current_app.config
    hooks = f"{_base()}/hooks/twilio/voice"
    client = twilio_client()
    try:
        created = client.calls.create(
            to=endpoint,
            from_=str(cfg["TWILIO_VOICE_FROM"]),
            url=f"{hooks}/twiml?a={call.id}",
            method="POST",
            status_callback=f"{hooks}/status?a={call.id}",
            status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            timeout=int(cfg.get("TWILIO_VOICE_RING_SECONDS") or 30),
        )
    except TwilioRestException as exc:
        _fail(call, f"Twilio {exc.status} error {exc.code}: {exc.msg}")
    except (RequestException, TwilioException, OSError) as exc:
        _fail(call, f"Twilio unreachable: {type(exc).__name__}")
    else:
        db.session.refresh(call)  # a callback may have overtaken the answer
        if call.call_sid is None:
            call.call_sid = created.sid
        _advance(call, str(created.status or "queued"), None)
    finally:
        session = getattr(client.http_client, "session", None)
        if session is not None:
            session.close()
    db.session.flush()
    return call


def _fail(call: CallAttempt, error: str) -> None:
    call.call_status, call.call_error, call.call_updated_at = "failed", error[:300], utcnow()


def _advance(call: CallAttempt, status: str, duration: str | None) -> bool:
    """Move the call's status forward only; returns whether it moved."""
    status = ALIASES.get(status, status)
    current = call.call_status
    moved = False
    if status in FINAL:
        moved = current is None or current in LIVE_RANK
    elif status in LIVE_RANK:
        moved = current is None or (current in LIVE_RANK and LIVE_RANK[status] > LIVE_RANK[current])
    if moved:
        call.call_status, call.call_updated_at = status, utcnow()
    if status == "completed" and duration and duration.isdigit() and call.call_duration is None:
        call.call_duration = int(duration)
    return moved


def attempt_of(hint: str | None, sid: str | None) -> CallAttempt | None:
    from survey_app.core.ids import parse_id

    attempt_id = parse_id(hint)
    if attempt_id is None:
        return None
    query = db.select(CallAttempt).where(CallAttempt.id == attempt_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    call = db.session.execute(query).scalar_one_or_none()
    if call is None or call.call_status is None:
        return None
    if sid and call.call_sid not in (None, sid):
        return None  # the id in the URL and the sid disagree: not this call
    return call


def status_callback(form: dict, hint: str | None, leg: str | None) -> CallAttempt | None:
    """A status callback of the agent's call (the parent) or of the company's leg."""
    if leg == "company":
        call = attempt_of(hint, form.get("ParentCallSid"))
        if call is not None:
            _company(call, (form.get("CallStatus") or "").lower(), form.get("CallDuration"))
    else:
        sid = form.get("CallSid")
        call = attempt_of(hint, sid)
        if call is not None:
            if call.call_sid is None and sid:
                call.call_sid = sid
            _advance(call, (form.get("CallStatus") or "").lower(), form.get("CallDuration"))
    db.session.flush()
    return call


def _company(call: CallAttempt, status: str, duration: str | None) -> None:
    status = ALIASES.get(status, status)
    current = call.dial_status
    if status in FINAL:
        if current is None or current in LIVE_RANK:
            call.dial_status = status
    elif status in LIVE_RANK and (
        current is None or (current in LIVE_RANK and LIVE_RANK[status] > LIVE_RANK[current])
    ):
        call.dial_status = status
    if status == "completed" and duration and duration.isdigit():
        call.call_duration = int(duration)
    call.call_updated_at = utcnow()


def dial_result(form: dict, hint: str | None) -> CallAttempt | None:
    """The ``<Dial action>`` request: how the company's leg ended."""
    call = attempt_of(hint, form.get("CallSid"))
    if call is not None:
        _company(call, (form.get("DialCallStatus") or "").lower(), form.get("DialCallDuration"))
        db.session.flush()
    return call


def twiml(call: CallAttempt | None) -> str:
    """What Twilio does when the agent answers: dial the company from our number."""
    from twilio.twiml.voice_response import Dial, VoiceResponse

    response = VoiceResponse()
    if call is None or call.ended_at is not None or not call.phone:
        response.hangup()
        return str(response)
    hooks = f"{_base()}/hooks/twilio/voice"
    dial_verb = Dial(
        caller_id=str(current_app.config["TWILIO_VOICE_FROM"]),
        action=f"{hooks}/dial?a={call.id}",
        method="POST",
        timeout=int(current_app.config.get("TWILIO_VOICE_RING_SECONDS") or 30),
        answer_on_bridge=True,
    )
    dial_verb.number(
        call.phone,
        status_callback=f"{hooks}/status?a={call.id}&leg=company",
        status_callback_method="POST",
        status_callback_event="initiated ringing answered completed",
    )
    response.append(dial_verb)
    return str(response)


def _minutes(seconds: int | None) -> str:
    seconds = seconds or 0
    return f"{seconds // 60}:{seconds % 60:02d}"


def state(call: CallAttempt | None) -> dict:
    """What the agent's page shows about the call: a label and whether it is still going on."""
    if call is None or call.call_status is None:
        return {"status": None, "dial_status": None, "live": False, "label": ""}
    status, company = call.call_status, call.dial_status
    live = status in LIVE_RANK
    if call.call_error:
        label = _("The call could not be placed: %(error)s", error=call.call_error)
    elif status == "completed" and company in ("busy", "no-answer", "failed", "canceled"):
        label = {
            "busy": _("Call ended: the company's line was busy"),
            "no-answer": _("Call ended: the company did not answer"),
        }.get(company, _("Call ended: the company could not be reached"))
    elif status == "completed":
        label = _("Call ended after %(duration)s", duration=_minutes(call.call_duration))
    elif status in FINAL:
        label = _("Your phone did not take the call (%(status)s)", status=status)
    elif company == "in-progress":
        label = _("Connected to the company")
    elif company in ("initiated", "ringing", "queued"):
        label = _("The company's phone is ringing")
    elif status == "in-progress":
        label = _("Connecting to the company…")
    elif status == "ringing":
        label = _("Your phone is ringing: answer it")
    else:
        label = _("Calling your phone…")
    return {
        "status": status,
        "dial_status": company,
        "duration": call.call_duration,
        "live": live,
        "label": label,
    }


def current_call(case_id: int, agent_id: int) -> CallAttempt | None:
    """The agent's open attempt on the case if a call was placed on it."""
    return db.session.scalar(
        db.select(CallAttempt)
        .where(
            CallAttempt.case_id == case_id,
            CallAttempt.agent_id == agent_id,
            CallAttempt.ended_at.is_(None),
            CallAttempt.call_status.is_not(None),
        )
        .order_by(CallAttempt.id.desc())
        .limit(1)
    )
