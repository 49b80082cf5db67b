"""Selecting a round's sample: the frame, the contact rules, the strata and the seeded choice.

Two implementations of one definition (see ``sampling.draw`` for the rules):

* ``select_in_sql`` (PostgreSQL): the rules are window functions over the frame in one
  statement, into a temporary table of the transaction; only the counts per rule and per
  stratum and the chosen rows come back to Python, so memory does not grow with the frame;
* ``select_in_python`` (SQLite, and PostgreSQL when asked): the frame is read row by row.

Randomness comes from keys, not from a generator's state: ``draw_key(seed, purpose, posting
id)`` is the first 64 bits of the MD5 digest of ``"<seed>:<purpose>:<id>"`` as a signed integer,
computed by ``hashlib`` in Python and by ``md5()`` in SQL, so both implementations draw the same
postings for the same seed and frame. Three purposes: ``tie`` breaks quality ties in
the company and P-unit limits; ``pick`` orders each stratum, whose first n_h postings are its
simple random sample without replacement; ``order`` is the order in which partner quotas are
used.
"""

# The SQL below is assembled only from constant fragments and integer settings.
# ruff: noqa: S608

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, or_, text

from survey_app.core.db import db, utcnow

from .allocation import allocate, inclusion_probabilities, stratum_key
from .models import Case, FieldingRound, Posting

NO_CONTACT = "no usable contact"
REST_PERIOD = "P-unit in rest period"
COMPANY_LIMIT = "company limit"
P_UNIT_LIMIT = "P-unit limit"
RULES = (NO_CONTACT, REST_PERIOD, COMPANY_LIMIT, P_UNIT_LIMIT)

BATCH = 1000
# The sorts of a frame of a million postings fit in memory with this; JIT compilation costs
# more than it saves on these statements.
WORK_MEM = "256MB"


def draw_key(seed: int, purpose: str, posting_id: int) -> int:
    """The first 64 bits of MD5("<seed>:<purpose>:<id>") as a signed integer (as PostgreSQL's
    ``CAST(CAST('x' || substr(md5(...), 1, 16) AS bit(64)) AS bigint)``)."""
    digest = hashlib.md5(f"{seed}:{purpose}:{posting_id}".encode(), usedforsecurity=False)
    return int.from_bytes(digest.digest()[:8], "big", signed=True)


@dataclass(frozen=True, slots=True)
class Chosen:
    """A sampled posting with what the case and its response need."""

    id: int
    company_id: int
    production_unit_id: int | None
    source_id: int
    internal: bool
    stratum: str
    job_title: str
    posted_on: date | None


@dataclass
class Selection:
    frame: int
    eligible: int
    excluded: Counter
    populations: dict[str, int]
    allocation: dict[str, int]
    probs: dict[str, float]
    #: in the order partner quotas are used
    chosen: list[Chosen] = field(default_factory=list)


@dataclass(frozen=True)
class Rules:
    seed: int
    size: int | None
    method: str
    minimum: int
    per_company: int
    per_unit: int
    rest_days: int

    def allocate(self, populations: dict[str, int], eligible: int):
        n = min(self.size or eligible, eligible)
        alloc = allocate(populations, n, self.method, self.minimum)
        return alloc, inclusion_probabilities(populations, alloc)


def _frame_clause():
    return and_(
        Posting.duplicate_of_id.is_(None),
        or_(
            Posting.kind == "posting",
            and_(Posting.kind == "job_order", Posting.job_order_status == "closed"),
        ),
    )


# --- Python ----------------------------------------------------------------------------------


def _rested_units(rnd: FieldingRound, days: int) -> set[int]:
    if days <= 0:
        return set()
    since = utcnow() - timedelta(days=days)
    return set(
        db.session.scalars(
            db.select(Case.production_unit_id)
            .where(
                Case.round_id != rnd.id,
                Case.created_at >= since,
                Case.production_unit_id.is_not(None),
            )
            .distinct()
        )
    )


def _limit(rows: list, key: str, limit: int, excluded: Counter, rule: str, tie) -> list:
    """Keep at most ``limit`` rows per value of ``key`` (None: no limit), the best by quality."""
    groups: dict[int, list] = defaultdict(list)
    kept = []
    for row in rows:
        value = getattr(row, key)
        if value is None:
            kept.append(row)
        else:
            groups[value].append(row)
    for group in groups.values():
        group.sort(key=lambda r: (-r.quality, tie(r.id), r.id))
        kept.extend(group[:limit])
        excluded[rule] += len(group) - min(limit, len(group))
    kept.sort(key=lambda r: r.id)
    return kept


def apply_rules(rows: list, rules: Rules, rested: set[int]) -> tuple[list, Counter]:
    """The eligible rows after the contact rules (in their order) and the counts per rule."""
    excluded: Counter = Counter(dict.fromkeys(RULES, 0))
    kept = []
    for row in rows:
        if not row.has_contact:
            excluded[NO_CONTACT] += 1
        elif row.production_unit_id is not None and row.production_unit_id in rested:
            excluded[REST_PERIOD] += 1
        else:
            kept.append(row)

    def tie(posting_id: int) -> str:
        return draw_key(rules.seed, "tie", posting_id)

    kept = _limit(kept, "company_id", rules.per_company, excluded, COMPANY_LIMIT, tie)
    kept = _limit(kept, "production_unit_id", rules.per_unit, excluded, P_UNIT_LIMIT, tie)
    return kept, excluded


def select_in_python(rnd: FieldingRound, rules: Rules) -> Selection:
    rows = db.session.execute(
        db.select(
            Posting.id,
            Posting.company_id,
            Posting.production_unit_id,
            Posting.quality,
            Posting.source_id,
            Posting.occupation_code,
            Posting.rar_area,
            Posting.internal,
            or_(Posting.contact_email.is_not(None), Posting.contact_phone.is_not(None)).label(
                "has_contact"
            ),
        )
        .where(Posting.posted_on.between(rnd.window_start, rnd.window_end), _frame_clause())
        .order_by(Posting.id)
    ).all()
    eligible, excluded = apply_rules(rows, rules, _rested_units(rnd, rules.rest_days))
    strata: dict[str, list] = defaultdict(list)
    for row in eligible:
        strata[stratum_key(row.occupation_code, row.rar_area)].append(row)
    populations = {key: len(units) for key, units in strata.items()}
    alloc, probs = rules.allocate(populations, len(eligible))
    picked = []
    for key in sorted(strata):
        ranked = sorted(strata[key], key=lambda r: (draw_key(rules.seed, "pick", r.id), r.id))
        picked.extend((key, row) for row in ranked[: alloc[key]])
    picked.sort(key=lambda kr: (draw_key(rules.seed, "order", kr[1].id), kr[1].id))
    chosen = []
    for start in range(0, len(picked), BATCH):
        batch = picked[start : start + BATCH]
        details = {
            p.id: p
            for p in db.session.execute(
                db.select(Posting.id, Posting.job_title, Posting.posted_on).where(
                    Posting.id.in_([row.id for _key, row in batch])
                )
            )
        }
        for key, row in batch:
            detail = details[row.id]
            chosen.append(
                Chosen(
                    row.id, row.company_id, row.production_unit_id, row.source_id,
                    bool(row.internal), key, detail.job_title, detail.posted_on,
                )
            )  # fmt: skip
    return Selection(len(rows), len(eligible), excluded, populations, alloc, probs, chosen)


# --- SQL (PostgreSQL) ------------------------------------------------------------------------


def _stratum_sql(t: str) -> str:
    return (
        f"(CASE WHEN {t}.occupation_code ~ '^[0-9]' THEN substr({t}.occupation_code, 1, 1)"
        f" ELSE 'unknown' END) || '|' || COALESCE(NULLIF({t}.rar_area, ''), 'unknown')"
    )


def _key_sql(purpose: str, column: str) -> str:
    digest = f"md5(CAST(:seed AS text) || ':{purpose}:' || CAST({column} AS text))"
    return f"CAST(CAST('x' || substr({digest}, 1, 16) AS bit(64)) AS bigint)"


def select_in_sql(rnd: FieldingRound, rules: Rules) -> Selection:
    session = db.session
    table = f"draw_eligible_{int(rnd.id)}"
    session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text(f"DROP TABLE IF EXISTS {table}"))
    session.execute(
        text(
            f"CREATE TEMPORARY TABLE {table} (id integer, company_id integer,"
            " production_unit_id integer, source_id integer, internal boolean, stratum text)"
            " ON COMMIT DROP"
        )
    )
    rested = "FALSE"
    if rules.rest_days > 0:
        rested = (
            "p.production_unit_id IN (SELECT c.production_unit_id FROM cases c"
            " WHERE c.round_id <> :round AND c.created_at >= :since"
            " AND c.production_unit_id IS NOT NULL)"
        )
    # rule: 0 eligible, 1 no contact, 2 rest period, 3 company limit, 4 P-unit limit; the
    # eligible rows go into the temporary table, the counts per rule and stratum come back.
    counts = session.execute(
        text(
            f"""
            WITH f AS MATERIALIZED (
                SELECT p.id, p.company_id, p.production_unit_id, p.quality, p.source_id,
                    p.internal, p.occupation_code, p.rar_area, {_key_sql("tie", "p.id")} AS tie,
                    CASE WHEN p.contact_email IS NULL AND p.contact_phone IS NULL THEN 1
                         WHEN {rested} THEN 2 ELSE 0 END AS rule
                FROM postings p
                WHERE p.posted_on BETWEEN :start AND :end AND p.duplicate_of_id IS NULL
                  AND (p.kind = 'posting' OR (p.kind = 'job_order'
                       AND p.job_order_status = 'closed'))
            ), c AS (
                SELECT f.*, CASE WHEN f.rule = 0 AND row_number() OVER (
                        PARTITION BY f.company_id, f.rule = 0
                        ORDER BY f.quality DESC, f.tie, f.id) > {int(rules.per_company)}
                    THEN 3 ELSE f.rule END AS rule2
                FROM f
            ), u AS (
                SELECT c.id, c.company_id, c.production_unit_id, c.source_id, c.internal,
                    {_stratum_sql("c")} AS stratum,
                    CASE WHEN c.production_unit_id IS NOT NULL AND row_number() OVER (
                        PARTITION BY c.production_unit_id
                        ORDER BY c.quality DESC, c.tie, c.id) > {int(rules.per_unit)}
                    THEN 4 ELSE 0 END AS rule3
                FROM c WHERE c.rule2 = 0
                UNION ALL
                SELECT c.id, NULL, NULL, NULL, NULL, NULL, c.rule2 FROM c WHERE c.rule2 <> 0
            ), kept AS (
                INSERT INTO {table} (id, company_id, production_unit_id, source_id, internal,
                    stratum)
                SELECT id, company_id, production_unit_id, source_id, internal, stratum
                FROM u WHERE rule3 = 0
            )
            SELECT rule3, CASE WHEN rule3 = 0 THEN stratum END, count(*) FROM u GROUP BY 1, 2
            """
        ),
        {
            "seed": rules.seed,
            "start": rnd.window_start,
            "end": rnd.window_end,
            "round": rnd.id,
            "since": utcnow() - timedelta(days=max(rules.rest_days, 0)),
        },
    ).all()
    excluded: Counter = Counter(dict.fromkeys(RULES, 0))
    populations: dict[str, int] = {}
    frame = 0
    for rule, stratum, n in counts:
        frame += n
        if rule:
            excluded[RULES[rule - 1]] += n
        else:
            populations[stratum] = n
    eligible = sum(populations.values())
    selection = Selection(frame, eligible, excluded, populations, {}, {})
    if not eligible:
        return selection
    selection.allocation, selection.probs = rules.allocate(populations, eligible)
    wanted = {key: n for key, n in selection.allocation.items() if n > 0}
    picked = session.execute(
        text(
            f"""
            SELECT x.id, x.company_id, x.production_unit_id, x.source_id, x.internal, x.stratum
            FROM (
                SELECT d.*, row_number() OVER (
                    PARTITION BY d.stratum ORDER BY {_key_sql("pick", "d.id")}, d.id) AS rn
                FROM {table} d
            ) x
            JOIN json_each_text(CAST(:wanted AS json)) a ON a.key = x.stratum
            WHERE x.rn <= CAST(a.value AS integer)
            ORDER BY {_key_sql("order", "x.id")}, x.id
            """
        ),
        {"seed": rules.seed, "wanted": json.dumps(wanted)},
    ).all()
    details = {}
    ids = [row.id for row in picked]
    for start in range(0, len(ids), 10 * BATCH):
        details.update(
            (p.id, p)
            for p in session.execute(
                db.select(Posting.id, Posting.job_title, Posting.posted_on).where(
                    Posting.id.in_(ids[start : start + 10 * BATCH])
                )
            )
        )
    selection.chosen = [
        Chosen(r.id, r.company_id, r.production_unit_id, r.source_id, bool(r.internal),
               r.stratum, details[r.id].job_title, details[r.id].posted_on)
        for r in picked
    ]  # fmt: skip
    session.execute(text(f"DROP TABLE {table}"))
    return selection
