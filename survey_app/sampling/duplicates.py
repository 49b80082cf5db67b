"""Merging duplicates across sources after an import.

The same vacancy often arrives twice: from Jobnet and from a partner's site. After a batch is
stored, the postings it touched are compared with the postings of *other* sources of the same
company (CVR), of the same kind, posted within ``quality.DUPLICATE_WINDOW_DAYS`` days and of the
same P-unit where both have one; the candidate pairs come from one indexed self-join, bucketed by
company, never from a scan over the whole table. ``quality.is_probable_duplicate`` decides each
pair. Records of one source are never merged with each other: a source's own posting ids tell its
vacancies apart.

A group of duplicates (the connected pairs, together with the marks already stored between
records the batch did not touch) keeps its best record (``quality.pick_best``; ties go to the
earliest posted, then to the record imported first); every other member gets
``duplicate_of_id`` pointing at it, so a later, better copy takes over and the old marks are
re-pointed. The draw leaves out every record with ``duplicate_of_id`` set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from survey_app.core.db import db

from .models import Company, Posting, ProductionUnit
from .quality import DUPLICATE_WINDOW_DAYS, is_probable_duplicate, pick_best

ID_CHUNK = 500


class Touched:
    """The posting ids a batch stored: a temporary table on PostgreSQL, a list on SQLite."""

    def __init__(self, ids: list[int] | None = None, table: str | None = None) -> None:
        self.ids, self.table = ids, table

    def clauses(self, column) -> Iterator:
        if self.table is not None:
            tbl = sa.table(self.table, sa.column("posting_id"))
            yield column.in_(sa.select(tbl.c.posting_id))
            return
        ids = self.ids or []
        for start in range(0, len(ids), ID_CHUNK):
            yield column.in_(ids[start : start + ID_CHUNK])

    def contains(self) -> set[int]:
        if self.table is not None:
            tbl = sa.table(self.table, sa.column("posting_id"))
            return set(db.session.scalars(sa.select(tbl.c.posting_id)))
        return set(self.ids or [])


def _window(column, days: int):
    if db.session.get_bind().dialect.name == "sqlite":
        return sa.func.date(column, f"{days:+d} days")
    return column + timedelta(days=days)


def _candidate_pairs(touched: Touched) -> set[tuple[int, int]]:
    a, b = aliased(Posting), aliased(Posting)
    pairs: set[tuple[int, int]] = set()
    for clause in touched.clauses(a.id):
        query = (
            sa.select(a.id, b.id)
            .join(
                b,
                sa.and_(
                    b.company_id == a.company_id,
                    b.source_id != a.source_id,
                    b.kind == a.kind,
                    b.posted_on.between(
                        _window(a.posted_on, -DUPLICATE_WINDOW_DAYS),
                        _window(a.posted_on, DUPLICATE_WINDOW_DAYS),
                    ),
                    sa.or_(
                        a.production_unit_id.is_(None),
                        b.production_unit_id.is_(None),
                        a.production_unit_id == b.production_unit_id,
                    ),
                ),
            )
            .where(clause, a.posted_on.is_not(None))
        )
        for x, y in db.session.execute(query):
            pairs.add((min(x, y), max(x, y)))
    return pairs


def _records(ids: set[int]) -> dict[int, dict]:
    out: dict[int, dict] = {}
    id_list = sorted(ids)
    for start in range(0, len(id_list), ID_CHUNK):
        rows = db.session.execute(
            sa.select(
                Posting.id,
                Company.cvr,
                ProductionUnit.p_number,
                Posting.job_title,
                Posting.posted_on,
                Posting.application_deadline,
                Posting.occupation_code,
                Posting.occupation_source,
                Posting.contact_name,
                Posting.contact_email,
                Posting.contact_phone,
                Posting.company_id,
                Posting.duplicate_of_id,
            )
            .join(Company, Company.id == Posting.company_id)
            .outerjoin(ProductionUnit, ProductionUnit.id == Posting.production_unit_id)
            .where(Posting.id.in_(id_list[start : start + ID_CHUNK]))
        ).mappings()
        for row in rows:
            out[row["id"]] = dict(row)
    return out


def _marks(where) -> dict[int, int]:
    return dict(
        db.session.execute(
            sa.select(Posting.id, Posting.duplicate_of_id).where(
                Posting.duplicate_of_id.is_not(None), where
            )
        ).all()
    )


def merge_duplicates(touched: Touched) -> int:
    """Mark duplicates among the touched postings and their matches; returns how many touched
    postings belong to a group of duplicates (kept or merged away)."""
    pairs = _candidate_pairs(touched)
    # Marks that involve a touched posting are re-derived from the fresh comparisons.
    redo: dict[int, int] = {}
    for clause in touched.clauses(Posting.id):
        redo.update(_marks(clause))
    for clause in touched.clauses(Posting.duplicate_of_id):
        redo.update(_marks(clause))
    if not pairs and not redo:
        return 0
    touched_ids = touched.contains()
    nodes = {n for pair in pairs for n in pair} | set(redo) | set(redo.values())
    records = _records(nodes)
    companies = {r["company_id"] for r in records.values()}
    keep: dict[int, int] = {}
    company_list = sorted(companies)
    for start in range(0, len(company_list), ID_CHUNK):
        chunk = company_list[start : start + ID_CHUNK]
        for pid, dup in _marks(Posting.company_id.in_(chunk)).items():
            if pid not in touched_ids and dup not in touched_ids:
                keep[pid] = dup
    current = {**keep, **redo}
    more = (set(keep) | set(keep.values())) - set(records)
    records.update(_records(more))

    parent: dict[int, int] = {n: n for n in records}

    def find(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    edges = [(x, y) for x, y in pairs if is_probable_duplicate(records[x], records[y])]
    edges += list(keep.items())
    for x, y in edges:
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    groups: dict[int, list[int]] = defaultdict(list)
    for n in records:
        groups[find(n)].append(n)
    want: dict[int, int | None] = {}
    in_groups = 0
    for members in groups.values():
        members.sort()
        if len(members) == 1:
            want[members[0]] = None
            continue
        best = pick_best(records[m] for m in members)["id"]
        for m in members:
            want[m] = None if m == best else best
        in_groups += sum(1 for m in members if m in touched_ids)
    changes = [
        {"pid": pid, "dup": dup} for pid, dup in sorted(want.items()) if current.get(pid) != dup
    ]
    if changes:
        db.session.execute(
            sa.update(Posting.__table__)
            .where(Posting.__table__.c.id == sa.bindparam("pid"))
            .values(duplicate_of_id=sa.bindparam("dup")),
            changes,
        )
    return in_groups
