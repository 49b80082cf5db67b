"""Drawing a round's sample: frame, contact rules, stratified selection, STAR/partner allocation.

Frame: postings (kind "posting", or a job order with status closed) posted inside the round's
window and not merged into a better duplicate.

Exclusion rules, applied in this order; each posting is counted under the first rule that
excludes it:

1. ``no usable contact``: neither a contact e-mail nor a phone number.
2. ``P-unit in rest period``: the posting's P-unit has a case in another round created less than
   ``rest_days_p_unit`` days ago (0 switches the rule off).
3. ``company limit``: at most ``max_cases_per_company`` postings per CVR stay, the ones of highest
   quality (ties broken by the seeded generator, so no source is preferred systematically).
   The default 1 means never two cases for one company.
4. ``P-unit limit``: at most ``max_cases_per_p_unit`` postings per P-unit stay, again by quality.

The postings left are the eligible units. They are grouped in strata (occupation major group x
RAR area, see ``allocation``), the sample size is allocated over the strata (``allocation``:
proportional, or minimum with ``min_per_stratum``), and within each stratum a simple random sample
is drawn from a generator seeded with the round's seed: the same seed on the same frame draws the
same postings. Each case records its stratum and its inclusion probability n_h / N_h.

Brands: a sampled posting delivered by a partner is fielded under the partner's brand while the
partner's quota (``partner_quotas``, {code: max cases}) lasts, else under STAR's brand. Internal
job orders are always fielded under STAR's brand. A company has one case, so one brand only.

The draw report (seed, frame, exclusions, strata, brands) is stored in ``settings["last_draw"]``.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, insert, or_

from survey_app.core import audit
from survey_app.core.db import db, utcnow
from survey_app.partners.models import Organisation
from survey_app.questionnaire.services import new_response

from .allocation import METHODS, allocate, inclusion_probabilities, stratum_key
from .models import Case, FieldingRound, Posting

NO_CONTACT = "no usable contact"
REST_PERIOD = "P-unit in rest period"
COMPANY_LIMIT = "company limit"
P_UNIT_LIMIT = "P-unit limit"
RULES = (NO_CONTACT, REST_PERIOD, COMPANY_LIMIT, P_UNIT_LIMIT)

BATCH = 1000


class DrawError(ValueError):
    pass


@dataclass
class StratumReport:
    stratum: str
    population: int
    allocated: int
    prob: float


@dataclass
class DrawResult:
    frame: int
    eligible: int
    drawn: int
    seed: int
    excluded: Counter = field(default_factory=Counter)
    by_brand: Counter = field(default_factory=Counter)
    strata: list[StratumReport] = field(default_factory=list)

    def report(self, settings: dict) -> dict:
        """JSON-serialisable summary, stored on the round."""
        return {
            "seed": self.seed,
            "drawn_at": utcnow().isoformat(timespec="seconds"),
            "frame": self.frame,
            "eligible": self.eligible,
            "drawn": self.drawn,
            "excluded": {rule: int(self.excluded.get(rule, 0)) for rule in RULES},
            "strata": [
                {"stratum": s.stratum, "N": s.population, "n": s.allocated, "prob": s.prob}
                for s in self.strata
            ],
            "by_brand": dict(sorted(self.by_brand.items())),
            "rules": {k: v for k, v in settings.items() if k != "last_draw"},
        }


def _frame(rnd: FieldingRound):
    return db.session.execute(
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
        .where(
            Posting.posted_on.between(rnd.window_start, rnd.window_end),
            Posting.duplicate_of_id.is_(None),
            or_(
                Posting.kind == "posting",
                and_(Posting.kind == "job_order", Posting.job_order_status == "closed"),
            ),
        )
        .order_by(Posting.id)
    ).all()


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


def _int_setting(settings: dict, key: str, default: int, minimum: int) -> int:
    value = settings.get(key, default)
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise DrawError(f"setting {key} must be a whole number, not {value!r}") from None
    if value < minimum:
        raise DrawError(f"setting {key} must be at least {minimum}, not {value}")
    return value


def _limit(
    rows: list, key: str, limit: int, excluded: Counter, rule: str, ties: dict[int, float]
) -> list:
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
        group.sort(key=lambda r: (-r.quality, ties[r.id]))
        kept.extend(group[:limit])
        excluded[rule] += len(group) - min(limit, len(group))
    kept.sort(key=lambda r: r.id)
    return kept


def apply_rules(
    rows: list, settings: dict, rested: set[int], rng: random.Random
) -> tuple[list, Counter]:
    """The eligible rows after the contact rules (in the module's order) and counts per rule.
    ``rows`` must come in a fixed order (posting id): the tie-breaks are drawn in that order."""
    ties = {row.id: rng.random() for row in rows}
    excluded: Counter = Counter(dict.fromkeys(RULES, 0))
    kept = []
    for row in rows:
        if not row.has_contact:
            excluded[NO_CONTACT] += 1
        elif row.production_unit_id is not None and row.production_unit_id in rested:
            excluded[REST_PERIOD] += 1
        else:
            kept.append(row)
    per_company = _int_setting(settings, "max_cases_per_company", 1, 1)
    per_unit = _int_setting(settings, "max_cases_per_p_unit", 1, 1)
    kept = _limit(kept, "company_id", per_company, excluded, COMPANY_LIMIT, ties)
    kept = _limit(kept, "production_unit_id", per_unit, excluded, P_UNIT_LIMIT, ties)
    return kept, excluded


def draw_sample(rnd: FieldingRound, size: int | None = None, seed: int | None = None) -> DrawResult:
    if db.session.execute(db.select(Case.id).filter_by(round_id=rnd.id).limit(1)).first():
        raise DrawError(f"round {rnd.code} already has a sample; a round is drawn once")
    if size is not None and size < 1:
        raise DrawError(f"sample size must be at least 1, not {size}")
    settings = dict(rnd.settings or {})
    method = settings.get("allocation", "proportional")
    if method not in METHODS:
        raise DrawError(f"setting allocation must be one of {', '.join(METHODS)}, not {method!r}")
    minimum = _int_setting(settings, "min_per_stratum", 0, 0)
    if _int_setting(settings, "max_cases_per_company", 1, 1) > 1:
        # Cases are unique per (round, company) in the schema; the report still shows the rule.
        raise DrawError(
            "max_cases_per_company above 1 is not supported: a company has one case per round"
        )
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)

    rows = _frame(rnd)
    rested = _rested_units(rnd, _int_setting(settings, "rest_days_p_unit", 0, 0))
    eligible, excluded = apply_rules(rows, settings, rested, rng)
    result = DrawResult(frame=len(rows), eligible=len(eligible), drawn=0, seed=seed)
    result.excluded = excluded
    if not eligible:
        raise DrawError(
            f"round {rnd.code}: no eligible postings in {rnd.window_start}..{rnd.window_end}"
        )

    strata: dict[str, list] = defaultdict(list)
    for row in eligible:  # in posting-id order
        strata[stratum_key(row.occupation_code, row.rar_area)].append(row)
    populations = {key: len(units) for key, units in strata.items()}
    n = min(size or len(eligible), len(eligible))
    alloc = allocate(populations, n, method, minimum)
    probs = inclusion_probabilities(populations, alloc)
    chosen: list[tuple[str, object]] = []
    for key in sorted(strata):
        result.strata.append(StratumReport(key, populations[key], alloc[key], probs[key]))
        chosen.extend((key, row) for row in rng.sample(strata[key], alloc[key]))
    # Partner quotas are used in a seeded random order, not in the order of the strata.
    rng.shuffle(chosen)

    orgs = {o.id: o for o in db.session.scalars(db.select(Organisation))}
    star = next((o for o in orgs.values() if o.is_star), None)
    if star is None or star.default_brand is None:
        raise DrawError("STAR's organisation and brand are missing")
    quotas = {
        code: _int_setting(settings.get("partner_quotas") or {}, code, 0, 0)
        for code in (settings.get("partner_quotas") or {})
    }
    used: Counter = Counter()
    for start in range(0, len(chosen), BATCH):
        batch = chosen[start : start + BATCH]
        postings = {
            p.id: p
            for p in db.session.execute(
                db.select(Posting.id, Posting.job_title, Posting.posted_on).where(
                    Posting.id.in_([row.id for _key, row in batch])
                )
            )
        }
        pending = []
        for key, row in batch:
            source = orgs[row.source_id]
            brand = star.default_brand
            if (
                not source.is_star
                and not row.internal
                and source.default_brand is not None
                and used[source.code] < quotas.get(source.code, 0)
            ):
                used[source.code] += 1
                brand = source.default_brand
            posting = postings[row.id]
            context = {
                "job_title": posting.job_title,
                "posted_on": posting.posted_on.strftime("%d-%m-%Y") if posting.posted_on else "",
                "source_name": source.name,
            }
            response, _token = new_response(rnd.bank_version, brand, context)
            pending.append((key, row, brand, response))
            result.by_brand[brand.code] += 1
        db.session.add_all(r for *_rest, r in pending)
        db.session.flush()
        now = utcnow()
        db.session.execute(
            insert(Case),
            [
                {
                    "round_id": rnd.id,
                    "posting_id": row.id,
                    "company_id": row.company_id,
                    "production_unit_id": row.production_unit_id,
                    "brand_id": brand.id,
                    "response_id": response.id,
                    "status": "sampled",
                    "stratum": key,
                    "selection_prob": probs[key],
                    "created_at": now,
                }
                for key, row, brand, response in pending
            ],
        )
        for *_rest, response in pending:
            db.session.expunge(response)  # keep the identity map small on large draws
    result.drawn = len(chosen)
    rnd.status = "sampled"
    rnd.settings = {**settings, "last_draw": result.report(settings)}
    audit.record(
        "sample.drawn",
        "round",
        rnd.id,
        seed=seed,
        drawn=result.drawn,
        eligible=result.eligible,
        frame=result.frame,
    )
    return result
