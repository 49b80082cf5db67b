"""Where the call centre holds a person: call attempts that dialled their number, referred the
case to them (name and number) or mention them in the agent's note.

Numbers are stored as the agent typed them, so they are compared after normalisation."""

from __future__ import annotations

from sqlalchemy import func, or_

from survey_app.core.db import db
from survey_app.core.personal_data import SubjectRecord, SubjectSource, register_source
from survey_app.core.subject_match import PHONE, like_pattern, mentions, same
from survey_app.sampling.models import Case

from .models import CallAttempt

CORRECTABLE = ("phone", "referred_name", "referred_phone")


def _iso(value):
    return value.isoformat() if value is not None else None


def _parts(kind: str, value: str, call: CallAttempt) -> dict[str, bool]:
    return {
        "phone": kind == PHONE and same(kind, call.phone, value),
        "referred": kind == PHONE and same(kind, call.referred_phone, value),
        "note": mentions(kind, call.note, value),
    }


def find_calls(kind: str, value: str) -> list[SubjectRecord]:
    pattern = like_pattern(kind, value)
    conditions = [func.lower(CallAttempt.note).like(pattern, escape="\\")]
    if kind == PHONE:
        conditions += [CallAttempt.phone.like(pattern), CallAttempt.referred_phone.like(pattern)]
    calls = db.session.scalars(
        db.select(CallAttempt).where(or_(*conditions)).order_by(CallAttempt.id)
    ).all()
    records = []
    for call in calls:
        parts = _parts(kind, value, call)
        if not any(parts.values()):
            continue
        data = {
            "case_id": call.case_id,
            "started_at": _iso(call.started_at),
            "ended_at": _iso(call.ended_at),
            "outcome": call.outcome,
            "matched": sorted(k for k, hit in parts.items() if hit),
        }
        if parts["phone"]:
            data["phone"] = call.phone
        if parts["referred"]:
            data.update(referred_name=call.referred_name, referred_phone=call.referred_phone)
        if parts["note"]:
            data["note"] = call.note
        correctable = tuple(f for f in CORRECTABLE if f in data)
        records.append(SubjectRecord("call_attempts", "call_attempts", call.id, data, correctable))
    return records


def correct_call(record: SubjectRecord, values: dict[str, str | None]) -> None:
    call = db.session.get(CallAttempt, record.row_id)
    for name, value in values.items():
        if name in CORRECTABLE:
            setattr(call, name, value)
    db.session.flush()


def restrict_call(record: SubjectRecord) -> None:
    """The person was called or referred to on this case: the case is called no more."""
    from survey_app.followup.messaging import services

    case = db.session.get(Case, record.data["case_id"])
    if case is not None and {"phone", "referred"} & set(record.data["matched"]):
        services.stop_case(case, "opted_out", "processing restricted at the person's request")


def erase_call(record: SubjectRecord) -> None:
    """The attempt stays (it counts for the disposition) without the person."""
    call = db.session.get(CallAttempt, record.row_id)
    if call is None:
        return
    matched = set(record.data["matched"])
    if "phone" in matched:
        call.phone = None
    if "referred" in matched:
        call.referred_name = call.referred_phone = None
    if "note" in matched:
        call.note = None
    # with the referral gone the case is dialled at the posting's contact again, if any
    db.session.flush()


register_source(
    SubjectSource(
        "call_attempts",
        "call_attempts",
        find_calls,
        correct=correct_call,
        restrict=restrict_call,
        erase=erase_call,
    )
)
