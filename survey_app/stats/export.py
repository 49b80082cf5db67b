"""The round dataset: one row per case with its provenance and one column per answer key.

Cells that a spreadsheet would run as a formula (starting with = + - @ or a control character)
are prefixed with an apostrophe. Rows stream from the database in batches.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from survey_app.core.db import db
from survey_app.partners.models import Brand
from survey_app.questionnaire.models import Answer, Response
from survey_app.questionnaire.services import bank_of
from survey_app.sampling.models import Case, FieldingRound

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 1000

PROVENANCE = (
    "case_id", "round", "bank_version", "brand", "case_status", "channel", "stratum",
    "selection_prob", "response_status", "mode", "language", "notice_version",
    "notice_shown_at", "started_at", "completed_at", "classification",
)  # fmt: skip


def safe_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def answer_columns(rnd: FieldingRound) -> list[str]:
    bank = bank_of(rnd.bank_version)
    columns = []
    for q in bank.ordered_questions():
        columns.append(q.id)
        if q.other_codes:
            columns.append(f"{q.id}_other")
    return columns


def iter_rows(rnd: FieldingRound, brand_ids: set[int] | None = None) -> Iterator[list[str]]:
    """Header then rows; ``brand_ids`` limits the cases to those brands (a partner's view)."""
    columns = answer_columns(rnd)
    # Plain values only: the batches below are expunged to keep memory flat.
    round_id, round_code, version = rnd.id, rnd.code, rnd.bank_version.version
    yield list(PROVENANCE) + columns
    brands = {b.id: b.code for b in db.session.scalars(db.select(Brand))}
    last_id = 0
    while True:
        query = (
            db.select(Case, Response)
            .join(Response, Case.response_id == Response.id)
            .where(Case.round_id == round_id, Case.id > last_id)
            .order_by(Case.id)
            .limit(BATCH)
            .execution_options(populate_existing=True)
        )
        if brand_ids is not None:
            query = query.where(Case.brand_id.in_(brand_ids))
        batch = db.session.execute(query).all()
        if not batch:
            return
        answers: dict[int, dict] = {}
        for a in db.session.scalars(
            db.select(Answer).where(Answer.response_id.in_([r.id for _, r in batch]))
        ):
            answers.setdefault(a.response_id, {})[a.question_id] = a.value
        for case, resp in batch:
            given = answers.get(resp.id, {})
            row = [
                case.id,
                round_code,
                version,
                brands.get(case.brand_id),
                case.status,
                case.channel,
                case.stratum,
                case.selection_prob,
                resp.status,
                resp.mode,
                resp.language,
                resp.notice_version,
                resp.notice_shown_at,
                resp.started_at,
                resp.completed_at,
                resp.classification,
            ]
            row += [given.get(c) for c in columns]
            yield [safe_cell(v) for v in row]
        last_id = batch[-1][0].id
        db.session.expunge_all()


def write_csv(rnd: FieldingRound, out, brand_ids: set[int] | None = None) -> int:
    writer = csv.writer(out)
    count = -1
    for row in iter_rows(rnd, brand_ids):
        writer.writerow(row)
        count += 1
    return count
