"""Publishing a release: weights, estimates and disclosure control over one or more rounds.

``publish(rounds, period)`` reads the sampled cases of the rounds, weights them, estimates every
published table and stores the result as an immutable release (``api_models.Release`` and its
cells). Publishing again creates a new release; earlier ones stay readable as they were.

Method
------
*Units.* Every sampled case of the rounds is one unit (a sampled posting) with its stratum and
inclusion probability from the draw. Its classification (derived from the answers, STAR's
definitions) gives its response code: ``success``, ``other_profile``, ``not_filled`` and
``ongoing`` are eligible respondents; ``ineligible`` (posting withdrawn or not recognised) are
frame errors; every other case (no answer, incomplete, referred) has unknown eligibility.

*Weights* (``weighting.compute_weights``, samplics): design weight ``1 / p``; non-response
adjustment within the stratum, spreading the unknowns by the stratum's observed eligible rate;
grossing up (post-stratification) to the number of postings in the stratum's frame, as recorded
by the draw (``N`` per stratum in the round's draw report; ``n / p`` when it is missing). The
frame counts include postings that turn out to be frame errors, so the frame total is shared
between eligible respondents and frame errors in the estimated proportion. A stratum without any
eligible respondent is merged into the stratum with the most eligible respondents in the same
occupation group, else the same RAR area, else overall; the merges are stored in the release.

*Estimates* (``estimates``): among completed attempts, FRR, the share not filled, the share with
another profile, and the grossed-up numbers of failed recruitments and of completed attempts,
for the whole country and by RAR area, region, industry (DB07 main group), sector and
occupation, with the unweighted n. 95 % confidence intervals from Taylor linearisation with
strata as the weight classes and the posting as the primary unit, with a finite-population
correction; t-quantiles with n - H degrees of freedom.

*Disclosure control* (``disclosure``): a cell from fewer than 5 responses or 3 companies is
suppressed (primary); the other measures of the same cell go with it; within each table further
cells are suppressed (secondary) so that no cell follows from the total and the published cells.
The total row is the same in every table: if one table has to suppress it, it is suppressed in
all tables and their control is run again. Suppressed cells are stored with their reason and
without any value or n. No company, posting, case or response identifier is stored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import insert

from survey_app.core import audit
from survey_app.core.db import db
from survey_app.questionnaire.models import BankVersion, Response
from survey_app.sampling.geography import municipality
from survey_app.sampling.models import Case, Company, FieldingRound, Posting

from . import periods
from .api_models import Release, ReleaseCell
from .catalogue import TABLES
from .disclosure import apply_disclosure_control
from .estimates import TOTAL_DOMAIN, Cell, cells_of, prepare
from .weighting import FrameTotal, SampledUnit, compute_weights

MIN_N = 5
MIN_COMPANIES = 3
RESPONDED = {"success", "other_profile", "not_filled", "ongoing"}

METHOD_NOTES = (
    "Design weights 1/p from the draw; non-response adjustment within strata (unknown "
    "eligibility allocated by the observed eligible rate); post-stratification to the number "
    "of postings per stratum in the frame (samplics). Estimates among completed attempts; 95 % "
    "CIs by Taylor linearisation (strata = weight classes, posting = PSU, with fpc). Cells with "
    "fewer than 5 responses or 3 companies suppressed (primary), with secondary suppression "
    "within each table so totals cannot reveal them."
)


class PublishError(ValueError):
    pass


_OUTCOME = {
    **{cls: (True, True, cls) for cls in RESPONDED},
    "ineligible": (True, False, "ineligible"),
}
_UNKNOWN = (False, None, None)


def _unit(row, place) -> SampledUnit:
    (case_id, stratum, prob, company_id, cls, rar_area, _muni, occupation, positions,
     industry_code, sector) = row  # fmt: skip
    responded, eligible, outcome = _OUTCOME.get(cls, _UNKNOWN)
    return SampledUnit(
        unit_id=str(case_id),
        stratum=stratum or "unknown",
        selection_prob=prob,
        responded=responded,
        eligible=eligible,
        outcome=outcome,
        positions=max(1, positions or 1),
        company_id=str(company_id),
        attributes={
            "rar_area": rar_area or (place.rar_area if place else None),
            "region": place.region if place else None,
            "industry": (industry_code or "")[:2] or None,
            "sector": sector,
            "occupation": occupation,
        },
    )


def load_units(rounds: Sequence[FieldingRound]) -> list[SampledUnit]:
    rows = db.session.execute(
        db.select(
            Case.id,
            Case.stratum,
            Case.selection_prob,
            Case.company_id,
            Response.classification,
            Posting.rar_area,
            Posting.municipality_code,
            Posting.occupation_code,
            Posting.positions,
            Company.industry_code,
            Company.sector,
        )
        .join(Response, Response.id == Case.response_id)
        .join(Posting, Posting.id == Case.posting_id)
        .join(Company, Company.id == Case.company_id)
        .where(Case.round_id.in_([r.id for r in rounds]))
        .order_by(Case.id)
    )
    places: dict = {}  # municipality code -> Municipality (98 codes, 150,000 rows)
    units = []
    for row in rows:
        code = row[6]
        if code not in places:
            places[code] = municipality(code)
        units.append(_unit(row, places[code]))
    return units


def frame_totals(rounds: Sequence[FieldingRound], units: Sequence[SampledUnit]):
    """Postings per stratum in the frame: the draw reports' N, else n / p from the sample."""
    totals: Counter = Counter()
    reported = set()
    for rnd in rounds:
        draw = (rnd.settings or {}).get("last_draw") or {}
        for s in draw.get("strata") or []:
            totals[s["stratum"]] += int(s["N"])
            reported.add(s["stratum"])
    estimated: dict[str, float] = defaultdict(float)
    for u in units:
        if u.stratum not in reported:
            estimated[u.stratum] += 1.0 / u.selection_prob
    for stratum, n in estimated.items():
        totals[stratum] += round(n)
    return {s: FrameTotal(postings=n, positions=n) for s, n in totals.items() if n > 0}


def collapse(units: Sequence[SampledUnit], frame: dict[str, FrameTotal]) -> dict[str, str]:
    """Fallback weight classes for strata without an eligible respondent (see the docstring)."""
    rr = Counter(u.stratum for u in units if u.response_code == "rr")
    if not rr:
        raise PublishError("no eligible respondents: nothing to publish")
    fallback = {}
    for stratum in sorted({*frame, *(u.stratum for u in units)}):
        if rr[stratum]:
            continue
        group, _, area = stratum.partition("|")
        candidates = [s for s in rr if s.partition("|")[0] == group] or [
            s for s in rr if s.partition("|")[2] == area
        ]
        candidates = candidates or list(rr)
        fallback[stratum] = max(candidates, key=lambda s: (rr[s], s))
    return fallback


def _control(tables: dict[str, tuple[list[Cell], list[Cell]]]) -> dict[str, list[Cell]]:
    """Disclosure control per table; a total suppressed anywhere is suppressed everywhere."""
    forced: dict[str, str] = {}
    while True:
        result = {}
        for table_id, (cells, totals) in tables.items():
            totals = [
                replace(t, suppressed=True, reason=forced[t.measure]) if t.measure in forced else t
                for t in totals
            ]
            result[table_id] = apply_disclosure_control(
                cells, totals, min_n=MIN_N, min_companies=MIN_COMPANIES
            )
        now = {
            c.measure: c.reason
            for cells in result.values()
            for c in cells
            if c.domain == TOTAL_DOMAIN and c.suppressed
        }
        if set(now) <= set(forced):
            return result
        forced.update({m: r for m, r in now.items() if m not in forced})


def compute(units: Sequence[SampledUnit], frame: dict[str, FrameTotal]):
    """Weights and the controlled cells of every table: ``(weighting, {table id: cells})``."""
    fallback = collapse(units, frame)
    weighting = compute_weights(units, frame, fallback=fallback, frame_includes_ineligible=True)
    sample = prepare(units, weighting)
    totals = cells_of(sample, None)
    tables = {}
    for table in TABLES.values():
        if table.dimension == TOTAL_DOMAIN:
            tables[table.id] = ([], totals)
        else:
            tables[table.id] = (cells_of(sample, table.dimension), totals)
    return weighting, fallback, _control(tables)


def publish(round_codes: Sequence[str], period: str | None = None) -> Release:
    """Freeze a release of the rounds for ``period`` (default: the period of the last round)."""
    if not round_codes:
        raise PublishError("name at least one round")
    rounds = []
    for code in dict.fromkeys(round_codes):
        rnd = db.session.execute(db.select(FieldingRound).filter_by(code=code)).scalar_one_or_none()
        if rnd is None:
            raise PublishError(f"round {code!r} does not exist")
        rounds.append(rnd)
    try:
        label = (
            periods.normalise(period)
            if period
            else periods.containing(max(r.window_end for r in rounds))
        )
    except periods.PeriodError as exc:
        raise PublishError(str(exc)) from exc
    start, end = periods.window(label)
    for rnd in rounds:
        if rnd.window_start < start or rnd.window_end > end:
            raise PublishError(
                f"round {rnd.code} covers postings from {rnd.window_start} to {rnd.window_end}, "
                f"outside the window of period {label} ({start} to {end})"
            )
    units = load_units(rounds)
    if not units:
        raise PublishError(f"rounds {', '.join(r.code for r in rounds)} have no sampled cases")
    frame = frame_totals(rounds, units)
    weighting, fallback, tables = compute(units, frame)
    versions = db.session.scalars(
        db.select(BankVersion.version).where(
            BankVersion.id.in_({r.bank_version_id for r in rounds})
        )
    ).all()
    release = Release(
        period=label,
        window_start=start,
        window_end=end,
        rounds=[r.code for r in rounds],
        bank_versions=sorted(versions),
        settings={
            "min_n": MIN_N,
            "min_companies": MIN_COMPANIES,
            "confidence": 0.95,
            "basis": "postings",
            "frame_includes_ineligible": True,
            "merged_strata": fallback,
            "weight_classes": len(weighting.strata),
        },
        method=METHOD_NOTES,
        n_sampled=len(units),
        n_respondents=sum(1 for u in units if u.responded),
    )
    db.session.add(release)
    db.session.flush()
    rows = [
        {
            "release_id": release.id,
            "table_id": table_id,
            "dimension": c.domain,
            "value": c.value,
            "measure": c.measure,
            "estimate": c.estimate,
            "ci_low": c.ci_low,
            "ci_high": c.ci_high,
            "n": c.n,
            "suppressed": c.suppressed,
            "suppression": c.reason if c.suppressed else None,
        }
        for table_id, cells in tables.items()
        for c in cells
    ]
    db.session.execute(insert(ReleaseCell), rows)
    audit.record(
        "stats.release_published",
        "release",
        release.id,
        actor_label="cli",
        period=label,
        rounds=release.rounds,
        cells=len(rows),
    )
    return release


def latest_release() -> Release | None:
    return db.session.scalars(db.select(Release).order_by(Release.id.desc()).limit(1)).first()
