import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey_app.sampling.allocation import (
    allocate,
    inclusion_probabilities,
    occupation_group,
    stratum_key,
)


def test_stratum_key_uses_major_group_and_rar_area():
    assert stratum_key("712410", "RAR Fyn") == "7|RAR Fyn"
    assert stratum_key("2221", None) == "2|unknown"
    assert stratum_key(None, "RAR Bornholm") == "unknown|RAR Bornholm"
    assert occupation_group("") == "unknown"


def test_proportional_sums_and_largest_remainder():
    pops = {"a": 50, "b": 30, "c": 20}
    assert allocate(pops, 10) == {"a": 5, "b": 3, "c": 2}
    # quotas 3.33, 3.33, 3.33: one leftover unit, ties go to the stratum key order
    assert allocate({"x": 10, "y": 10, "z": 10}, 10) == {"x": 4, "y": 3, "z": 3}
    # quotas 6.5, 2.6, 0.9 -> floors 6, 2, 0 and the two leftovers to c (0.9) and b (0.6)
    assert allocate({"a": 65, "b": 26, "c": 9}, 10) == {"a": 6, "b": 3, "c": 1}


def test_n_at_least_the_population_takes_everything():
    pops = {"a": 3, "b": 0, "c": 7}
    assert allocate(pops, 10) == pops
    assert allocate(pops, 1000) == pops


def test_minimum_allocation_gives_each_non_empty_stratum_m():
    pops = {"big": 1000, "mid": 100, "small": 2, "empty": 0}
    alloc = allocate(pops, 50, "minimum", 5)
    assert sum(alloc.values()) == 50
    assert alloc["small"] == 2  # capped at its population
    assert alloc["mid"] >= 5 and alloc["big"] > alloc["mid"]
    assert alloc["empty"] == 0
    proportional = allocate(pops, 50)
    assert proportional["mid"] == 5 and proportional["small"] == 0


def test_minimum_larger_than_n_still_sums_to_n():
    pops = {"a": 100, "b": 100, "c": 100, "d": 100}
    alloc = allocate(pops, 6, "minimum", 5)
    assert sum(alloc.values()) == 6 and max(alloc.values()) <= 5


def test_zero_size_and_empty_frame():
    assert allocate({"a": 5}, 0) == {"a": 0}
    assert allocate({}, 10) == {}
    assert allocate({"a": 0}, 10) == {"a": 0}


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown allocation"):
        allocate({"a": 1}, 1, "neyman")
    with pytest.raises(ValueError):
        allocate({"a": -1}, 1)
    with pytest.raises(ValueError):
        allocate({"a": 1}, 1, "minimum", -1)


def test_inclusion_probabilities():
    pops = {"a": 50, "b": 30, "c": 0}
    probs = inclusion_probabilities(pops, allocate(pops, 16))
    assert probs == {"a": 10 / 50, "b": 6 / 30, "c": 0.0}


populations = st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 500), max_size=12)


@given(populations, st.integers(0, 3000), st.sampled_from(["proportional", "minimum"]),
       st.integers(0, 20))  # fmt: skip
def test_allocation_sums_to_min_n_total_and_respects_caps(pops, n, method, m):
    alloc = allocate(pops, n, method, m)
    assert set(alloc) == set(pops)
    assert sum(alloc.values()) == min(n, sum(pops.values()))
    assert all(0 <= alloc[k] <= pops[k] for k in pops)
    if method == "minimum" and n >= sum(min(m, size) for size in pops.values()):
        assert all(alloc[k] >= min(m, pops[k]) for k in pops)
    probs = inclusion_probabilities(pops, alloc)
    assert all(0.0 <= p <= 1.0 for p in probs.values())
