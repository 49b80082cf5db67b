from datetime import date

import pytest

from survey_app.sampling.quality import (
    MAX_SCORE,
    WEIGHTS,
    is_probable_duplicate,
    pick_best,
    quality_score,
    titles_similar,
)

CVR = "10150817"

FULL = {
    "cvr": CVR,
    "p_number": "1012345678",
    "contact_email": "hr@example.dk",
    "contact_phone": "+4533123456",
    "contact_name": "Mette Hansen",
    "occupation_code": "7115",
    "occupation_source": "feed",
    "application_deadline": date(2024, 3, 31),
    "job_title": "Tømrer",
    "posted_on": date(2024, 3, 1),
}


def test_weights_sum_to_100():
    assert MAX_SCORE == 100
    assert quality_score(FULL) == 100
    assert quality_score({}) == 0


@pytest.mark.parametrize(
    ("drop", "weight"),
    [
        ("cvr", "cvr"),
        ("p_number", "p_number"),
        ("contact_email", "contact_email"),
        ("contact_phone", "contact_phone"),
        ("contact_name", "contact_name"),
        ("occupation_code", "occupation_from_feed"),
        ("application_deadline", "application_deadline"),
    ],
)
def test_each_missing_item_costs_its_weight(drop, weight):
    record = dict(FULL, **{drop: None})
    assert quality_score(record) == 100 - WEIGHTS[weight]


def test_classified_occupation_and_invalid_cvr_score_nothing():
    assert quality_score(dict(FULL, occupation_source="classified")) == 90
    assert quality_score(dict(FULL, cvr="10150818")) == 75


def test_titles_similar():
    assert titles_similar("Tømrer", "tømrer!")
    assert titles_similar("Tømrer", "Tømrer til Aarhus")  # containment
    assert titles_similar("Social- og sundhedsassistent", "Social og sundhedsassistenter")
    assert not titles_similar("Tømrer", "Elektriker")
    assert not titles_similar("", "Tømrer")


def posting(**changes):
    base = {"cvr": CVR, "p_number": None, "job_title": "Tømrer", "posted_on": date(2024, 3, 1)}
    return dict(base, **changes)


def test_probable_duplicates():
    a = posting()
    assert is_probable_duplicate(a, posting(posted_on=date(2024, 3, 15)))  # 14 days
    assert is_probable_duplicate(a, posting(job_title="TØMRER søges"))
    assert is_probable_duplicate(a, posting(p_number="1012345678"))  # one side has none
    assert is_probable_duplicate(
        posting(p_number="1012345678"), posting(p_number="1012345678", posted_on="2024-03-05")
    )


def test_not_duplicates():
    a = posting()
    assert not is_probable_duplicate(a, posting(posted_on=date(2024, 3, 16)))  # 15 days
    assert not is_probable_duplicate(a, posting(cvr="13585628"))
    assert not is_probable_duplicate(a, posting(job_title="Elektriker"))
    assert not is_probable_duplicate(posting(p_number="1012345678"), posting(p_number="1012345679"))
    assert not is_probable_duplicate(a, posting(posted_on=None))  # undated job order
    assert not is_probable_duplicate(posting(cvr=None), posting(cvr=None))


def test_duplicate_is_symmetric():
    a, b = posting(), posting(job_title="Tømrer til Aarhus", posted_on=date(2024, 2, 20))
    assert is_probable_duplicate(a, b) == is_probable_duplicate(b, a) is True


def test_pick_best_by_score_then_earliest_then_first():
    poor = posting(contact_email="a@example.dk")
    rich = dict(poor, contact_phone="+4533123456")
    assert pick_best([poor, rich, poor]) is rich
    early = dict(rich, posted_on=date(2024, 2, 28))
    assert pick_best([rich, early]) is early
    twin = dict(rich)
    assert pick_best([rich, twin]) is rich
    assert pick_best(iter([poor])) is poor


def test_pick_best_needs_records():
    with pytest.raises(ValueError):
        pick_best([])
