"""The group-wise estimator gives the numbers of the per-cell samplics reference, cell by cell."""

import random

import pytest

from survey_app.stats.estimates import estimate_cells
from survey_app.stats.weighting import FrameTotal, SampledUnit, compute_weights

from .reference_estimates import reference_cells

OUTCOMES = ("success", "success", "other_profile", "not_filled", "ongoing")
DOMAINS = (None, "rar_area", "occupation", "sector")


def synthetic_round(n=400, seed=7):
    """Several strata of different sizes and probabilities, frame errors, non-response, unknown
    eligibility, missing domain values, a value with no completed attempt and a stratum with a
    single respondent."""
    rng = random.Random(seed)
    strata = {f"S{k}": rng.choice((0.05, 0.1, 0.2, 0.5)) for k in range(6)}
    units = []
    for i in range(n):
        stratum = f"S{i % 6}"
        kind = rng.random()
        if kind < 0.1:
            responded, eligible, outcome = True, False, "ineligible"
        elif kind < 0.2:
            responded, eligible, outcome = False, True, None
        elif kind < 0.25:
            responded, eligible, outcome = False, None, None
        else:
            responded, eligible, outcome = True, True, rng.choice(OUTCOMES)
        units.append(
            SampledUnit(
                unit_id=f"u{i}",
                stratum=stratum,
                selection_prob=strata[stratum],
                responded=responded,
                eligible=eligible,
                outcome=outcome,
                positions=rng.choice((1, 1, 2, 5)),
                company_id=f"c{rng.randrange(n // 3)}",
                attributes={
                    "rar_area": rng.choice(("Nord", "Syd", "Øst", None)),
                    "occupation": rng.choice(("2512", "5120", "2221", "9999", "")),
                    "sector": rng.choice(("private", "public")),
                },
            )
        )
    # a value with only ongoing attempts (no completed attempt: shares undefined)
    units.append(
        SampledUnit("only-ongoing", "S1", strata["S1"], True, True, "ongoing",
                    attributes={"occupation": "0110"})
    )  # fmt: skip
    # a stratum with one respondent (no variance contribution)
    units.append(
        SampledUnit("lone", "LONE", 0.5, True, True, "not_filled", company_id="c-lone",
                    attributes={"rar_area": "Nord", "occupation": "2512"})
    )  # fmt: skip
    frame = {
        s: FrameTotal(round(sum(1 for u in units if u.stratum == s) / p) + 3, 0)
        for s, p in [*strata.items(), ("LONE", 0.5)]
    }
    return units, frame


def assert_same(fast, slow):
    assert [(c.domain, c.value, c.measure) for c in fast] == [
        (c.domain, c.value, c.measure) for c in slow
    ]
    for f, s in zip(fast, slow, strict=True):
        assert (f.n, f.companies, f.suppressed, f.reason) == (s.n, s.companies, False, None), f
        for name in ("estimate", "ci_low", "ci_high"):
            a, b = getattr(f, name), getattr(s, name)
            if b is None:
                assert a is None, (f, name)
            else:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-9), (f, s, name)


@pytest.mark.parametrize("includes_ineligible", [True, False])
@pytest.mark.parametrize(("basis", "fpc"), [("postings", True), ("positions", False)])
def test_fast_path_equals_reference(includes_ineligible, basis, fpc):
    units, frame = synthetic_round()
    weighting = compute_weights(units, frame, frame_includes_ineligible=includes_ineligible)
    compared = 0
    for domain in DOMAINS:
        fast = estimate_cells(units, weighting, domain, basis=basis, fpc=fpc)
        slow = reference_cells(units, weighting, domain, basis=basis, fpc=fpc)
        assert_same(fast, slow)
        compared += len(fast)
    # the comparison covered real intervals, undefined shares and zero-width cells
    cells = [c for d in DOMAINS for c in estimate_cells(units, weighting, d)]
    assert any(c.estimate is None for c in cells)
    assert any(c.ci_low is not None and c.ci_high > c.ci_low for c in cells)
    assert compared >= 70


def test_fast_path_equals_reference_without_degrees_of_freedom():
    # one respondent per stratum: n - H = 0, no interval at all
    units = [
        SampledUnit(f"u{i}", f"S{i}", 0.5, True, True, o, company_id=f"c{i}")
        for i, o in enumerate(("success", "not_filled", "other_profile"))
    ]
    weighting = compute_weights(units, {f"S{i}": FrameTotal(2, 2) for i in range(3)})
    assert_same(estimate_cells(units, weighting), reference_cells(units, weighting))
    assert all(c.ci_low is None for c in estimate_cells(units, weighting) if c.estimate)
