"""The call list in the database: built from the cases due for phone follow-up, re-planned after
every call, and claimed one case at a time by agents.

Which cases: a round whose ``calls.enabled`` is set; a case still open (status ``sampled`` or
``invited``), with a contact phone and a response not yet completed, that either was handed to the
phone by the reminder schedule (a due ``phone`` reminder, followup.messaging), or has had no
message at all ``calls.after_days`` days after it was sampled, or is already being called (it has
attempts or an appointment).

When: :func:`survey_app.followup.schedule.evaluate` decides every case. A case it puts on the list
now is due now; for one it holds back for a time reason (calling hours, an appointment in the
future, the gap after the last outcome, the time-slice rotation) the first moment it would be
callable is found by evaluating the case at the candidate moments (the appointment, the end of
each gap, the start of each calling day and slice over the next two weeks). A case the schedule
drops for good (final, answered, exhausted) is marked ``done``. The stored priority and order
mirror the schedule's: priority (a hard appointment past its window counts as a soft call-back),
the agent an appointment was made for, never tried first, oldest last attempt, case id.

Claiming (:func:`claim_next`) re-checks everything at that moment: the case and response status
in the query itself (a case answered on the web a second ago is not handed out), then the
schedule for the few best candidates. On PostgreSQL the candidate rows are read with
``FOR UPDATE SKIP LOCKED`` so two agents never wait on or take the same row; on both engines the
lease in ``call_locks`` (primary key = case) is the final arbiter: the second insert fails and the
agent gets the next case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, delete, exists, or_
from sqlalchemy.exc import IntegrityError

from survey_app.core.db import db, utcnow
from survey_app.followup import schedule
from survey_app.questionnaire.models import Response
from survey_app.sampling.models import Case, FieldingRound, Posting

from .models import Appointment, CallAttempt, CallListItem, CaseLock
from .settings import CallSettings, parse
from .sources import message_model, messaging_services

OPEN_STATUSES = ("sampled", "invited")
PROBE_DAYS = 14
DROP = {
    schedule.Exclusion.FINAL,
    schedule.Exclusion.WEB_ANSWERED,
    schedule.Exclusion.EXHAUSTED,
    schedule.Exclusion.EXHAUSTED_OUTCOME,
}


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def to_utc(local: datetime, tz: str) -> datetime:
    """A naive local time of zone ``tz`` as naive UTC."""
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)


def to_local(moment: datetime, tz: str) -> datetime:
    """Naive UTC as naive local time of zone ``tz``."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def round_settings(round_ids: Iterable[int] | None = None) -> dict[int, CallSettings]:
    """The call settings of the rounds the call centre fields (enabled, not closed)."""
    query = db.select(FieldingRound.id, FieldingRound.code, FieldingRound.settings).where(
        FieldingRound.status != "closed"
    )
    if round_ids is not None:
        query = query.where(FieldingRound.id.in_(list(round_ids)))
    out = {}
    for rid, code, settings in db.session.execute(query):
        parsed = parse(settings, code)
        if parsed.enabled:
            out[rid] = parsed
    return out


def call_cases(case_ids: Iterable[int]) -> dict[int, tuple[schedule.CallCase, Appointment | None]]:
    """The schedule's view of each case (attempts, pending appointment, final/answered flags)."""
    ids = list(case_ids)
    if not ids:
        return {}
    attempts: dict[int, list[schedule.CallAttempt]] = defaultdict(list)
    last_slice: dict[int, str | None] = {}
    for cid, outcome, at, slice_ in db.session.execute(
        db.select(
            CallAttempt.case_id, CallAttempt.outcome, CallAttempt.started_at, CallAttempt.time_slice
        )
        .where(CallAttempt.case_id.in_(ids), CallAttempt.outcome.is_not(None))
        .order_by(CallAttempt.started_at, CallAttempt.id)
    ):
        attempts[cid].append(schedule.CallAttempt(outcome, _aware(at)))
        last_slice[cid] = slice_
    appointments: dict[int, Appointment] = {}
    for appt in db.session.scalars(
        db.select(Appointment)
        .where(Appointment.case_id.in_(ids), Appointment.state == "pending")
        .order_by(Appointment.created_at, Appointment.id)
    ):
        appointments[appt.case_id] = appt  # the latest one stands
    out = {}
    for cid, status, rstatus in db.session.execute(
        db.select(Case.id, Case.status, Response.status)
        .join(Response, Response.id == Case.response_id)
        .where(Case.id.in_(ids))
    ):
        appt = appointments.get(cid)
        out[cid] = (
            schedule.CallCase(
                case_id=str(cid),
                attempts=tuple(attempts[cid]),
                appointment=schedule.Appointment(_aware(appt.due_at), appt.hard) if appt else None,
                answered_on_web=rstatus == "completed",
                final=status not in OPEN_STATUSES,
                last_slice=last_slice.get(cid),
            ),
            appt,
        )
    return out


@dataclass(frozen=True)
class Plan:
    item: schedule.CallItem | None
    due_local: datetime | None
    excluded: schedule.Excluded | None


def next_due(call_case: schedule.CallCase, now: datetime, rules: schedule.CallRules) -> Plan:
    """When the case is first callable from ``now`` (naive UTC) on, and with which priority."""
    local_now = to_local(now, rules.timezone)
    first = schedule.evaluate(call_case, local_now, rules)
    if isinstance(first, schedule.CallItem):
        return Plan(first, local_now, None)
    if first.reason in DROP:
        return Plan(None, None, first)
    candidates: set[datetime] = set()
    if call_case.appointment is not None:
        at = schedule._local_naive(call_case.appointment.at, rules.timezone)
        candidates.update({at - rules.hard_before, at})
    if call_case.attempts:
        last = schedule._local_naive(call_case.attempts[-1].at, rules.timezone)
        candidates.update(last + gap for gap in rules.min_gap.values())
    for day in range(PROBE_DAYS + 1):
        date = (local_now + timedelta(days=day)).date()
        starts = [rules.day_start] + [s.start for s in rules.slices]
        candidates.update(datetime.combine(date, t) for t in starts)
    for moment in sorted(c for c in candidates if c > local_now):
        decision = schedule.evaluate(call_case, moment, rules)
        if isinstance(decision, schedule.CallItem):
            return Plan(decision, moment, None)
    return Plan(None, None, first)


def _apply(item: CallListItem, plan: Plan, appt: Appointment | None, rules, now: datetime) -> None:
    item.built_at = now
    if plan.item is None:
        item.state = "done"
        item.due_at = None
        item.reason = f"{plan.excluded.reason.value}: {plan.excluded.detail}"[:200]
        return
    found = plan.item
    item.state = "open"
    item.priority = int(found.priority)
    item.due_at = to_utc(plan.due_local, rules.timezone)
    item.reason = found.reason[:200]
    item.attempts = found.attempts
    item.last_attempt_at = (
        to_utc(found.last_attempt_at, rules.timezone) if found.last_attempt_at else None
    )
    item.hard_until = None
    item.preferred_agent_id = appt.agent_id if appt else None
    if appt is not None and appt.hard and found.priority is schedule.Priority.HARD_APPOINTMENT:
        item.hard_until = appt.due_at + rules.hard_after


def replan(case_ids: Iterable[int], now: datetime | None = None) -> dict[str, int]:
    """(Re)compute the call-list rows of these cases. Flushes. Returns counts by state."""
    now = now or utcnow()
    ids = list(case_ids)
    if not ids:
        return {}
    round_of = {
        cid: rid
        for cid, rid in db.session.execute(
            db.select(Case.id, Case.round_id).where(Case.id.in_(ids))
        )
    }
    settings = round_settings(set(round_of.values()))
    items = {
        i.case_id: i
        for i in db.session.scalars(db.select(CallListItem).where(CallListItem.case_id.in_(ids)))
    }
    counts: dict[str, int] = defaultdict(int)
    for cid, (call_case, appt) in call_cases(ids).items():
        cfg = settings.get(round_of[cid])
        item = items.get(cid)
        if cfg is None:
            if item is not None:
                item.state, item.reason = "done", "round not fielded by the call centre"
            continue
        if item is None:
            item = CallListItem(round_id=round_of[cid], case_id=cid, priority=3, attempts=0)
            db.session.add(item)
        _apply(item, next_due(call_case, now, cfg.rules), appt, cfg.rules, now)
        counts[item.state] += 1
    db.session.flush()
    return dict(counts)


def entering_case_ids(rnd_id: int, cfg: CallSettings, now: datetime) -> list[int]:
    """The round's cases due for phone follow-up (see the module docstring)."""
    handed = []
    services = messaging_services()
    if services is not None:
        handed = list(db.session.scalars(services.cases_due_for_phone(now, rnd_id)))
    cutoff = now - timedelta(days=cfg.after_days)
    conditions = [
        Case.created_at <= cutoff,
        exists().where(CallAttempt.case_id == Case.id),
        exists().where(and_(Appointment.case_id == Case.id, Appointment.state == "pending")),
    ]
    Message = message_model()
    if Message is not None:
        conditions[0] = and_(Case.created_at <= cutoff, ~exists().where(Message.case_id == Case.id))
    if handed:
        conditions.append(Case.id.in_(handed))
    query = (
        db.select(Case.id)
        .join(Posting, Posting.id == Case.posting_id)
        .join(Response, Response.id == Case.response_id)
        .where(
            Case.round_id == rnd_id,
            Case.status.in_(OPEN_STATUSES),
            Posting.contact_phone.is_not(None),
            Posting.contact_phone != "",
            Response.status != "completed",
            or_(*conditions),
        )
    )
    return list(db.session.scalars(query))


def build(
    rnd: FieldingRound, now: datetime | None = None, after_days: int | None = None
) -> dict[str, int]:
    """Build the round's call list: enter due cases, re-plan every row. Flushes.

    ``after_days`` overrides the round's ``calls.after_days`` for this build only."""
    now = now or utcnow()
    cfg = parse(rnd.settings, rnd.code)
    if not cfg.enabled:
        return {"disabled": 1}
    if after_days is not None:
        cfg = replace(cfg, after_days=after_days)
    ids = set(entering_case_ids(rnd.id, cfg, now))
    ids.update(
        db.session.scalars(
            db.select(CallListItem.case_id).where(
                CallListItem.round_id == rnd.id, CallListItem.state == "open"
            )
        )
    )
    counts: dict[str, int] = defaultdict(int)
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        for state, n in replan(ordered[start : start + 1000], now).items():
            counts[state] += n
    counts["due_now"] = db.session.scalar(
        db.select(db.func.count())
        .select_from(CallListItem)
        .where(
            CallListItem.round_id == rnd.id,
            CallListItem.state == "open",
            CallListItem.due_at <= now,
        )
    )
    return dict(counts)


def held_by(agent_id: int, now: datetime | None = None) -> int | None:
    """The case the agent holds a live lease on, if any."""
    now = now or utcnow()
    return db.session.scalar(
        db.select(CaseLock.case_id)
        .where(CaseLock.agent_id == agent_id, CaseLock.expires_at > now)
        .order_by(CaseLock.acquired_at)
        .limit(1)
    )


def lock_case(case_id: int, agent_id: int, lease: timedelta, now: datetime) -> bool:
    """Take the lease on a case unless another agent holds a live one. Flushes."""
    db.session.execute(
        delete(CaseLock).where(
            CaseLock.case_id == case_id,
            or_(CaseLock.expires_at <= now, CaseLock.agent_id == agent_id),
        )
    )
    try:
        with db.session.begin_nested():
            db.session.add(
                CaseLock(
                    case_id=case_id, agent_id=agent_id, acquired_at=now, expires_at=now + lease
                )
            )
    except IntegrityError:
        return False
    return True


def candidates_query(agent_id: int, round_ids: list[int], now: datetime, limit: int):
    effective = case(
        (and_(CallListItem.priority == 1, CallListItem.hard_until < now), 2),
        else_=CallListItem.priority,
    )
    mine_first = case((CallListItem.preferred_agent_id == agent_id, 0), else_=1)
    locked = exists().where(
        CaseLock.case_id == CallListItem.case_id,
        CaseLock.expires_at > now,
        CaseLock.agent_id != agent_id,
    )
    return (
        db.select(CallListItem)
        .join(Case, Case.id == CallListItem.case_id)
        .join(Response, Response.id == Case.response_id)
        .where(
            CallListItem.state == "open",
            CallListItem.due_at <= now,
            CallListItem.round_id.in_(round_ids),
            Case.status.in_(OPEN_STATUSES),
            Response.status != "completed",
            ~locked,
        )
        .order_by(
            effective,
            mine_first,
            CallListItem.last_attempt_at.is_not(None),
            CallListItem.last_attempt_at,
            CallListItem.case_id,
        )
        .limit(limit)
    )


def claim_next(agent_id: int, now: datetime | None = None, batch: int = 5) -> int | None:
    """Lock the best callable case for the agent and return its id (None: nothing to call).

    An agent who still holds a live lease gets that case back. Flushes; the caller commits."""
    now = now or utcnow()
    current = held_by(agent_id, now)
    if current is not None:
        return current
    settings = round_settings()
    if not settings:
        return None
    for _ in range(20):
        query = candidates_query(agent_id, list(settings), now, batch)
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=CallListItem)
        items = list(db.session.scalars(query))
        if not items:
            return None
        cases = call_cases([i.case_id for i in items])
        for item in items:
            cfg = settings[item.round_id]
            call_case, appt = cases[item.case_id]
            decision = schedule.evaluate(call_case, to_local(now, cfg.rules.timezone), cfg.rules)
            if not isinstance(decision, schedule.CallItem):
                _apply(item, next_due(call_case, now, cfg.rules), appt, cfg.rules, now)
                continue
            if lock_case(item.case_id, agent_id, cfg.lock, now):
                return item.case_id
        db.session.flush()
    return None
