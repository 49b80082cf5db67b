import pytest

from survey_app.followup.disposition import disposition_for
from survey_app.followup.rates import (
    RATES,
    DispositionCounts,
    all_rates,
    con1,
    con2,
    con3,
    coop1,
    coop2,
    coop3,
    coop4,
    counts_from_dispositions,
    group_for_code,
    ref1,
    ref2,
    ref3,
    rr1,
    rr2,
    rr3,
    rr4,
    rr5,
    rr6,
)

# Worked example: I=60, P=5, R=10, NC=8, O=2, UH=10, UO=0, NE=5.
#   I+P = 65;  R+NC+O = 20;  UH+UO = 10;  contacted (I+P)+R+O = 77
#   e = (I+P+R+NC+O) / (I+P+R+NC+O+NE) = 85 / 90 = 17/18
#   e(UH+UO) = 170/18 = 85/9;  85 + 85/9 = 850/9
EXAMPLE = DispositionCounts(I=60, P=5, R=10, NC=8, O=2, UH=10, UO=0, NE=5)

EXPECTED = {
    "RR1": 60 / 95,  # I / (65 + 20 + 10)                      = 0.63158
    "RR2": 65 / 95,  # (I+P) / 95                              = 0.68421
    "RR3": 540 / 850,  # 60 / (850/9) = 540/850                = 0.63529
    "RR4": 585 / 850,  # 65 / (850/9) = 585/850                = 0.68824
    "RR5": 60 / 85,  # I / (65 + 20)                           = 0.70588
    "RR6": 65 / 85,  # (I+P) / 85                              = 0.76471
    "COOP1": 60 / 77,  # I / (65 + R 10 + O 2)                 = 0.77922
    "COOP2": 65 / 77,  # (I+P) / 77                            = 0.84416
    "COOP3": 60 / 75,  # I / (65 + R 10)                       = 0.80000
    "COOP4": 65 / 75,  # (I+P) / 75                            = 0.86667
    "REF1": 10 / 95,  # R / 95                                 = 0.10526
    "REF2": 90 / 850,  # 10 / (850/9)                          = 0.10588
    "REF3": 10 / 85,  # R / 85                                 = 0.11765
    "CON1": 77 / 95,  # 77 / (77 + NC 8 + U 10)                = 0.81053
    "CON2": 693 / 850,  # 77 / (77 + 8 + 85/9) = 77*9/850      = 0.81529
    "CON3": 77 / 85,  # 77 / (77 + 8)                          = 0.90588
}


def test_default_e_is_proportional_allocation():
    assert EXAMPLE.e == pytest.approx(17 / 18)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_worked_example(name):
    assert RATES[name](EXAMPLE) == pytest.approx(EXPECTED[name], abs=1e-12)


def test_worked_example_rounded_values():
    got = {k: round(v, 4) for k, v in all_rates(EXAMPLE).items()}
    assert got == {
        "RR1": 0.6316,
        "RR2": 0.6842,
        "RR3": 0.6353,
        "RR4": 0.6882,
        "RR5": 0.7059,
        "RR6": 0.7647,
        "COOP1": 0.7792,
        "COOP2": 0.8442,
        "COOP3": 0.8,
        "COOP4": 0.8667,
        "REF1": 0.1053,
        "REF2": 0.1059,
        "REF3": 0.1176,
        "CON1": 0.8105,
        "CON2": 0.8153,
        "CON3": 0.9059,
    }


def test_explicit_e_overrides_default():
    # e = 0.5: e(UH+UO) = 5, RR3 = 60 / 90, CON2 = 77 / 90
    c = DispositionCounts(I=60, P=5, R=10, NC=8, O=2, UH=10, UO=0, NE=5, e=0.5)
    assert rr3(c) == pytest.approx(60 / 90)
    assert con2(c) == pytest.approx(77 / 90)
    # e = 1 makes RR3 = RR1, e = 0 makes RR3 = RR5
    assert rr3(DispositionCounts(**{**_fields(EXAMPLE), "e": 1.0})) == pytest.approx(rr1(EXAMPLE))
    assert rr3(DispositionCounts(**{**_fields(EXAMPLE), "e": 0.0})) == pytest.approx(rr5(EXAMPLE))


def _fields(c: DispositionCounts) -> dict:
    return {k: getattr(c, k) for k in ("I", "P", "R", "NC", "O", "UH", "UO", "NE")}


def test_all_zero_gives_none_everywhere():
    c = DispositionCounts()
    assert c.e is None
    assert all(value is None for value in all_rates(c).values())


def test_only_unknowns_e_undefined():
    # no known-eligibility case: e undefined, so rates that need it are None; RR1 = 0/10 = 0
    c = DispositionCounts(UH=7, UO=3)
    assert c.e is None
    assert rr1(c) == 0.0
    assert rr3(c) is None and rr4(c) is None and ref2(c) is None and con2(c) is None
    assert rr5(c) is None and rr6(c) is None and ref3(c) is None and con3(c) is None
    assert coop1(c) is None and coop4(c) is None


def test_only_ineligible_gives_e_zero_and_none_rates():
    c = DispositionCounts(NE=4)
    assert c.e == 0.0
    assert rr1(c) is None and rr3(c) is None and con1(c) is None


def test_e_zero_with_unknowns_divides_by_known_only():
    # e = 0 (all known cases ineligible except NC): RR3 = 0 / (NC 2 + 0) = 0
    c = DispositionCounts(NC=2, UH=5, e=0.0)
    assert rr3(c) == 0.0
    assert con2(c) == 0.0


def test_only_non_contacts_coop_none_con_zero():
    c = DispositionCounts(NC=5)
    assert coop1(c) is None and coop2(c) is None and coop3(c) is None and coop4(c) is None
    assert con1(c) == 0.0 and con3(c) == 0.0 and ref1(c) == 0.0
    assert rr2(c) == 0.0 and rr6(c) == 0.0


def test_ordering_invariants_of_example():
    assert rr1(EXAMPLE) <= rr3(EXAMPLE) <= rr5(EXAMPLE)
    assert rr2(EXAMPLE) <= rr4(EXAMPLE) <= rr6(EXAMPLE)
    assert coop1(EXAMPLE) <= coop3(EXAMPLE) and coop2(EXAMPLE) <= coop4(EXAMPLE)
    assert ref1(EXAMPLE) <= ref2(EXAMPLE) <= ref3(EXAMPLE)
    assert con1(EXAMPLE) <= con2(EXAMPLE) <= con3(EXAMPLE)
    assert coop2(EXAMPLE) == pytest.approx(65 / 77)


@pytest.mark.parametrize("kwargs", [{"I": -1}, {"P": 1.5}, {"R": True}, {"e": 1.2}, {"e": -0.1}])
def test_invalid_counts(kwargs):
    with pytest.raises(ValueError):
        DispositionCounts(**kwargs)


@pytest.mark.parametrize(
    ("code", "group"),
    [
        ("1.1", "I"),
        ("1.2", "P"),
        ("2.111", "R"),
        ("2.12", "R"),
        ("2.21", "NC"),
        ("2.31", "O"),
        ("2.90", "O"),
        ("3.13", "UH"),
        ("3.21", "UO"),
        ("3.30", "UO"),
        ("4.32", "NE"),
        ("4.70", "NE"),
    ],
)
def test_group_for_code(code, group):
    assert group_for_code(code) == group


def test_group_for_unknown_code():
    with pytest.raises(ValueError):
        group_for_code("5.1")


def test_counts_from_dispositions_mixes_objects_and_codes():
    items = [disposition_for("1.1")] * 3 + ["1.2", "2.111", "2.21", "3.13", "3.30", "4.70"]
    c = counts_from_dispositions(items)
    assert (c.I, c.P, c.R, c.NC, c.O, c.UH, c.UO, c.NE) == (3, 1, 1, 1, 0, 1, 1, 1)
    assert c.total == 9
    assert c.e == pytest.approx(6 / 7)
    assert counts_from_dispositions([], e=0.3).e == 0.3


def test_counts_from_dispositions_reproduces_example():
    codes = (["1.1"] * 60 + ["1.2"] * 5 + ["2.12"] * 10 + ["2.21"] * 8 + ["2.36"] * 2) + (
        ["3.13"] * 10 + ["4.70"] * 5
    )
    assert all_rates(counts_from_dispositions(codes)) == pytest.approx(EXPECTED)
