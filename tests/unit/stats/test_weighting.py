"""Weights of a hand-made sample, checked against plain arithmetic written out below."""

import pytest

from survey_app.stats.weighting import (
    EmptyStratumError,
    FrameTotal,
    SampledUnit,
    compute_weights,
)


def unit(uid, stratum, p, responded, eligible, outcome=None, positions=1, company=None):
    return SampledUnit(
        unit_id=uid,
        stratum=stratum,
        selection_prob=p,
        responded=responded,
        eligible=eligible,
        outcome=outcome,
        positions=positions,
        company_id=company or f"co-{uid}",
        attributes={"rar_area": "Hovedstaden"},
    )


# Stratum A: every unit has p = 0.1, so d = 10.
#   a1..a3 eligible respondents (rr), a4 eligible non-respondent (nr), a5 ineligible (in),
#   a6 unknown eligibility (uk).  D_rr = 30, D_nr = 10, D_in = 10, D_uk = 10.
# Stratum B: unequal probabilities.
#   b1 p=0.5 (d=2) rr, b2 p=0.25 (d=4) rr, b3 p=0.25 (d=4) nr, b4 p=0.5 (d=2) uk.
#   D_rr = 6, D_nr = 4, D_in = 0, D_uk = 2.
# Stratum C: p = 0.2 (d=5), three respondents, nothing to adjust.
SAMPLE = [
    unit("a1", "A", 0.1, True, True, "success", positions=2),
    unit("a2", "A", 0.1, True, True, "not_filled"),
    unit("a3", "A", 0.1, True, True, "ongoing"),
    unit("a4", "A", 0.1, False, True),
    unit("a5", "A", 0.1, True, False, "ineligible"),
    unit("a6", "A", 0.1, False, None),
    unit("b1", "B", 0.5, True, True, "other_profile"),
    unit("b2", "B", 0.25, True, True, "success"),
    unit("b3", "B", 0.25, False, True),
    unit("b4", "B", 0.5, False, None),
    unit("c1", "C", 0.2, True, True, "success"),
    unit("c2", "C", 0.2, True, True, "success"),
    unit("c3", "C", 0.2, True, True, "not_filled"),
]
FRAME = {
    "A": FrameTotal(postings=100, positions=150),
    "B": FrameTotal(postings=60, positions=60),
    "C": FrameTotal(postings=15, positions=20),
}


def test_weights_match_hand_arithmetic():
    result = compute_weights(SAMPLE, FRAME)
    w = result.weights
    # A: eligible rate e = (30 + 10) / (30 + 10 + 10) = 0.8
    #    unknown factor a_uk = (30 + 10 + 10 + 10) / (30 + 10 + 10) = 1.2
    #    non-response factor a_nr = (30 + 10) / 30 = 4/3
    #    w1(rr) = 10 * 4/3 * 1.2 = 16; sum over rr = 48 = 30 + 10 + 0.8 * 10
    #    grossing up g = 100 / 48, final = 16 * 100 / 48 = 33.333...
    for uid in ("a1", "a2", "a3"):
        assert w[uid] == pytest.approx(16 * 100 / 48)
    assert w["a4"] == 0 and w["a6"] == 0
    assert w["a5"] == pytest.approx(10 * 1.2)  # ineligible keeps d * a_uk, not grossed up
    # B: e = 1, a_uk = 12 / 10 = 1.2, a_nr = 10 / 6
    #    w1(b1) = 2 * 10/6 * 1.2 = 4, w1(b2) = 4 * 10/6 * 1.2 = 8, sum 12 = 6 + 4 + 1 * 2
    #    g = 60 / 12 = 5
    assert w["b1"] == pytest.approx(20.0)
    assert w["b2"] == pytest.approx(40.0)
    assert w["b3"] == 0 and w["b4"] == 0
    # C: a_uk = a_nr = 1, w1 = 5, sum 15, g = 15 / 15 = 1
    for uid in ("c1", "c2", "c3"):
        assert w[uid] == pytest.approx(5.0)


def test_eligible_respondents_sum_to_frame_postings():
    result = compute_weights(SAMPLE, FRAME)
    for stratum, total in FRAME.items():
        rr = [u for u in SAMPLE if u.stratum == stratum and u.response_code == "rr"]
        assert sum(result.weights[u.unit_id] for u in rr) == pytest.approx(total.postings)


def test_diagnostics():
    d = compute_weights(SAMPLE, FRAME).strata
    a = d["A"]
    assert (a.n_sampled, a.n_respondents, a.n_eligible_respondents) == (6, 4, 3)
    assert (a.n_nonrespondents, a.n_ineligible, a.n_unknown) == (1, 1, 1)
    assert a.design_weight_sum == pytest.approx(60)
    assert a.eligible_rate == pytest.approx(0.8)
    assert a.unknown_factor == pytest.approx(1.2)
    assert a.nonresponse_factor == pytest.approx(4 / 3)
    assert a.poststrat_factor == pytest.approx(100 / 48)
    assert a.final_weight_sum == pytest.approx(100)
    # positions: a1 has 2, a2 and a3 have 1 -> (2 + 1 + 1) * 100 / 3
    assert a.estimated_positions == pytest.approx(400 / 3)
    assert a.frame_positions == 150
    b = d["B"]
    assert b.nonresponse_factor == pytest.approx(10 / 6)
    assert b.poststrat_factor == pytest.approx(5)
    assert d["C"].poststrat_factor == pytest.approx(1)
    assert d["C"].merged_strata == ("C",)


def test_frame_counting_ineligible_postings():
    result = compute_weights(SAMPLE, FRAME, frame_includes_ineligible=True)
    # A: rr and in are grossed up together: g = 100 / (48 + 12) = 5/3
    #    rr final = 16 * 5/3 = 26.667, sum 80 = 100 * eligible rate 0.8
    assert result.weights["a1"] == pytest.approx(16 * 5 / 3)
    assert result.weights["a5"] == pytest.approx(12 * 5 / 3)
    assert result.strata["A"].final_weight_sum == pytest.approx(80)


def test_stratum_without_respondents_is_named():
    sample = [*SAMPLE, unit("d1", "D", 0.5, False, True), unit("d2", "D", 0.5, False, None)]
    frame = {**FRAME, "D": FrameTotal(postings=10, positions=10)}
    with pytest.raises(EmptyStratumError) as err:
        compute_weights(sample, frame)
    assert err.value.strata == ("D",)
    assert "D" in str(err.value)


def test_collapse_into_fallback_stratum():
    sample = [*SAMPLE, unit("d1", "D", 0.5, False, True)]
    frame = {**FRAME, "D": FrameTotal(postings=10, positions=12)}
    result = compute_weights(sample, frame, fallback={"D": "C"})
    # Class C now holds c1..c3 (d=5, rr) and d1 (d=2, nr): a_nr = (15 + 2) / 15,
    # w1 = 5 * 17/15 = 17/3, sum 17; frame 15 + 10 = 25, g = 25 / 17, final = 25 / 3.
    for uid in ("c1", "c2", "c3"):
        assert result.weights[uid] == pytest.approx(25 / 3)
    assert result.weight_class["d1"] == "C"
    c = result.strata["C"]
    assert c.merged_strata == ("C", "D")
    assert (c.frame_postings, c.frame_positions) == (25, 32)
    assert "D" not in result.strata


def test_frame_stratum_without_sample_needs_fallback():
    frame = {**FRAME, "E": FrameTotal(postings=5, positions=5)}
    with pytest.raises(EmptyStratumError, match="E"):
        compute_weights(SAMPLE, frame)
    result = compute_weights(SAMPLE, frame, fallback={"E": "C"})
    assert result.strata["C"].final_weight_sum == pytest.approx(20)


def test_missing_frame_total_and_cycles_are_errors():
    with pytest.raises(EmptyStratumError, match="frame total"):
        compute_weights(SAMPLE, {"A": FRAME["A"], "B": FRAME["B"]})
    with pytest.raises(ValueError, match="cycle"):
        compute_weights(SAMPLE, FRAME, fallback={"A": "B", "B": "A"})
    with pytest.raises(ValueError, match="duplicate"):
        compute_weights([SAMPLE[0], SAMPLE[0]], FRAME)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"selection_prob": 0},
        {"selection_prob": 1.5},
        {"positions": 0},
        {"outcome": "maybe"},
        {"outcome": "ineligible", "eligible": True},
        {"outcome": "success", "eligible": False},
    ],
)
def test_unit_validation(kwargs):
    base = {
        "unit_id": "x",
        "stratum": "A",
        "selection_prob": 0.5,
        "responded": True,
        "eligible": True,
        "outcome": "success",
    }
    with pytest.raises(ValueError):
        SampledUnit(**{**base, **kwargs})
