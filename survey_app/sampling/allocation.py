"""Stratified allocation of a sample size over strata (pure: no database).

A stratum is occupation major group x RAR area: ``"<group>|<rar area>"`` where the group is the
first digit of the DISCO-08 (or STAR job-title) code, or ``"unknown"``.

Methods:

* ``proportional``: n_h = n * N_h / N, rounded by the largest-remainder method (the strata with the
  largest fractional parts get the leftover units; ties go to the larger stratum, then to the
  stratum key in sort order), so the allocation always sums to min(n, N).
* ``minimum``: every non-empty stratum first gets min(m, N_h); the rest of n is spread
  proportionally to N_h over the room left in each stratum. When the minimums alone exceed n, n is
  spread proportionally to N_h with each stratum capped at its minimum.

No stratum is ever allocated more than its population N_h. The inclusion probability of a unit in
stratum h is n_h / N_h (simple random sampling without replacement within the stratum).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

METHODS = ("proportional", "minimum")
UNKNOWN = "unknown"


def occupation_group(code: str | None) -> str:
    """The major group: the first digit of the occupation code, or "unknown"."""
    if code and code[0].isdigit():
        return code[0]
    return UNKNOWN


def stratum_key(occupation_code: str | None, rar_area: str | None) -> str:
    return f"{occupation_group(occupation_code)}|{rar_area or UNKNOWN}"


def _apportion(total: int, weights: Mapping[str, int], caps: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` proportionally to ``weights``, never above ``caps``, largest remainder."""
    alloc = dict.fromkeys(weights, 0)
    active = {k for k in weights if weights[k] > 0 and caps[k] > 0}
    remaining = min(total, sum(caps[k] for k in active))
    while remaining > 0 and active:
        weight = sum(weights[k] for k in active)
        quota = {k: Fraction(remaining * weights[k], weight) for k in active}
        full = {k for k in active if quota[k] >= caps[k] - alloc[k]}
        if full:
            for k in full:
                remaining -= caps[k] - alloc[k]
                alloc[k] = caps[k]
            active -= full
            continue
        floors = {k: int(quota[k]) for k in active}
        for k, f in floors.items():
            alloc[k] += f
        left = remaining - sum(floors.values())
        order = sorted(active, key=lambda k: (-(quota[k] - floors[k]), -weights[k], k))
        for k in order[:left]:
            alloc[k] += 1  # quota < cap here, so floor + 1 <= cap
        remaining = 0
    return alloc


def allocate(
    populations: Mapping[str, int], n: int, method: str = "proportional", minimum: int = 0
) -> dict[str, int]:
    """Sample size per stratum; sums to min(n, sum of populations), never above N_h."""
    if method not in METHODS:
        raise ValueError(f"unknown allocation {method!r}: use one of {', '.join(METHODS)}")
    if any(size < 0 for size in populations.values()):
        raise ValueError("stratum populations must not be negative")
    if minimum < 0:
        raise ValueError("the minimum per stratum must not be negative")
    n = max(0, n)
    pops = dict(populations)
    if method == "proportional" or minimum == 0:
        return _apportion(n, pops, pops)
    base = {k: min(minimum, size) for k, size in pops.items()}
    if sum(base.values()) >= n:
        return _apportion(n, pops, base)
    rest = _apportion(n - sum(base.values()), pops, {k: pops[k] - base[k] for k in pops})
    return {k: base[k] + rest[k] for k in pops}


def inclusion_probabilities(
    populations: Mapping[str, int], allocation: Mapping[str, int]
) -> dict[str, float]:
    """n_h / N_h per stratum (0.0 for an empty stratum)."""
    return {k: (allocation.get(k, 0) / size if size else 0.0) for k, size in populations.items()}
