"""The per-cell estimator: one samplics Taylor linearisation per measure and domain value.

This was the production path before ``survey_app.stats.estimates`` computed every cell of a
domain at once with group-wise sums. It stays here as the reference the fast path is checked
against (``test_estimates_fast.py``): same estimator, same variance, to 1e-9.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from survey_app.stats.estimates import (
    COMPLETED,
    FAILED,
    TOTAL_DOMAIN,
    TOTAL_VALUE,
    Cell,
    domain_value,
)
from survey_app.stats.weighting import SampledUnit, WeightingResult

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from samplics import PopParam, SinglePSUEst, TaylorEstimator


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


def reference_cells(
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
