"""The round dataset: one row per case, its provenance and the answers of the pinned bank version.

Rows stream from the database in batches (keyset pagination on the case id; plain column tuples,
never ORM objects, so nothing accumulates in the session), so memory stays flat however large
the round is. ``brand_ids`` limits the cases to those brands (a partner's own customers).

CSV cells that a spreadsheet would run as a formula (starting with = + - @ or a control character)
are prefixed with an apostrophe (:func:`survey_app.core.csvsafe.safe_cell`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass

from survey_app.core.csvsafe import safe_cell
from survey_app.core.db import db
from survey_app.partners.models import Brand, Organisation
from survey_app.questionnaire.bank import Bank
from survey_app.questionnaire.models import Answer, Response
from survey_app.questionnaire.services import bank_of
from survey_app.sampling.models import Case, FieldingRound

from .codebook import DONT_KNOW_CODE, Variable, build_variables

BATCH = 2000
#: the AAPOR disposition of a case, kept by the call centre (read by table name, if loaded)
DISPOSITION_TABLE = "case_dispositions"
PHONE_MODES = frozenset({"phone"})
WEB_MODES = frozenset({"web", "embed"})

__all__ = ["Dataset", "iter_rows", "safe_cell", "write_csv"]


def disposition_table():
    table = db.metadata.tables.get(DISPOSITION_TABLE)
    return table if table is not None and {"case_id", "code"} <= set(table.c.keys()) else None


def derive_channel(case_channel, context, mode) -> str | None:
    """How the company was reached: the case's channel, else the launch context, else the mode."""
    if case_channel:
        return case_channel
    if isinstance(context, dict) and context.get("channel"):
        return str(context["channel"])
    if mode == "embed":
        return "embed"
    if mode == "phone":
        return "phone"
    if mode == "web":
        return "web"
    return None


def derive_mode(answer_modes: set[str], response_mode) -> str | None:
    """web, phone or mixed, from the modes the answers were given in."""
    modes = set(answer_modes) or ({response_mode} if response_mode else set())
    phone, web = bool(modes & PHONE_MODES), bool(modes & WEB_MODES)
    if phone and web:
        return "mixed"
    if phone:
        return "phone"
    if web:
        return "web"
    return None


@dataclass
class Record:
    """One case: provenance by variable name and the stored answers by answer key."""

    provenance: dict
    answers: dict


class Dataset:
    """A round's dataset, optionally limited to some brands."""

    def __init__(
        self, rnd: FieldingRound, brand_ids: set[int] | None = None, batch: int = BATCH
    ) -> None:
        self.round_id = rnd.id
        self.round_code = rnd.code
        self.version = rnd.bank_version.version
        self.bank: Bank = bank_of(rnd.bank_version)
        self.brand_ids = None if brand_ids is None else set(brand_ids)
        self.batch = batch
        self.disposition = disposition_table()
        self.with_disposition = self.disposition is not None
        self.variables: list[Variable] = build_variables(self.bank, self.with_disposition)
        self._qtype = {q.id: q.type for q in self.bank.questions}

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def count(self) -> int:
        query = db.select(db.func.count(Case.id)).where(Case.round_id == self.round_id)
        if self.brand_ids is not None:
            query = query.where(Case.brand_id.in_(self.brand_ids))
        return db.session.scalar(query) or 0

    def batches(self) -> Iterator[list[Record]]:
        brands = {
            bid: (code, org)
            for bid, code, org in db.session.execute(
                db.select(Brand.id, Brand.code, Organisation.code).join(
                    Organisation, Brand.organisation_id == Organisation.id
                )
            )
        }
        columns = [
            Case.id,
            Case.brand_id,
            Case.status,
            Case.channel,
            Case.stratum,
            Case.selection_prob,
            Response.id,
            Response.status,
            Response.mode,
            Response.language,
            Response.notice_version,
            Response.notice_shown_at,
            Response.started_at,
            Response.completed_at,
            Response.updated_at,
            Response.classification,
            Response.context,
        ]
        if self.with_disposition:
            columns.append(self.disposition.c.code)
        last_id = 0
        while True:
            query = (
                db.select(*columns)
                .join(Response, Case.response_id == Response.id)
                .where(Case.round_id == self.round_id, Case.id > last_id)
                .order_by(Case.id)
                .limit(self.batch)
            )
            if self.brand_ids is not None:
                query = query.where(Case.brand_id.in_(self.brand_ids))
            if self.with_disposition:
                query = query.outerjoin(self.disposition, self.disposition.c.case_id == Case.id)
            rows = db.session.execute(query).all()
            if not rows:
                return
            answers: dict[int, dict] = {}
            modes: dict[int, set] = {}
            for rid, qid, value, mode in db.session.execute(
                db.select(Answer.response_id, Answer.question_id, Answer.value, Answer.mode).where(
                    Answer.response_id.in_([r[6] for r in rows])
                )
            ):
                answers.setdefault(rid, {})[qid] = value
                modes.setdefault(rid, set()).add(mode)
            out = []
            for r in rows:
                brand, org = brands.get(r[1], (None, None))
                prov = {
                    "case_id": r[0],
                    "round": self.round_code,
                    "bank_version": self.version,
                    "brand": brand,
                    "organisation": org,
                    "case_status": r[2],
                    "channel": derive_channel(r[3], r[16], r[8]),
                    "stratum": r[4],
                    "selection_prob": r[5],
                    "design_weight": (1.0 / r[5]) if r[5] else None,
                    "response_id": r[6],
                    "response_status": r[7],
                    "mode": derive_mode(modes.get(r[6], set()), r[8]),
                    "language": r[9],
                    "notice_version": r[10],
                    "notice_shown_at": r[11],
                    "started_at": r[12],
                    "completed_at": r[13],
                    "updated_at": r[14],
                    "classification": r[15],
                }
                if self.with_disposition:
                    prov["disposition"] = r[17]
                out.append(Record(prov, answers.get(r[6], {})))
            yield out
            last_id = rows[-1][0]

    # ------------------------------------------------------------------ renderings

    def raw_value(self, v: Variable, rec: Record):
        """The value as stored (CSV): lists joined later by safe_cell, dicts as JSON."""
        if v.kind == "provenance":
            return rec.provenance.get(v.name)
        if v.kind == "question":
            return rec.answers.get(v.question_id)
        if v.kind == "other":
            return rec.answers.get(v.name)
        return self.typed_value(v, rec)

    def typed_value(self, v: Variable, rec: Record):
        """The value for Parquet, SPSS and Stata: codes as numbers, lists as "1;3"."""
        if v.kind == "provenance":
            return rec.provenance.get(v.name)
        if v.kind == "other":
            return _text(rec.answers.get(v.name))
        value = rec.answers.get(v.question_id)
        if value is None:
            return None
        qtype = self._qtype[v.question_id]
        if v.kind == "option":
            return 1 if isinstance(value, list) and v.part in value else 0
        if v.kind == "field":
            return _text(value.get(v.part)) if isinstance(value, dict) else None
        if qtype == "yes_no":
            return {"yes": 1, "no": 0}.get(value)
        if qtype in ("single", "integer"):
            if value == "dont_know":
                return DONT_KNOW_CODE
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        if qtype == "multi":
            return ";".join(str(c) for c in value) if isinstance(value, list) else _text(value)
        if qtype == "contact":
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return _text(value)

    def csv_rows(self) -> Iterator[list[str]]:
        """Header then rows of formula-safe text cells."""
        yield self.names
        for batch in self.batches():
            for rec in batch:
                yield [safe_cell(self.raw_value(v, rec)) for v in self.variables]


def _text(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def iter_rows(rnd: FieldingRound, brand_ids: set[int] | None = None) -> Iterator[list[str]]:
    """Header then rows; ``brand_ids`` limits the cases to those brands (a partner's view)."""
    return Dataset(rnd, brand_ids).csv_rows()


def write_csv(rnd: FieldingRound, out, brand_ids: set[int] | None = None) -> int:
    writer = csv.writer(out)
    count = -1
    for row in iter_rows(rnd, brand_ids):
        writer.writerow(row)
        count += 1
    return count
