"""Survey weights for the recruitment survey: design weight, non-response adjustment, grossing up.

Pure code: no Flask, no database. Input is one :class:`SampledUnit` per sampled posting and the
frame totals per stratum; output is one final weight per unit plus per-stratum diagnostics.

Method (all steps within a *weight class*, which is the sampling stratum unless a stratum is
collapsed into a named fallback stratum, see below):

1. Design weight ``d_i = 1 / selection_prob_i``.
2. Each unit gets a response/eligibility code (AAPOR-like):

   * ``rr`` eligible respondent: ``responded`` and ``eligible is True``;
   * ``nr`` eligible non-respondent: not ``responded`` and ``eligible is True``;
   * ``in`` ineligible (frame error, e.g. posting withdrawn or not recognised):
     ``eligible is False``;
   * ``uk`` unknown eligibility: ``eligible is None`` (a unit that "responded" without
     establishing eligibility, e.g. a referral, is also ``uk``).

   With ``D_x`` the design-weight sum of the units coded ``x`` in the class, the unknowns are
   allocated by the eligible rate observed in the class,
   ``e = (D_rr + D_nr) / (D_rr + D_nr + D_in)``, and the non-response factor spreads the
   eligible non-respondents over the respondents::

       a_uk = (D_rr + D_nr + D_in + D_uk) / (D_rr + D_nr + D_in)      (unknown factor)
       a_nr = (D_rr + D_nr) / D_rr                                    (non-response factor)
       w1_i = d_i * a_nr * a_uk  for rr;   d_i * a_uk  for in;   0 for nr and uk

   so that ``sum(w1 over rr) = D_rr + D_nr + e * D_uk``: the design-weight sum of the eligible
   units plus the eligible share of the unknowns. This is ``samplics.SampleWeight.adjust`` with
   ``unknown_to_inelig=True``.
3. Post-stratification (grossing up, ``samplics.SampleWeight.poststratify``): within each class
   the eligible respondents' weights are scaled by ``g = N / sum(w1 over rr)`` so that they sum to
   the frame's number of postings ``N``. By default ``FrameTotal.postings`` is taken to count
   *eligible* postings. With ``frame_includes_ineligible=True`` the frame count is taken to
   include frame errors: then ``g = N / sum(w1 over rr and in)`` and the eligible respondents sum
   to ``N`` times the estimated eligible share.

The final weight is ``w_i = g * w1_i`` for eligible respondents, ``w1_i`` (times ``g`` with
``frame_includes_ineligible``) for ineligible units, and 0 for non-respondents and unknowns.
Only eligible respondents enter the estimates.

A class without eligible respondents cannot be adjusted: :class:`EmptyStratumError` names every
such stratum. The caller may pass ``fallback={"small": "big"}`` to merge stratum ``small`` (its
units and its frame totals) into the weight class ``big`` before weighting; a stratum in the
frame without any sampled unit must be merged the same way. Chains are followed, cycles rejected.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # samplics announces its archival with a FutureWarning on import; the API used here is stable.
    warnings.simplefilter("ignore", FutureWarning)
    from samplics import SampleWeight

OUTCOMES = frozenset({"success", "other_profile", "not_filled", "ongoing", "ineligible"})


@dataclass(frozen=True)
class SampledUnit:
    """One sampled posting and what is known about it after fielding."""

    unit_id: str
    stratum: str
    selection_prob: float
    responded: bool
    eligible: bool | None
    outcome: str | None
    positions: int = 1
    company_id: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.selection_prob <= 1:
            raise ValueError(f"unit {self.unit_id}: selection_prob must be in (0, 1]")
        if self.positions < 1:
            raise ValueError(f"unit {self.unit_id}: positions must be >= 1")
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ValueError(f"unit {self.unit_id}: unknown outcome {self.outcome!r}")
        if self.outcome == "ineligible" and self.eligible is not False:
            raise ValueError(f"unit {self.unit_id}: outcome 'ineligible' needs eligible=False")
        if self.outcome not in (None, "ineligible") and self.eligible is False:
            raise ValueError(f"unit {self.unit_id}: ineligible unit with outcome {self.outcome!r}")

    @property
    def response_code(self) -> str:
        """AAPOR-like code used by the non-response adjustment: rr, nr, in or uk."""
        if self.eligible is False:
            return "in"
        if self.eligible is None:
            return "uk"
        return "rr" if self.responded else "nr"


@dataclass(frozen=True)
class FrameTotal:
    """Size of one stratum in the sampling frame."""

    postings: int
    positions: int


@dataclass(frozen=True)
class StratumDiagnostics:
    """What happened in one weight class."""

    weight_class: str
    merged_strata: tuple[str, ...]
    n_sampled: int
    n_respondents: int
    n_eligible_respondents: int
    n_nonrespondents: int
    n_ineligible: int
    n_unknown: int
    design_weight_sum: float
    eligible_rate: float
    unknown_factor: float
    nonresponse_factor: float
    poststrat_factor: float
    final_weight_sum: float
    frame_postings: int
    frame_positions: int
    estimated_positions: float


@dataclass(frozen=True)
class WeightingResult:
    weights: dict[str, float]
    weight_class: dict[str, str]
    strata: dict[str, StratumDiagnostics]
    frame_includes_ineligible: bool = False


class EmptyStratumError(ValueError):
    """Raised when weight classes have no eligible respondent (or no frame total)."""

    def __init__(self, strata: Sequence[str], problem: str) -> None:
        self.strata = tuple(strata)
        super().__init__(
            f"{problem}: {', '.join(self.strata)}; merge them with fallback={{stratum: target}}"
        )


def _resolve(stratum: str, fallback: Mapping[str, str]) -> str:
    seen = [stratum]
    while stratum in fallback:
        stratum = fallback[stratum]
        if stratum in seen:
            raise ValueError(f"fallback cycle: {' -> '.join([*seen, stratum])}")
        seen.append(stratum)
    return stratum


def compute_weights(
    units: Iterable[SampledUnit],
    frame_totals: Mapping[str, FrameTotal],
    *,
    fallback: Mapping[str, str] | None = None,
    frame_includes_ineligible: bool = False,
) -> WeightingResult:
    """Final weights per unit id plus per-class diagnostics (see the module docstring)."""
    units = list(units)
    fallback = dict(fallback or {})
    if not units:
        raise ValueError("no sampled units")
    ids = [u.unit_id for u in units]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate unit_id in the sample")

    classes = np.array([_resolve(u.stratum, fallback) for u in units])
    merged: dict[str, list[str]] = {}
    for s in sorted({*frame_totals, *(u.stratum for u in units)}):
        merged.setdefault(_resolve(s, fallback), []).append(s)

    frame: dict[str, FrameTotal] = {}
    missing_frame = []
    for cls, members in merged.items():
        if not all(m in frame_totals for m in members):
            missing_frame.extend(m for m in members if m not in frame_totals)
            continue
        frame[cls] = FrameTotal(
            postings=sum(frame_totals[m].postings for m in members),
            positions=sum(frame_totals[m].positions for m in members),
        )
    if missing_frame:
        raise EmptyStratumError(sorted(missing_frame), "strata without a frame total")

    codes = np.array([u.response_code for u in units])
    # Weight classes as integer codes 0..K-1 (sorted names): samplics and the per-class sums
    # then compare integers instead of strings, with the same numbers.
    names, code = np.unique(classes, return_inverse=True)
    names = [str(n) for n in names]
    index = {name: i for i, name in enumerate(names)}
    k = len(names)
    rr = codes == "rr"
    rr_count = np.bincount(code[rr], minlength=k)
    empty = sorted(c for c in merged if c not in index or not rr_count[index[c]])
    if empty:
        # Name the original strata so the caller knows what to merge.
        raise EmptyStratumError(
            sorted(m for c in empty for m in merged[c]),
            "strata without eligible respondents",
        )

    design = np.array([1.0 / u.selection_prob for u in units])
    sw = SampleWeight()
    # a Series keeps the integer dtype (samplics turns a plain array into strings)
    adjusted = sw.adjust(design, pd.Series(code), codes, unknown_to_inelig=True)
    nr_factor = {names[int(i)]: float(v) for i, v in sw.adj_factor.items()}

    ineligible = codes == "in"
    calibrated = rr | ineligible if frame_includes_ineligible else rr
    ps = SampleWeight()
    final = np.zeros(len(units))
    final[calibrated] = ps.poststratify(
        adjusted[calibrated],
        control={index[c]: float(frame[c].postings) for c in merged},
        domain=code[calibrated],
    )
    ps_factor = {names[int(i)]: float(v) for i, v in ps.adj_factor.items()}
    if not frame_includes_ineligible:
        final[ineligible] = adjusted[ineligible]

    positions = np.array([u.positions for u in units], dtype=float)
    responded = np.array([u.responded for u in units], dtype=bool)

    def per_class(values) -> np.ndarray:
        return np.bincount(code, weights=values, minlength=k)

    counts = {
        "all": np.bincount(code, minlength=k),
        "responded": np.bincount(code[responded], minlength=k),
        **{c: np.bincount(code[codes == c], minlength=k) for c in ("rr", "nr", "in", "uk")},
    }
    design_sum = per_class(design)
    d_sums = {c: per_class(design * (codes == c)) for c in ("rr", "nr", "in", "uk")}
    final_rr = per_class(final * rr)
    positions_rr = per_class(final * positions * rr)
    diagnostics = {}
    for cls, members in merged.items():
        i = index[cls]
        d_sum = {c: float(d_sums[c][i]) for c in ("rr", "nr", "in", "uk")}
        known = d_sum["rr"] + d_sum["nr"] + d_sum["in"]
        diagnostics[cls] = StratumDiagnostics(
            weight_class=cls,
            merged_strata=tuple(members),
            n_sampled=int(counts["all"][i]),
            n_respondents=int(counts["responded"][i]),
            n_eligible_respondents=int(counts["rr"][i]),
            n_nonrespondents=int(counts["nr"][i]),
            n_ineligible=int(counts["in"][i]),
            n_unknown=int(counts["uk"][i]),
            design_weight_sum=float(design_sum[i]),
            eligible_rate=(d_sum["rr"] + d_sum["nr"]) / known,
            unknown_factor=(known + d_sum["uk"]) / known,
            nonresponse_factor=nr_factor[cls],
            poststrat_factor=ps_factor[cls],
            final_weight_sum=float(final_rr[i]),
            frame_postings=frame[cls].postings,
            frame_positions=frame[cls].positions,
            estimated_positions=float(positions_rr[i]),
        )
    return WeightingResult(
        weights={u.unit_id: float(w) for u, w in zip(units, final, strict=True)},
        weight_class={u.unit_id: str(c) for u, c in zip(units, classes, strict=True)},
        strata=diagnostics,
        frame_includes_ineligible=frame_includes_ineligible,
    )
