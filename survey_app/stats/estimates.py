"""Point estimates and 95 % confidence intervals for the published measures.

Pure code: input is the sample (:class:`~survey_app.stats.weighting.SampledUnit`) and the
:class:`~survey_app.stats.weighting.WeightingResult`; output is a flat list of :class:`Cell`.

Measures, among *completed* attempts (outcome success, other_profile or not_filled; STAR's
definitions), for the overall total and for each value of one domain variable (e.g. ``rar_area``;
units without a value form the value ``"unknown"`` so that the cells add up to the total):

* ``frr`` failed / completed (failed = other_profile + not_filled),
* ``share_not_filled`` and ``share_other_profile`` (they add up to ``frr``),
* ``failed`` the grossed-up number of failed recruitments,
* ``completed`` the grossed-up number of completed attempts.

``basis="positions"`` multiplies every indicator by the unit's number of positions (counts of
positions instead of postings; shares become position-weighted shares).

Variance: Taylor linearisation for a stratified design with the weight class as stratum and the
posting as the primary unit (``samplics.TaylorEstimator``). Respondents within a weight class are
treated as a random sample of the class's eligible postings (missing at random within the class),
the final weights as fixed. Shares are ratio estimators ``sum(w*y) / sum(w*x)`` with ``y, x``
zeroed outside the domain (correct domain estimation, the domain sample size is random).
Counts are post-stratified totals: their variance is computed from the residuals
``e_i = y_i - mean_w(y | weight class)``, which removes the part fixed by grossing up to the
frame (a class's total of eligible postings has no sampling variance). With ``fpc=True`` each
stratum's variance is multiplied by ``1 - n_h / N_h`` (``n_h`` eligible respondents, ``N_h`` the
grossed-up eligible postings). The interval is ``estimate ± t(df) * se`` with
``df = n - number of classes``; shares are clipped to [0, 1], counts at 0. A class with a
single respondent adds no variance (samplics ``SinglePSUEst.skip``).

Every cell carries the unweighted ``n`` and the number of distinct companies behind it (for the
disclosure rules), never the company ids themselves.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from survey_app.stats.weighting import SampledUnit, WeightingResult

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from samplics import PopParam, SinglePSUEst, TaylorEstimator

COMPLETED = frozenset({"success", "other_profile", "not_filled"})
FAILED = frozenset({"other_profile", "not_filled"})
SHARES = ("frr", "share_not_filled", "share_other_profile")
COUNTS = ("failed", "completed")
MEASURES = (*SHARES, *COUNTS)
TOTAL_DOMAIN = "total"
TOTAL_VALUE = "Total"
UNKNOWN_VALUE = "unknown"


@dataclass(frozen=True)
class Cell:
    """One published number. Aggregate only: no unit or company identifiers."""

    domain: str
    value: str
    measure: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    companies: int | None
    suppressed: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class _Sample:
    """The analysis set as arrays: units that carry a calibrated weight."""

    units: list[SampledUnit]
    w: np.ndarray
    strata: np.ndarray
    psu: np.ndarray
    size: np.ndarray
    fpc: dict[str, float]


def _sample(
    units: Iterable[SampledUnit], weighting: WeightingResult, basis: str, fpc: bool
) -> _Sample:
    if basis not in ("postings", "positions"):
        raise ValueError("basis must be 'postings' or 'positions'")
    keep = ("rr", "in") if weighting.frame_includes_ineligible else ("rr",)
    chosen = [u for u in units if u.response_code in keep and weighting.weights[u.unit_id] > 0]
    if not chosen:
        raise ValueError("no eligible respondents with a weight")
    strata = np.array([weighting.weight_class[u.unit_id] for u in chosen])
    factors = {}
    for s in np.unique(strata):
        diag = weighting.strata[str(s)]
        n_h, big_n = diag.n_eligible_respondents, diag.final_weight_sum
        factors[str(s)] = max(0.0, 1.0 - n_h / big_n) if fpc and big_n > 0 else 1.0
    return _Sample(
        units=chosen,
        w=np.array([weighting.weights[u.unit_id] for u in chosen]),
        strata=strata,
        psu=np.array([u.unit_id for u in chosen]),
        size=np.array([u.positions if basis == "positions" else 1 for u in chosen], dtype=float),
        fpc=factors,
    )


def _taylor(
    param: PopParam, sample: _Sample, y: np.ndarray, x: np.ndarray | None
) -> tuple[float, int]:
    """Linearised variance and degrees of freedom from samplics."""
    est = TaylorEstimator(param)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        est.estimate(
            y=y,
            x=x,
            samp_weight=sample.w,
            stratum=sample.strata,
            psu=sample.psu,
            fpc=sample.fpc,
            single_psu=SinglePSUEst.skip,
        )
    variance = float(np.asarray(est.variance, dtype=float).reshape(-1)[0])
    return (0.0 if math.isnan(variance) else max(variance, 0.0)), int(est.degree_of_freedom)


def _interval(
    estimate: float, variance: float, df: int, alpha: float, lo: float, hi: float
) -> tuple[float | None, float | None]:
    if df < 1:
        return None, None
    half = float(student_t.ppf(1 - alpha / 2, df)) * math.sqrt(variance)
    return max(lo, estimate - half), min(hi, estimate + half)


def _ratio(sample: _Sample, y: np.ndarray, x: np.ndarray, alpha: float):
    denominator = float(np.sum(sample.w * x))
    if denominator <= 0:
        return None, None, None
    estimate = float(np.sum(sample.w * y)) / denominator
    if estimate == 0:
        # All linearised scores w * (y - R x) / X are 0; samplics cannot divide by a zero ratio.
        return 0.0, 0.0, 0.0
    variance, df = _taylor(PopParam.ratio, sample, y, x)
    return (estimate, *_interval(estimate, variance, df, alpha, 0.0, 1.0))


def _total(sample: _Sample, y: np.ndarray, alpha: float):
    estimate = float(np.sum(sample.w * y))
    residual = y.astype(float).copy()
    for s in np.unique(sample.strata):
        m = sample.strata == s
        residual[m] -= np.sum(sample.w[m] * y[m]) / np.sum(sample.w[m])
    # The residuals' weighted total is 0 and samplics divides by it (coefficient of variation).
    # Adding 1 / w_i adds the constant 1 to every score w_i * e_i: the point becomes n, the
    # variance (computed from deviations around each stratum's mean score) does not change.
    variance, df = _taylor(PopParam.total, sample, residual + 1.0 / sample.w, None)
    return (estimate, *_interval(estimate, variance, df, alpha, 0.0, math.inf))


def _cells_for(
    sample: _Sample, in_domain: np.ndarray, domain: str, value: str, alpha: float
) -> list[Cell]:
    outcome = [u.outcome for u in sample.units]
    completed = in_domain & np.array([o in COMPLETED for o in outcome])
    failed = in_domain & np.array([o in FAILED for o in outcome])
    not_filled = in_domain & np.array([o == "not_filled" for o in outcome])
    other = in_domain & np.array([o == "other_profile" for o in outcome])

    def support(mask: np.ndarray) -> tuple[int, int]:
        chosen = [u for u, k in zip(sample.units, mask, strict=True) if k]
        return len(chosen), len({u.company_id for u in chosen})

    n_completed, c_completed = support(completed)
    n_failed, c_failed = support(failed)
    x = completed * sample.size
    cells = [
        Cell(
            domain,
            value,
            measure,
            *_ratio(sample, numerator * sample.size, x, alpha),
            n_completed,
            c_completed,
        )
        for measure, numerator in (
            ("frr", failed),
            ("share_not_filled", not_filled),
            ("share_other_profile", other),
        )
    ]
    failed_count = _total(sample, failed * sample.size, alpha)
    cells.append(Cell(domain, value, "failed", *failed_count, n_failed, c_failed))
    cells.append(
        Cell(domain, value, "completed", *_total(sample, x, alpha), n_completed, c_completed)
    )
    return cells


def domain_value(unit: SampledUnit, domain: str) -> str:
    """The unit's value of a domain variable as a string; missing values are ``"unknown"``."""
    raw = unit.attributes.get(domain)
    return UNKNOWN_VALUE if raw is None or raw == "" else str(raw)


def estimate_cells(
    units: Sequence[SampledUnit],
    weighting: WeightingResult,
    domain: str | None = None,
    *,
    basis: str = "postings",
    fpc: bool = True,
    alpha: float = 0.05,
) -> list[Cell]:
    """All measures for the total (``domain=None``) or for every value of ``domain``."""
    sample = _sample(units, weighting, basis, fpc)
    if domain is None:
        everything = np.ones(len(sample.units), dtype=bool)
        return _cells_for(sample, everything, TOTAL_DOMAIN, TOTAL_VALUE, alpha)
    values = np.array([domain_value(u, domain) for u in sample.units])
    cells: list[Cell] = []
    for value in sorted(set(values.tolist())):
        cells.extend(_cells_for(sample, values == value, domain, value, alpha))
    return cells


def estimate_table(
    units: Sequence[SampledUnit],
    weighting: WeightingResult,
    domain: str,
    *,
    basis: str = "postings",
    fpc: bool = True,
    alpha: float = 0.05,
) -> tuple[list[Cell], list[Cell]]:
    """``(domain cells, total cells)``: the input of ``apply_disclosure_control``."""
    kwargs = {"basis": basis, "fpc": fpc, "alpha": alpha}
    return (
        estimate_cells(units, weighting, domain, **kwargs),
        estimate_cells(units, weighting, None, **kwargs),
    )
