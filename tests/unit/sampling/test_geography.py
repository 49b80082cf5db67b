from collections import Counter

import pytest

from survey_app.sampling import geography
from survey_app.sampling.geography import (
    RAR_AREAS,
    REGIONS,
    Municipality,
    all_municipalities,
    municipality,
)


def test_exactly_98_unique_municipalities():
    towns = all_municipalities()
    assert len(towns) == 98
    assert len({m.code for m in towns}) == 98
    assert len({m.name for m in towns}) == 98
    assert [int(m.code) for m in towns] == sorted(int(m.code) for m in towns)


def test_eight_rar_areas_and_five_regions_all_used():
    assert len(RAR_AREAS) == 8
    assert len(REGIONS) == 5
    towns = all_municipalities()
    assert {m.rar_area for m in towns} == set(RAR_AREAS)
    assert {m.region for m in towns} == set(REGIONS)


def test_counts_per_region_and_rar_area():
    towns = all_municipalities()
    assert Counter(m.region for m in towns) == {
        "Hovedstaden": 29,
        "Sjælland": 17,
        "Syddanmark": 22,
        "Midtjylland": 19,
        "Nordjylland": 11,
    }
    assert Counter(m.rar_area for m in towns) == {
        "RAR Hovedstaden": 28,
        "RAR Bornholm": 1,
        "RAR Sjælland": 17,
        "RAR Fyn": 10,
        "RAR Sydjylland": 12,
        "RAR Østjylland": 11,
        "RAR Vestjylland": 8,
        "RAR Nordjylland": 11,
    }


def test_rar_areas_nest_inside_regions():
    region_of_rar: dict[str, set[str]] = {}
    for m in all_municipalities():
        region_of_rar.setdefault(m.rar_area, set()).add(m.region)
    assert all(len(regions) == 1 for regions in region_of_rar.values())


@pytest.mark.parametrize(
    ("code", "name", "region", "rar"),
    [
        ("101", "København", "Hovedstaden", "RAR Hovedstaden"),
        ("400", "Bornholm", "Hovedstaden", "RAR Bornholm"),
        ("825", "Læsø", "Nordjylland", "RAR Nordjylland"),
        ("851", "Aalborg", "Nordjylland", "RAR Nordjylland"),
        ("561", "Esbjerg", "Syddanmark", "RAR Sydjylland"),
        ("461", "Odense", "Syddanmark", "RAR Fyn"),
        ("492", "Ærø", "Syddanmark", "RAR Fyn"),
        ("751", "Aarhus", "Midtjylland", "RAR Østjylland"),
        ("657", "Herning", "Midtjylland", "RAR Vestjylland"),
        ("630", "Vejle", "Syddanmark", "RAR Sydjylland"),
        ("615", "Horsens", "Midtjylland", "RAR Østjylland"),
        ("773", "Morsø", "Nordjylland", "RAR Nordjylland"),
        ("265", "Roskilde", "Sjælland", "RAR Sjælland"),
    ],
)
def test_spot_checks(code, name, region, rar):
    assert municipality(code) == Municipality(code, name, region, rar)


def test_code_forms_are_normalised():
    assert municipality("0101") == municipality("101") == municipality(101)
    assert municipality(" 851 ").name == "Aalborg"


@pytest.mark.parametrize("code", ["411", "999", "0", "", None, "abc", "10a", "00101", True])
def test_unknown_or_malformed_codes(code):
    assert municipality(code) is None


def test_christianso_is_not_a_municipality():
    assert all(m.code != "411" for m in all_municipalities())


def test_normalise_code():
    assert geography.normalise_code("0400") == "400"
    assert geography.normalise_code("١٠١") is None  # non-ASCII digits
