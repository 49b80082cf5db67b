"""Estimates and confidence intervals against hand-computed values and closed forms."""

import math
from dataclasses import fields

import pytest
from scipy.stats import t as student_t

from survey_app.stats.estimates import Cell, estimate_cells, estimate_table
from survey_app.stats.weighting import FrameTotal, SampledUnit, compute_weights


def respondent(uid, stratum, outcome, p, area, company=None, positions=1):
    return SampledUnit(
        unit_id=uid,
        stratum=stratum,
        selection_prob=p,
        responded=True,
        eligible=True,
        outcome=outcome,
        positions=positions,
        company_id=company or f"co-{uid}",
        attributes={"rar_area": area},
    )


def two_strata_sample():
    # S1: 10 respondents, p = 0.1 (frame 100, so each weight is 10).
    #     5 success, 3 other_profile, 2 not_filled. Areas: first 6 "Nord", last 4 "Syd".
    outcomes_s1 = ["success"] * 5 + ["other_profile"] * 3 + ["not_filled"] * 2
    units = [
        respondent(f"s1-{i}", "S1", o, 0.1, "Nord" if i < 6 else "Syd", positions=1 + (i == 9))
        for i, o in enumerate(outcomes_s1)
    ]
    # S2: 4 respondents, p = 0.1 (frame 40, weight 10): success, not_filled, ongoing, other.
    #     All in "Syd"; s2-0 and s2-1 share a company.
    outcomes_s2 = ["success", "not_filled", "ongoing", "other_profile"]
    units += [
        respondent(f"s2-{i}", "S2", o, 0.1, "Syd", company="shared" if i < 2 else None)
        for i, o in enumerate(outcomes_s2)
    ]
    frame = {"S1": FrameTotal(100, 110), "S2": FrameTotal(40, 40)}
    return units, compute_weights(units, frame)


def by_key(cells):
    return {(c.value, c.measure): c for c in cells}


def test_totals_match_hand_computation():
    units, weighting = two_strata_sample()
    cells = by_key(estimate_cells(units, weighting))
    # completed: S1 10 units * 10 + S2 3 units * 10 = 130 (the ongoing one is not completed)
    # failed: S1 (3 + 2) * 10 + S2 (1 + 1) * 10 = 70
    assert cells[("Total", "completed")].estimate == pytest.approx(130)
    assert cells[("Total", "failed")].estimate == pytest.approx(70)
    assert cells[("Total", "frr")].estimate == pytest.approx(70 / 130)
    assert cells[("Total", "share_not_filled")].estimate == pytest.approx(30 / 130)
    assert cells[("Total", "share_other_profile")].estimate == pytest.approx(40 / 130)
    assert cells[("Total", "completed")].n == 13
    assert cells[("Total", "failed")].n == 7
    # 14 respondents, 13 completed; s2-0 and s2-1 share one company -> 12 companies
    assert cells[("Total", "completed")].companies == 12
    assert cells[("Total", "failed")].companies == 7


def test_domain_cells_and_additivity():
    units, weighting = two_strata_sample()
    domain_cells, totals = estimate_table(units, weighting, "rar_area")
    cells = by_key(domain_cells)
    # Nord: s1-0..s1-5 -> 5 success, 1 other_profile: FRR 1/6
    assert cells[("Nord", "frr")].estimate == pytest.approx(1 / 6)
    assert cells[("Nord", "completed")].estimate == pytest.approx(60)
    # Syd: s1-6,7 other; s1-8,9 not_filled; S2 success, not_filled, other -> 6 failed of 7
    assert cells[("Syd", "frr")].estimate == pytest.approx(6 / 7)
    assert cells[("Syd", "failed")].estimate == pytest.approx(60)
    assert cells[("Syd", "share_not_filled")].estimate == pytest.approx(3 / 7)
    total = by_key(totals)
    for measure in ("failed", "completed"):
        parts = cells[("Nord", measure)].estimate + cells[("Syd", measure)].estimate
        assert parts == pytest.approx(total[("Total", measure)].estimate)
    assert {c.domain for c in domain_cells} == {"rar_area"}


def test_positions_basis():
    units, weighting = two_strata_sample()
    cells = by_key(estimate_cells(units, weighting, basis="positions"))
    # s1-9 (not_filled) seeks 2 positions: failed positions 70 + 10, completed 130 + 10
    assert cells[("Total", "failed")].estimate == pytest.approx(80)
    assert cells[("Total", "completed")].estimate == pytest.approx(140)
    assert cells[("Total", "frr")].estimate == pytest.approx(80 / 140)


def test_intervals_contain_estimate():
    units, weighting = two_strata_sample()
    for cell in estimate_cells(units, weighting, "rar_area"):
        assert cell.ci_low <= cell.estimate <= cell.ci_high, cell
        if cell.measure.startswith(("frr", "share")):
            assert cell.ci_low >= 0 and cell.ci_high <= 1


def srs_sample(n, failed, big_n):
    units = [
        respondent(f"u{i}", "S", "not_filled" if i < failed else "success", n / big_n, "X")
        for i in range(n)
    ]
    return units, compute_weights(units, {"S": FrameTotal(big_n, big_n)})


def test_intervals_shrink_with_n():
    widths = []
    for k in (1, 4, 16):
        units, weighting = srs_sample(20 * k, 6 * k, 100_000)
        cells = by_key(estimate_cells(units, weighting))
        frr = cells[("Total", "frr")]
        assert frr.estimate == pytest.approx(0.3)
        widths.append(frr.ci_high - frr.ci_low)
    assert widths[0] > widths[1] > widths[2]
    # roughly 1 / sqrt(n): quadrupling n halves the width
    assert widths[1] / widths[0] == pytest.approx(0.5, rel=0.1)


@pytest.mark.parametrize("fpc", [True, False])
def test_srs_closed_form_within_one_stratum(fpc):
    n, k, big_n = 20, 6, 200
    units, weighting = srs_sample(n, k, big_n)
    cells = by_key(estimate_cells(units, weighting, fpc=fpc))
    p = k / n
    f = (1 - n / big_n) if fpc else 1.0
    t = student_t.ppf(0.975, n - 1)
    # proportion under SRS: var(p) = (1 - n/N) * p (1 - p) / (n - 1)
    se_p = math.sqrt(f * p * (1 - p) / (n - 1))
    frr = cells[("Total", "frr")]
    assert frr.estimate == pytest.approx(p)
    assert frr.ci_low == pytest.approx(p - t * se_p)
    assert frr.ci_high == pytest.approx(p + t * se_p)
    # count: N p with var = N^2 (1 - n/N) p (1 - p) / (n - 1)
    failed = cells[("Total", "failed")]
    assert failed.estimate == pytest.approx(big_n * p)
    assert failed.ci_high - failed.estimate == pytest.approx(t * big_n * se_p)
    # every unit completed: the completed count is fixed by grossing up, no variance
    completed = cells[("Total", "completed")]
    assert completed.estimate == pytest.approx(big_n)
    assert completed.ci_low == pytest.approx(big_n) and completed.ci_high == pytest.approx(big_n)


def test_cell_is_aggregate_only():
    names = {f.name for f in fields(Cell)}
    assert names == {
        "domain",
        "value",
        "measure",
        "estimate",
        "ci_low",
        "ci_high",
        "n",
        "companies",
        "suppressed",
        "reason",
    }
    assert not any("id" in name.split("_") or "name" in name for name in names)
    units, weighting = two_strata_sample()
    identifiers = {u.company_id for u in units} | {u.unit_id for u in units}
    for cell in estimate_cells(units, weighting, "rar_area"):
        assert isinstance(cell.companies, int) and isinstance(cell.n, int)
        for value in vars(cell).values():
            assert str(value) not in identifiers


def test_bad_basis_is_rejected():
    units, weighting = two_strata_sample()
    with pytest.raises(ValueError, match="basis"):
        estimate_cells(units, weighting, basis="jobs")


def test_zero_share_and_single_respondent_stratum():
    units = [respondent(f"u{i}", "S", "success", 0.1, "X") for i in range(6)]
    units.append(respondent("lone", "T", "not_filled", 0.5, "Y"))
    weighting = compute_weights(units, {"S": FrameTotal(60, 60), "T": FrameTotal(2, 2)})
    cells = by_key(estimate_cells(units, weighting, "rar_area"))
    # X has no failed recruitment: FRR 0 with a zero-width interval
    x = cells[("X", "frr")]
    assert (x.estimate, x.ci_low, x.ci_high) == (0.0, 0.0, 0.0)
    # T has one respondent: it adds no variance (samplics SinglePSUEst.skip), estimate still 2
    y = cells[("Y", "failed")]
    assert y.estimate == pytest.approx(2.0)
    assert y.ci_low == pytest.approx(2.0) and y.ci_high == pytest.approx(2.0)
