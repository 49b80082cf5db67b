"""Drawing a round's sample: frame, contact rules, stratified selection, STAR/partner allocation.

Frame: postings (kind "posting", or a job order with status closed) posted inside the round's
window and not merged into a better duplicate.

Exclusion rules, applied in this order; each posting is counted under the first rule that
excludes it:

1. ``no usable contact``: neither a contact e-mail nor a phone number.
2. ``P-unit in rest period``: the posting's P-unit has a case in another round created less than
   ``rest_days_p_unit`` days ago (0 switches the rule off).
3. ``company limit``: at most ``max_cases_per_company`` postings per CVR stay, the ones of highest
   quality (ties broken by a key drawn from the seed, so no source is preferred systematically).
   The default 1 means never two cases for one company.
4. ``P-unit limit``: at most ``max_cases_per_p_unit`` postings per P-unit stay, again by quality.

The postings left are the eligible units. They are grouped in strata (occupation major group x
RAR area, see ``allocation``), the sample size is allocated over the strata (``allocation``:
proportional, or minimum with ``min_per_stratum``), and within each stratum a simple random sample
is drawn with keys derived from the round's seed (``draw_select``): the same seed on the same
frame draws the same postings, on PostgreSQL (the rules as window functions in SQL) and on SQLite
alike. Each case records its stratum and its inclusion probability n_h / N_h.

Brands: a sampled posting delivered by a partner is fielded under the partner's brand while the
partner's quota (``partner_quotas``, {code: max cases}) lasts, else under STAR's brand. Internal
job orders are always fielded under STAR's brand. A company has one case, so one brand only.

The draw report (seed, frame, exclusions, strata, brands) is stored in ``settings["last_draw"]``.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from survey_app.core import audit
from survey_app.core.db import db, utcnow
from survey_app.partners.models import Organisation
from survey_app.questionnaire.services import new_response_row

from .allocation import METHODS
from .draw_select import (
    COMPANY_LIMIT,
    NO_CONTACT,
    P_UNIT_LIMIT,
    REST_PERIOD,
    RULES,
    Rules,
    select_in_python,
    select_in_sql,
)
from .draw_store import store_sample
from .models import Case, FieldingRound

__all__ = [
    "COMPANY_LIMIT", "NO_CONTACT", "P_UNIT_LIMIT", "REST_PERIOD", "RULES", "DrawError",
    "DrawResult", "draw_sample",
]  # fmt: skip


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


def _int_setting(settings: dict, key: str, default: int, minimum: int) -> int:
    value = settings.get(key, default)
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise DrawError(f"setting {key} must be a whole number, not {value!r}") from None
    if value < minimum:
        raise DrawError(f"setting {key} must be at least {minimum}, not {value}")
    return value


def draw_sample(
    rnd: FieldingRound, size: int | None = None, seed: int | None = None, method: str = "auto"
) -> DrawResult:
    """Draw the round's sample once. ``method``: "sql" (PostgreSQL only), "python", or "auto"
    (SQL on PostgreSQL); both draw the same postings for the same seed."""
    if db.session.execute(db.select(Case.id).filter_by(round_id=rnd.id).limit(1)).first():
        raise DrawError(f"round {rnd.code} already has a sample; a round is drawn once")
    if size is not None and size < 1:
        raise DrawError(f"sample size must be at least 1, not {size}")
    settings = dict(rnd.settings or {})
    allocation = settings.get("allocation", "proportional")
    if allocation not in METHODS:
        raise DrawError(
            f"setting allocation must be one of {', '.join(METHODS)}, not {allocation!r}"
        )
    if _int_setting(settings, "max_cases_per_company", 1, 1) > 1:
        # Cases are unique per (round, company) in the schema; the report still shows the rule.
        raise DrawError(
            "max_cases_per_company above 1 is not supported: a company has one case per round"
        )
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    rules = Rules(
        seed=seed,
        size=size,
        method=allocation,
        minimum=_int_setting(settings, "min_per_stratum", 0, 0),
        per_company=_int_setting(settings, "max_cases_per_company", 1, 1),
        per_unit=_int_setting(settings, "max_cases_per_p_unit", 1, 1),
        rest_days=_int_setting(settings, "rest_days_p_unit", 0, 0),
    )
    quotas = {
        code: _int_setting(settings.get("partner_quotas") or {}, code, 0, 0)
        for code in (settings.get("partner_quotas") or {})
    }
    if method == "auto":
        method = "sql" if db.session.get_bind().dialect.name == "postgresql" else "python"
    select = select_in_sql if method == "sql" else select_in_python
    selection = select(rnd, rules)
    result = DrawResult(frame=selection.frame, eligible=selection.eligible, drawn=0, seed=seed)
    result.excluded = selection.excluded
    if not selection.eligible:
        raise DrawError(
            f"round {rnd.code}: no eligible postings in {rnd.window_start}..{rnd.window_end}"
        )
    for key in sorted(selection.populations):
        result.strata.append(
            StratumReport(
                key, selection.populations[key], selection.allocation[key], selection.probs[key]
            )
        )

    orgs = {o.id: o for o in db.session.scalars(db.select(Organisation))}
    star = next((o for o in orgs.values() if o.is_star), None)
    if star is None or star.default_brand is None:
        raise DrawError("STAR's organisation and brand are missing")
    brands = {o.id: o.default_brand for o in orgs.values()}
    used: Counter = Counter()
    responses, cases = [], []
    now = utcnow()
    for row in selection.chosen:  # in the seeded order partner quotas are used in
        source = orgs[row.source_id]
        brand = star.default_brand
        if (
            not source.is_star
            and not row.internal
            and brands[source.id] is not None
            and used[source.code] < quotas.get(source.code, 0)
        ):
            used[source.code] += 1
            brand = brands[source.id]
        context = {
            "job_title": row.job_title,
            "posted_on": row.posted_on.strftime("%d-%m-%Y") if row.posted_on else "",
            "source_name": source.name,
        }
        response, _token = new_response_row(rnd.bank_version_id, brand.id, context)
        responses.append(response)
        cases.append(
            {
                "round_id": rnd.id,
                "posting_id": row.id,
                "company_id": row.company_id,
                "production_unit_id": row.production_unit_id,
                "brand_id": brand.id,
                "status": "sampled",
                "stratum": row.stratum,
                "selection_prob": selection.probs[row.stratum],
                "created_at": now,
            }
        )
        result.by_brand[brand.code] += 1
    store_sample(responses, cases)
    result.drawn = len(cases)
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
