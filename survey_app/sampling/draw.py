"""Drawing a round's sample from the frame of eligible postings.

The frame: postings (and closed job orders) posted inside the round's window, not merged into a
better duplicate, with a usable contact (e-mail or phone). The contact rules of the round apply
before selection: one case per company (its best posting by quality), at most N per P-unit, and a
rest period for P-units contacted in other rounds. Selection is a simple random sample of the
remaining companies from a seeded generator, so a draw is reproducible; each case records its
inclusion probability n/N for the design weight.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, or_

from survey_app.core import audit
from survey_app.core.db import db, utcnow
from survey_app.partners.models import Organisation
from survey_app.questionnaire.services import open_response

from .models import Case, FieldingRound, Posting


class DrawError(ValueError):
    pass


@dataclass
class DrawResult:
    frame: int
    eligible: int
    drawn: int
    seed: int
    excluded: Counter = field(default_factory=Counter)
    by_brand: Counter = field(default_factory=Counter)


def _frame(rnd: FieldingRound):
    return db.session.execute(
        db.select(
            Posting.id,
            Posting.company_id,
            Posting.production_unit_id,
            Posting.quality,
            Posting.source_id,
        )
        .where(
            Posting.posted_on.between(rnd.window_start, rnd.window_end),
            Posting.duplicate_of_id.is_(None),
            or_(
                Posting.kind == "posting",
                and_(Posting.kind == "job_order", Posting.job_order_status == "closed"),
            ),
        )
        .order_by(Posting.id)
    ).all(), db.session.execute(
        db.select(Posting.id).where(
            Posting.posted_on.between(rnd.window_start, rnd.window_end),
            Posting.contact_email.is_(None),
            Posting.contact_phone.is_(None),
        )
    ).scalars().all()


def _rested_units(rnd: FieldingRound, days: int) -> set[int]:
    since = utcnow() - timedelta(days=days)
    return set(
        db.session.scalars(
            db.select(Case.production_unit_id).where(
                Case.round_id != rnd.id,
                Case.created_at >= since,
                Case.production_unit_id.is_not(None),
            )
        )
    )


def draw_sample(rnd: FieldingRound, size: int | None = None, seed: int | None = None) -> DrawResult:
    if db.session.execute(db.select(Case.id).filter_by(round_id=rnd.id).limit(1)).first():
        raise DrawError(f"round {rnd.code} already has a sample; a round is drawn once")
    if size is not None and size < 1:
        raise DrawError(f"sample size must be at least 1, not {size}")
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    settings = rnd.settings or {}
    rows, no_contact = _frame(rnd)
    no_contact = set(no_contact)
    result = DrawResult(frame=len(rows), eligible=0, drawn=0, seed=seed)
    rested = _rested_units(rnd, int(settings.get("rest_days_p_unit", 0)))

    # Contact rules: usable contact, P-unit rest period, then the best posting per company.
    best: dict[int, tuple] = {}
    for row in rows:
        if row.id in no_contact:
            result.excluded["no usable contact"] += 1
            continue
        if row.production_unit_id in rested:
            result.excluded["P-unit in rest period"] += 1
            continue
        key = (row.quality, rng.random())
        current = best.get(row.company_id)
        if current is None or key > current[0]:
            if current is not None:
                result.excluded["company already has a better posting"] += 1
            best[row.company_id] = (key, row)
        else:
            result.excluded["company already has a better posting"] += 1

    per_unit = int(settings.get("max_cases_per_p_unit", 1))
    companies = sorted(best)
    rng.shuffle(companies)
    unit_count: Counter = Counter()
    eligible = []
    for company_id in companies:
        row = best[company_id][1]
        if row.production_unit_id is not None:
            if unit_count[row.production_unit_id] >= per_unit:
                result.excluded["P-unit limit in round"] += 1
                continue
            unit_count[row.production_unit_id] += 1
        eligible.append(row)
    result.eligible = len(eligible)
    n = min(size or len(eligible), len(eligible))
    if n == 0:
        raise DrawError(
            f"round {rnd.code}: no eligible postings in {rnd.window_start}..{rnd.window_end}"
        )
    chosen = eligible[:n]  # the order is already a seeded random permutation
    prob = n / len(eligible)

    orgs = {o.id: o for o in db.session.scalars(db.select(Organisation))}
    star_brand = next(o for o in orgs.values() if o.is_star).default_brand
    quotas = dict(settings.get("partner_quotas", {}))
    used: Counter = Counter()
    postings = {
        p.id: p
        for p in db.session.scalars(
            db.select(Posting).where(Posting.id.in_([r.id for r in chosen]))
        )
    }
    for row in chosen:
        posting = postings[row.id]
        source = orgs[row.source_id]
        brand = star_brand
        if not source.is_star and used[source.code] < int(quotas.get(source.code, 0)):
            used[source.code] += 1
            brand = source.default_brand
        context = {
            "job_title": posting.job_title,
            "posted_on": posting.posted_on.strftime("%d-%m-%Y") if posting.posted_on else "",
            "source_name": source.name,
        }
        response, _token = open_response(rnd.bank_version, brand, context)
        db.session.add(
            Case(
                round_id=rnd.id,
                posting_id=posting.id,
                company_id=posting.company_id,
                production_unit_id=posting.production_unit_id,
                brand_id=brand.id,
                response_id=response.id,
                stratum="all",
                selection_prob=prob,
            )
        )
        result.by_brand[brand.code] += 1
    result.drawn = n
    rnd.status = "sampled"
    audit.record(
        "sample.drawn", "round", rnd.id, seed=seed, drawn=n, eligible=len(eligible), frame=len(rows)
    )
    return result
