"""Write operations of the call centre: outcomes, call-backs, leases, phone interviews. They flush;
callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update

from survey_app.core import audit
from survey_app.core.db import db, utcnow
from survey_app.sampling.models import Case

from . import calllist, dispositions
from .models import Appointment, CallAttempt, CallListItem, CaseLock
from .settings import parse
from .sources import messaging_services

#: outcomes after which the case leaves the call centre for good, with the case status they set
FINAL_STATUS = {"refusal": "refused", "not_eligible": "ineligible", "completed": "responded"}
AGENT_OUTCOMES = (
    "no_answer",
    "busy",
    "answering_machine",
    "wrong_number",
    "refusal",
    "callback",
    "referred",
    "not_eligible",
)


class NotYours(Exception):
    """The agent holds no live lease on the case (expired, released or someone else's)."""


@dataclass(frozen=True)
class Callback:
    due_at: datetime  # naive UTC
    hard: bool
    mine: bool


def settings_of(case: Case):
    return parse(case.round.settings, case.round.code)


def holds(case_id: int, agent_id: int, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        db.session.scalar(
            db.select(CaseLock.case_id).where(
                CaseLock.case_id == case_id,
                CaseLock.agent_id == agent_id,
                CaseLock.expires_at > now,
            )
        )
        is not None
    )


def renew(case: Case, agent_id: int, now: datetime | None = None) -> None:
    """Extend the agent's lease on the case; :class:`NotYours` if it has lapsed or is another's."""
    now = now or utcnow()
    result = db.session.execute(
        update(CaseLock)
        .where(
            CaseLock.case_id == case.id,
            CaseLock.agent_id == agent_id,
            CaseLock.expires_at > now,
        )
        .values(expires_at=now + settings_of(case).lock)
    )
    if result.rowcount != 1:
        raise NotYours()


def release(case_id: int, agent_id: int) -> None:
    db.session.execute(
        delete(CaseLock).where(CaseLock.case_id == case_id, CaseLock.agent_id == agent_id)
    )


def _open_call(case_id: int, agent_id: int) -> CallAttempt | None:
    return db.session.scalar(
        db.select(CallAttempt)
        .where(
            CallAttempt.case_id == case_id,
            CallAttempt.agent_id == agent_id,
            CallAttempt.ended_at.is_(None),
        )
        .order_by(CallAttempt.id.desc())
        .limit(1)
    )


def _call(case: Case, agent_id: int, now: datetime) -> CallAttempt:
    call = _open_call(case.id, agent_id)
    if call is None:
        rules = settings_of(case).rules
        call = CallAttempt(
            case_id=case.id,
            agent_id=agent_id,
            started_at=now,
            phone=dial_number(case),
            time_slice=rules.slice_at(calllist.to_local(now, rules.timezone)),
        )
        db.session.add(call)
    return call


def dial_number(case: Case) -> str | None:
    """The number to call: the person the case was last referred to, else the posting's contact."""
    referred = db.session.scalar(
        db.select(CallAttempt.referred_phone)
        .where(CallAttempt.case_id == case.id, CallAttempt.referred_phone.is_not(None))
        .order_by(CallAttempt.started_at.desc(), CallAttempt.id.desc())
        .limit(1)
    )
    return referred or case.posting.contact_phone


def _stop(case: Case, status: str, reason: str, now: datetime) -> None:
    services = messaging_services()
    if services is not None:
        services.stop_case(case, status, reason, now)
    elif case.status in calllist.OPEN_STATUSES:
        case.status = status


def record_outcome(
    case: Case,
    agent_id: int,
    outcome: str,
    *,
    note: str = "",
    callback: Callback | None = None,
    referred_name: str = "",
    referred_phone: str = "",
    now: datetime | None = None,
) -> CallAttempt:
    """Close the agent's call on the case with ``outcome``, then re-plan and re-derive the case.

    The lease is released: the agent moves on to the next case."""
    now = now or utcnow()
    if outcome not in AGENT_OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    if not holds(case.id, agent_id, now):
        raise NotYours()
    if outcome == "callback" and callback is None:
        raise ValueError("a call-back needs a time")
    call = _call(case, agent_id, now)
    call.outcome = outcome
    call.ended_at = now
    call.note = note.strip() or None
    if outcome == "referred":
        call.referred_name = referred_name.strip() or None
        call.referred_phone = referred_phone.strip() or None
    db.session.flush()
    # Any pending appointment was this call (or is replaced by a new one).
    db.session.execute(
        update(Appointment)
        .where(Appointment.case_id == case.id, Appointment.state == "pending")
        .values(state="done" if outcome != "refusal" else "cancelled")
    )
    if callback is not None and outcome == "callback":
        db.session.add(
            Appointment(
                case_id=case.id,
                due_at=callback.due_at,
                hard=callback.hard,
                agent_id=agent_id if callback.mine else None,
                created_by_id=agent_id,
                attempt_id=call.id,
            )
        )
    elif outcome == "referred":
        # The referred person is called next, as soon as the rules allow.
        db.session.add(
            Appointment(
                case_id=case.id, due_at=now, hard=False, created_by_id=agent_id, attempt_id=call.id
            )
        )
    if outcome in FINAL_STATUS:
        _stop(case, FINAL_STATUS[outcome], f"phone: {outcome}", now)
    release(case.id, agent_id)
    db.session.flush()
    audit.record("call.outcome", "case", case.id, outcome=outcome, attempt=call.id)
    calllist.replan([case.id], now)
    dispositions.rederive([case.id], now)
    return call


def start_interview(case: Case, agent_id: int, now: datetime | None = None) -> CallAttempt:
    """The company agreed to answer now: the call is marked ``interview_started``."""
    now = now or utcnow()
    if not holds(case.id, agent_id, now):
        raise NotYours()
    call = _call(case, agent_id, now)
    call.outcome = "interview_started"
    renew(case, agent_id, now)
    db.session.flush()
    dispositions.rederive([case.id], now)
    return call


def interview_completed(case: Case, agent_id: int, now: datetime | None = None) -> None:
    """The phone questionnaire was sent: close the call as ``completed``, stop every channel."""
    now = now or utcnow()
    call = _call(case, agent_id, now)
    call.outcome = "completed"
    call.ended_at = now
    case.channel = case.channel or "phone"
    db.session.execute(
        update(Appointment)
        .where(Appointment.case_id == case.id, Appointment.state == "pending")
        .values(state="done")
    )
    _stop(case, "responded", "answered by phone", now)
    release(case.id, agent_id)
    db.session.flush()
    db.session.execute(
        update(CallListItem)
        .where(CallListItem.case_id == case.id)
        .values(state="done", reason="completed by phone", built_at=now)
    )
    dispositions.rederive([case.id], now)
