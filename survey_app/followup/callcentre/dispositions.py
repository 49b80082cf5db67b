"""Each case's AAPOR disposition, derived from what is stored and kept in ``case_dispositions``.

The rules are those of :func:`survey_app.followup.disposition.derive_disposition` (see its module
docstring); this module only builds each case's :class:`CaseHistory` from the database:

- **questionnaire**: ``none`` before the notice was shown, ``started`` while in progress,
  ``completed`` once sent; the response's classification; ``answered_share`` = answered visible
  questions / visible questions under the routing of the pinned bank version;
- **phone attempts** (``call_attempts``): every closed call with its outcome; ``completed`` counts
  as ``interview_started`` (the questionnaire state then decides between complete, partial and
  break-off); calls still open are left out;
- **messages** (``messages`` of followup.messaging, when present): ``sent``, ``delivered`` and
  ``failed`` states by channel (queued, sending and suppressed messages reached nobody);
- **flags**: case status ``refused`` -> refused, ``opted_out`` -> opted out; any phone outcome
  other than no answer / busy / answering machine / wrong number counts as contact.

A disposition is re-derived after every call outcome and phone interview (services.py), and for
every case whose response, messages or calls changed since its last derivation by
:func:`refresh_stale` (the periodic job and the supervisor's dashboard call it), so a web answer
or a message outcome recorded by another module is reflected without that module calling us.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_

from survey_app.core.db import db, upsert, utcnow
from survey_app.followup.disposition import Attempt, CaseHistory, derive_disposition
from survey_app.questionnaire.models import Answer, Response
from survey_app.questionnaire.routing import visible_questions
from survey_app.questionnaire.services import bank_of
from survey_app.sampling.models import Case

from .models import CallAttempt, CaseDisposition
from .sources import message_model

_MESSAGE_STATES = {"sent": "sent", "delivered": "delivered", "failed": "failed"}
_NO_CONTACT = {"no_answer", "busy", "answering_machine", "wrong_number"}


def _questionnaire(response: Response, answers: dict) -> tuple[str, float]:
    if response.status == "completed":
        state = "completed"
    elif response.status == "in_progress" or response.notice_shown_at is not None:
        state = "started"
    else:
        return "none", 0.0
    bank = bank_of(response.bank_version)
    shown = [q.id for q in visible_questions(bank, answers)]
    share = sum(1 for q in shown if q in answers) / len(shown) if shown else 0.0
    return state, min(1.0, share)


def histories(case_ids: Iterable[int]) -> dict[int, CaseHistory]:
    """The :class:`CaseHistory` of each case, in four queries whatever the number of cases."""
    ids = list(case_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        db.select(Case, Response)
        .join(Response, Response.id == Case.response_id)
        .where(Case.id.in_(ids))
    ).all()
    started = [r.id for _, r in rows if r.status != "not_started"]
    answers: dict[int, dict] = defaultdict(dict)
    if started:
        for rid, qid, value in db.session.execute(
            db.select(Answer.response_id, Answer.question_id, Answer.value).where(
                Answer.response_id.in_(started)
            )
        ):
            answers[rid][qid] = value
    attempts: dict[int, list[Attempt]] = defaultdict(list)
    for cid, outcome, at in db.session.execute(
        db.select(CallAttempt.case_id, CallAttempt.outcome, CallAttempt.started_at).where(
            CallAttempt.case_id.in_(ids), CallAttempt.outcome.is_not(None)
        )
    ):
        outcome = "interview_started" if outcome == "completed" else outcome
        attempts[cid].append(Attempt("phone", outcome, at))
    Message = message_model()
    if Message is not None:
        for cid, channel, state, at in db.session.execute(
            db.select(Message.case_id, Message.channel, Message.state, Message.created_at).where(
                Message.case_id.in_(ids), Message.state.in_(tuple(_MESSAGE_STATES))
            )
        ):
            attempts[cid].append(Attempt(channel, _MESSAGE_STATES[state], at))
    out = {}
    for case, response in rows:
        state, share = _questionnaire(response, answers.get(response.id, {}))
        phone = [a.outcome for a in attempts[case.id] if a.channel == "phone"]
        out[case.id] = CaseHistory(
            questionnaire_state=state,
            classification=response.classification if state != "none" else None,
            answered_share=share,
            attempts=tuple(attempts[case.id]),
            opted_out=case.status == "opted_out",
            refused=case.status == "refused",
            contacted=any(o not in _NO_CONTACT for o in phone),
        )
    return out


def rederive(case_ids: Iterable[int], now: datetime | None = None) -> dict[int, str]:
    """Derive and store the disposition of each case. Returns {case id: code}. Flushes."""
    now = now or utcnow()
    codes = {}
    rows = []
    for cid, history in histories(case_ids).items():
        disposition = derive_disposition(history)
        codes[cid] = disposition.code
        rows.append(
            {
                "case_id": cid,
                "code": disposition.code,
                "rate_group": disposition.group,
                "derived_at": now,
            }
        )
    db.session.flush()
    upsert(CaseDisposition, rows, ["case_id"], ["code", "rate_group", "derived_at"])
    return codes


def stale_case_ids(round_id: int | None = None) -> list[int]:
    """Cases never derived, or whose response, calls or messages changed since."""
    derived = db.aliased(CaseDisposition)
    last_call = (
        db.select(func.max(func.coalesce(CallAttempt.ended_at, CallAttempt.started_at)))
        .where(CallAttempt.case_id == Case.id)
        .scalar_subquery()
    )
    conditions = [
        derived.case_id.is_(None),
        Response.updated_at > derived.derived_at,
        last_call > derived.derived_at,
    ]
    Message = message_model()
    if Message is not None:
        last_message = (
            db.select(
                func.max(
                    func.coalesce(
                        Message.failed_at, Message.delivered_at, Message.sent_at, Message.created_at
                    )
                )
            )
            .where(Message.case_id == Case.id)
            .scalar_subquery()
        )
        conditions.append(last_message > derived.derived_at)
    query = (
        db.select(Case.id)
        .join(Response, Response.id == Case.response_id)
        .outerjoin(derived, derived.case_id == Case.id)
        .where(or_(*conditions))
    )
    if round_id is not None:
        query = query.where(Case.round_id == round_id)
    return list(db.session.scalars(query))


def refresh_stale(round_id: int | None = None, batch: int = 2000) -> int:
    """Re-derive every stale case; returns how many. Flushes."""
    ids = stale_case_ids(round_id)
    for start in range(0, len(ids), batch):
        rederive(ids[start : start + batch])
    return len(ids)
