"""Where the questionnaire holds a person: answers whose free text or contact fields (the
referral question) give the person's address or number, and responses whose context does.

Erasure removes the personal text and keeps every coded answer, so the statistical answer
stays; the response itself stays."""

from __future__ import annotations

from sqlalchemy import Text, cast, func

from survey_app.core.db import db
from survey_app.core.personal_data import SubjectRecord, SubjectSource, register_source
from survey_app.core.subject_match import ERASED, like_pattern, mentions

from .models import Answer, Response

CONTACT_KEYS = ("name", "email", "phone")


def _candidates(column, kind: str, value: str):
    return func.lower(cast(column, Text)).like(like_pattern(kind, value), escape="\\")


def find_answers(kind: str, value: str) -> list[SubjectRecord]:
    rows = db.session.scalars(
        db.select(Answer).where(_candidates(Answer.value, kind, value)).order_by(Answer.id)
    ).all()
    records = []
    for answer in rows:
        if not mentions(kind, answer.value, value):
            continue
        correctable = ()
        if isinstance(answer.value, dict):
            correctable = tuple(k for k in CONTACT_KEYS if k in answer.value)
        records.append(
            SubjectRecord(
                "answers",
                "answers",
                answer.id,
                {
                    "response_id": answer.response_id,
                    "question_id": answer.question_id,
                    "value": answer.value,
                    "mode": answer.mode,
                    "answered_at": answer.answered_at,
                },
                correctable=correctable,
            )
        )
    return records


def correct_answer(record: SubjectRecord, values: dict[str, str | None]) -> None:
    answer = db.session.get(Answer, record.row_id)
    if answer is None or not isinstance(answer.value, dict):
        return
    answer.value = {**answer.value, **{k: v for k, v in values.items() if k in CONTACT_KEYS}}
    db.session.flush()


def erase_answer(record: SubjectRecord) -> None:
    """The free text (or the referral's contact) goes; coded answers never match a search."""
    answer = db.session.get(Answer, record.row_id)
    if answer is not None:
        answer.value = None
        db.session.flush()


def find_responses(kind: str, value: str) -> list[SubjectRecord]:
    rows = db.session.scalars(
        db.select(Response).where(_candidates(Response.context, kind, value)).order_by(Response.id)
    ).all()
    records = []
    for r in rows:
        context = r.context or {}
        keys = [k for k, item in context.items() if mentions(kind, item, value)]
        if keys:
            data = {"context": context, "fields": keys, "status": r.status}
            records.append(SubjectRecord("response_context", "responses", r.id, data))
    return records


def erase_response_context(record: SubjectRecord) -> None:
    response = db.session.get(Response, record.row_id)
    if response is None:
        return
    context = dict(response.context or {})
    for key in record.data["fields"]:
        if key in context:
            context[key] = ERASED
    response.context = context
    db.session.flush()


register_source(
    SubjectSource("answers", "answers", find_answers, correct=correct_answer, erase=erase_answer)
)
register_source(
    SubjectSource("response_context", "responses", find_responses, erase=erase_response_context)
)
