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
posting as the primary unit, the estimator of ``samplics.TaylorEstimator`` computed for every
value of a domain at once from group-wise sums (see *Computation* below). Respondents within a
weight class are treated as a random sample of the class's eligible postings (missing at random
within the class), the final weights as fixed. Shares are ratio estimators
``sum(w*y) / sum(w*x)`` with ``y, x`` zeroed outside the domain (correct domain estimation,
the domain sample size is random).
Counts are post-stratified totals: their variance is computed from the residuals
``e_i = y_i - mean_w(y | weight class)``, which removes the part fixed by grossing up to the
frame (a class's total of eligible postings has no sampling variance). With ``fpc=True`` each
stratum's variance is multiplied by ``1 - n_h / N_h`` (``n_h`` eligible respondents, ``N_h`` the
grossed-up eligible postings). The interval is ``estimate ± t(df) * se`` with
``df = n - number of classes``; shares are clipped to [0, 1], counts at 0. A class with a
single respondent adds no variance (samplics ``SinglePSUEst.skip``).

Computation: with ``z_i`` the linearised score of unit ``i`` for one cell (zero outside the
cell's domain value ``d``), ``n_h`` the units of weight class ``h`` and ``m_hd`` the class mean of
the scores, the variance is ``sum_h c_h * sum_{i in h} (z_i - m_hd)^2`` with
``c_h = fpc_h * n_h / (n_h - 1)`` (0 for a class with one unit), so sums grouped by
(class, value) give every value's variance in one pass. Ratios:
``z_i = w_i (y_i - R_d x_i) / X_d``; the ``n_h - n_hd`` units outside ``d`` have ``z_i = 0`` and
add ``(n_h - n_hd) * m_hd^2``. Counts: ``z_i = w_i (y_i - ybar_hd)`` with
``ybar_hd = sum_{i in h, d} w_i y_i / W_h`` (the weighted class mean over all the class's units,
``y_i = 0`` outside ``d``), whose class mean is 0; the units outside ``d`` add
``ybar_hd^2 * sum_{i in h, not d} w_i^2``.
The per-cell samplics computation this replaces is kept in the tests as the reference
(``tests/unit/stats/reference_estimates.py``); they agree to 1e-9.

Every cell carries the unweighted ``n`` and the number of distinct companies behind it (for the
disclosure rules), never the company ids themselves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from survey_app.stats.weighting import SampledUnit, WeightingResult

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
class Sample:
    """The analysis set as arrays (units that carry a calibrated weight), built once per release.

    ``h`` is each unit's weight class as a code ``0..H-1``; ``c_h`` the class's variance factor
    ``fpc_h * n_h / (n_h - 1)`` (0 for a single unit); ``t`` the t-quantile of the intervals.
    """

    units: list[SampledUnit]
    attributes: list
    w: np.ndarray
    h: np.ndarray
    n_h: np.ndarray
    w_h: np.ndarray
    w2_h: np.ndarray
    c_h: np.ndarray
    size: np.ndarray
    company: np.ndarray
    n_companies: int
    completed: np.ndarray
    failed: np.ndarray
    not_filled: np.ndarray
    other: np.ndarray
    df: int
    t: float | None


def prepare(
    units: Iterable[SampledUnit],
    weighting: WeightingResult,
    *,
    basis: str = "postings",
    fpc: bool = True,
    alpha: float = 0.05,
) -> Sample:
    """The arrays every domain's cells are computed from."""
    if basis not in ("postings", "positions"):
        raise ValueError("basis must be 'postings' or 'positions'")
    keep = ("rr", "in") if weighting.frame_includes_ineligible else ("rr",)
    weights, classes = weighting.weights, weighting.weight_class
    chosen = [u for u in units if u.response_code in keep and weights[u.unit_id] > 0]
    if not chosen:
        raise ValueError("no eligible respondents with a weight")
    names, h = np.unique(np.array([classes[u.unit_id] for u in chosen]), return_inverse=True)
    h = h.astype(np.int64)
    w = np.fromiter((weights[u.unit_id] for u in chosen), dtype=float, count=len(chosen))
    n_classes = len(names)
    n_h = np.bincount(h, minlength=n_classes)
    factor = np.ones(n_classes)
    if fpc:
        for k, name in enumerate(names):
            diag = weighting.strata[str(name)]
            n_resp, big_n = diag.n_eligible_respondents, diag.final_weight_sum
            factor[k] = max(0.0, 1.0 - n_resp / big_n) if big_n > 0 else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        c_h = np.where(n_h > 1, factor * n_h / np.maximum(n_h - 1, 1), 0.0)
    outcome = np.array([u.outcome or "" for u in chosen])
    company, companies = pd.factorize(pd.Series([u.company_id for u in chosen], dtype=object))
    df = len(chosen) - n_classes
    return Sample(
        units=chosen,
        attributes=[u.attributes for u in chosen],
        w=w,
        h=h,
        n_h=n_h,
        w_h=np.bincount(h, weights=w, minlength=n_classes),
        w2_h=np.bincount(h, weights=w * w, minlength=n_classes),
        c_h=c_h,
        size=np.array([u.positions if basis == "positions" else 1 for u in chosen], dtype=float),
        company=company.astype(np.int64),
        n_companies=max(1, len(companies)),
        completed=np.isin(outcome, list(COMPLETED)),
        failed=np.isin(outcome, list(FAILED)),
        not_filled=outcome == "not_filled",
        other=outcome == "other_profile",
        df=df,
        t=float(student_t.ppf(1 - alpha / 2, df)) if df >= 1 else None,
    )


def _intervals(estimate, variance, t, lo, hi):
    if t is None:
        return [None] * len(estimate), [None] * len(estimate)
    half = t * np.sqrt(variance)
    return np.maximum(lo, estimate - half).tolist(), np.minimum(hi, estimate + half).tolist()


def _by_cell(sample: Sample, g: np.ndarray, n_values: int, values: np.ndarray):
    """Sums over (value, class) groups as a ``(values, classes)`` matrix."""
    n_classes = len(sample.n_h)
    return np.bincount(g, weights=values, minlength=n_values * n_classes).reshape(
        n_values, n_classes
    )


def _ratios(sample, v, g, n_values, y, x):
    """Estimates, lower and upper bounds of ``sum(w y) / sum(w x)`` for every value."""
    wx = np.bincount(v, weights=sample.w * x, minlength=n_values)
    wy = np.bincount(v, weights=sample.w * y, minlength=n_values)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(wx > 0, wy / wx, 0.0)
        z = np.where(wx[v] > 0, sample.w * (y - ratio[v] * x) / wx[v], 0.0)
    mean = _by_cell(sample, g, n_values, z) / sample.n_h
    dev = z - mean.reshape(-1)[g]
    squares = _by_cell(sample, g, n_values, dev * dev)
    inside = _by_cell(sample, g, n_values, np.ones_like(z))
    per_class = squares + (sample.n_h - inside) * mean * mean
    variance = np.maximum(np.nan_to_num(per_class @ sample.c_h, nan=0.0), 0.0)
    low, high = _intervals(ratio, variance, sample.t, 0.0, 1.0)
    out = []
    for k in range(n_values):
        if wx[k] <= 0:
            out.append((None, None, None))
        elif ratio[k] == 0:
            out.append((0.0, 0.0, 0.0))
        else:
            out.append((float(ratio[k]), low[k], high[k]))
    return out


def _totals(sample, v, g, n_values, y):
    """Estimates and bounds of the post-stratified total ``sum(w y)`` for every value."""
    estimate = np.bincount(v, weights=sample.w * y, minlength=n_values)
    ybar = _by_cell(sample, g, n_values, sample.w * y) / sample.w_h
    dev = sample.w * (y - ybar.reshape(-1)[g])
    squares = _by_cell(sample, g, n_values, dev * dev)
    w2_inside = _by_cell(sample, g, n_values, sample.w * sample.w)
    per_class = squares + ybar * ybar * (sample.w2_h - w2_inside)
    variance = np.maximum(np.nan_to_num(per_class @ sample.c_h, nan=0.0), 0.0)
    low, high = _intervals(estimate, variance, sample.t, 0.0, math.inf)
    return [(float(estimate[k]), low[k], high[k]) for k in range(n_values)]


def _support(sample, v, n_values, mask):
    """Units and distinct companies behind each value's cell."""
    n = np.bincount(v[mask], minlength=n_values)
    pairs = np.sort(v[mask] * sample.n_companies + sample.company[mask])
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]
    companies = np.bincount(pairs[first] // sample.n_companies, minlength=n_values)
    return n.tolist(), companies.tolist()


def cells_of(sample: Sample, domain: str | None = None) -> list[Cell]:
    """All measures for the total (``domain=None``) or for every value of ``domain``."""
    if domain is None:
        name, labels = TOTAL_DOMAIN, [TOTAL_VALUE]
        v = np.zeros(len(sample.units), dtype=np.int64)
    else:
        name = domain
        raw = [
            UNKNOWN_VALUE if (r := a.get(domain)) is None or r == "" else str(r)
            for a in sample.attributes
        ]  # as domain_value(), inlined: this runs once per unit and table
        codes, uniques = pd.factorize(pd.Series(raw, dtype=object), sort=True)
        labels, v = list(uniques), codes.astype(np.int64)
    n_values = len(labels)
    g = v * len(sample.n_h) + sample.h
    x = sample.completed * sample.size
    shares = [
        _ratios(sample, v, g, n_values, numerator * sample.size, x)
        for numerator in (sample.failed, sample.not_filled, sample.other)
    ]
    failed = _totals(sample, v, g, n_values, sample.failed * sample.size)
    completed = _totals(sample, v, g, n_values, x)
    n_completed, c_completed = _support(sample, v, n_values, sample.completed)
    n_failed, c_failed = _support(sample, v, n_values, sample.failed)
    cells: list[Cell] = []
    for k, label in enumerate(labels):
        for measure, values in zip(SHARES, shares, strict=True):
            cells.append(Cell(name, label, measure, *values[k], n_completed[k], c_completed[k]))
        cells.append(Cell(name, label, "failed", *failed[k], n_failed[k], c_failed[k]))
        cells.append(Cell(name, label, "completed", *completed[k], n_completed[k], c_completed[k]))
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
    return cells_of(prepare(units, weighting, basis=basis, fpc=fpc, alpha=alpha), domain)


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
    sample = prepare(units, weighting, basis=basis, fpc=fpc, alpha=alpha)
    return cells_of(sample, domain), cells_of(sample, None)
