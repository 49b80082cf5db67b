"""Matching a person's address or number in stored values and free text."""

from __future__ import annotations

import pytest

from survey_app.core.subject_match import (
    SubjectValueError,
    like_pattern,
    mentions,
    normalise,
    same,
)

NUMBER = "+4531987654"


@pytest.mark.parametrize(
    "raw", ["31987654", "31 98 76 54", "+45 31 98 76 54", "0045 3198-7654", "(+45) 3198 7654"]
)
def test_every_notation_of_a_danish_number_is_one_number(raw):
    assert normalise("phone", raw) == NUMBER
    assert same("phone", raw, NUMBER)
    # the cheap SQL filter lets every notation through
    pattern = like_pattern("phone", NUMBER).strip("%").split("%")
    position = 0
    for digit in pattern:
        position = raw.index(digit, position) + 1


def test_emails_compare_lower_cased_and_bad_values_say_what_is_wrong():
    assert normalise("email", " Karen.T@Firma.DK ") == "karen.t@firma.dk"
    assert same("email", "KAREN.T@firma.dk", "karen.t@firma.dk")
    assert not same("email", "karen.t@firma.dk.example", "karen.t@firma.dk")
    with pytest.raises(SubjectValueError, match="'karen@' is not an e-mail address"):
        normalise("email", "karen@")
    with pytest.raises(SubjectValueError, match="'12' is not a valid phone number"):
        normalise("phone", "12")
    with pytest.raises(SubjectValueError, match="unknown kind"):
        normalise("fax", "12")
    assert not same("phone", "not a number", NUMBER)


def test_free_text_mentions_match_whole_addresses_and_numbers_only():
    assert mentions("phone", "Ring til Karen på 31-98-76-54 i morgen.", NUMBER)
    assert mentions("phone", {"name": "Karen", "phone": "+45 3198 7654"}, NUMBER)
    assert not mentions("phone", "Ring på 31 98 76 55", NUMBER)
    assert mentions("email", ["Skriv til Karen.T@firma.dk."], "karen.t@firma.dk")
    assert not mentions("email", "skriv til ekaren.t@firma.dk", "karen.t@firma.dk")
    # an underscore or percent in an address is literal in the SQL filter
    assert like_pattern("email", "a_b%c@x.dk") == "%a\\_b\\%c@x.dk%"
