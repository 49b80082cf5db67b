"""Page validation: required answers, types, ranges, cross-checks, messages in da and en."""

from __future__ import annotations

import pytest

from survey_app.questionnaire.bank import default_bank_path, load_bank
from survey_app.questionnaire.routing import validate_page

BANK = load_bank(default_bank_path())
YES = {"respondent_role": "yes"}
DONE = {"respondent_role": "yes", "recruitment_status": 1}


# --------------------------------------------------------------------------- validation


def test_valid_pages_give_no_errors() -> None:
    assert validate_page(BANK, "role", {"respondent_role": "yes"}, {}, "da") == {}
    full = {"outcome": 1, "positions": 3, "positions_filled": 3}
    assert validate_page(BANK, "outcome", full, DONE, "da") == {}
    assert validate_page(BANK, "applicants", {"applicants": "dont_know"}, DONE, "en") == {}
    assert validate_page(BANK, "comment", {}, DONE, "da") == {}
    contact = {"name": "Ann Berg", "email": "", "phone": "+45 12 34 56 78"}
    assert validate_page(BANK, "referral", {"referral": contact}, {"respondent_role": "no"}) == {}


@pytest.mark.parametrize(
    ("page", "submitted", "before", "qid", "da", "en"),
    [
        ("role", {}, {}, "respondent_role", "Besvar venligst", "Please answer"),
        ("role", {"respondent_role": "maybe"}, {}, "respondent_role", "ja eller nej", "yes or no"),
        ("status", {"recruitment_status": 9}, YES, "recruitment_status", "Vælg én", "choose one"),
        (
            "outcome",
            {"outcome": 1, "positions": 0},
            DONE,
            "positions",
            "0 er uden for det tilladte interval. Skriv et helt tal fra 1 til 999.",
            "0 is outside the allowed range. Please enter a whole number from 1 to 999.",
        ),
        (
            "outcome",
            {"outcome": 1, "positions": "12x"},
            DONE,
            "positions",
            "Skriv et helt tal fra 1 til 999.",
            "Please enter a whole number from 1 to 999.",
        ),
        (
            "outcome",
            {"outcome": 2, "positions": 3, "positions_filled": 4},
            DONE,
            "positions_filled",
            "kan ikke være større end dit svar på",
            "cannot be larger than",
        ),
        (
            "outcome",
            {"outcome": 2, "positions": 3},
            DONE,
            "positions_filled",
            "Besvar venligst",
            "Please answer",
        ),
        (
            "applicants",
            {"applicants": 100000},
            DONE,
            "applicants",
            'fra 0 til 99.999, eller vælg "Ved ikke"',
            'from 0 to 99,999, or choose "Don\'t know"',
        ),
        (
            "applicants",
            {"applicants": 10, "qualified_applicants": 11},
            DONE,
            "qualified_applicants",
            "Skriv et helt tal fra 0 til 10",
            "whole number from 0 to 10",
        ),
        (
            "outcome",
            {"outcome": 1, "positions": "dont_know"},
            DONE,
            "positions",
            "Skriv et helt tal fra 1 til 999.",
            "Please enter a whole number from 1 to 999.",
        ),
        (
            "expected_close",
            {"expected_close": "09/2026"},
            {**YES, "recruitment_status": 2},
            "expected_close",
            "ÅÅÅÅ-MM",
            "YYYY-MM",
        ),
        (
            "expected_close",
            {"expected_close": "2026-13"},
            {**YES, "recruitment_status": 2},
            "expected_close",
            "ÅÅÅÅ-MM",
            "YYYY-MM",
        ),
        (
            "reasons",
            {"profile_gap": [1, 6]},
            {**DONE, "outcome": 2},
            "profile_gap",
            'Du har valgt "Andet (skriv hvad)"',
            'You chose "Other (please specify)"',
        ),
        (
            "reasons",
            {"unfilled_reason": [1, 99]},
            {**DONE, "outcome": 3},
            "unfilled_reason",
            "Vælg en eller flere",
            "choose one or more",
        ),
        (
            "reasons",
            {"unfilled_reason": 1},
            {**DONE, "outcome": 3},
            "unfilled_reason",
            "Vælg en eller flere",
            "choose one or more",
        ),
        (
            "channels",
            {"channels": [], "job_order": 1},
            DONE,
            "channels",
            "Besvar venligst",
            "Please answer",
        ),
        (
            "comment",
            {"comment": "x" * 2001},
            DONE,
            "comment",
            "Teksten er for lang (2001 tegn). Der er plads til højst 2000 tegn.",
            "The text is too long (2001 characters). At most 2000 characters are allowed.",
        ),
        (
            "referral",
            {"referral": {"name": "Ann", "email": "ann@", "phone": ""}},
            {"respondent_role": "no"},
            "referral",
            "E-mailadressen ser ikke rigtig ud",
            "e-mail address does not look right",
        ),
        (
            "referral",
            {"referral": {"name": "Ann", "email": "", "phone": "12 34"}},
            {"respondent_role": "no"},
            "referral",
            "8 cifre",
            "8 digits",
        ),
        (
            "referral",
            {"referral": {"name": "Ann", "email": "", "phone": ""}},
            {"respondent_role": "no"},
            "referral",
            "enten en e-mailadresse eller et telefonnummer",
            "either an e-mail address or a phone number",
        ),
        (
            "referral",
            {"referral": {"name": "", "email": "a@b.dk"}},
            {"respondent_role": "no"},
            "referral",
            'Udfyld feltet "Navn"',
            'fill in "Name"',
        ),
        (
            "referral",
            {"referral": "Ann"},
            {"respondent_role": "no"},
            "referral",
            "Udfyld navn",
            "fill in a name",
        ),
    ],
)
def test_validation_messages(page, submitted, before, qid, da, en) -> None:
    errors_da = validate_page(BANK, page, submitted, before, "da")
    errors_en = validate_page(BANK, page, submitted, before, "en")
    assert qid in errors_da and qid in errors_en
    assert da in errors_da[qid]
    assert en in errors_en[qid]


def test_validation_ignores_hidden_questions_and_bad_answers_do_not_route() -> None:
    # positions_filled is hidden when only one position was sought: its value is not checked
    assert (
        validate_page(
            BANK, "outcome", {"outcome": 1, "positions": 1, "positions_filled": 7}, DONE, "da"
        )
        == {}
    )
    # an invalid applicants count does not also demand qualified_applicants
    errors = validate_page(BANK, "applicants", {"applicants": -1}, DONE, "en")
    assert list(errors) == ["applicants"]


def test_validation_uses_submitted_values_for_the_page_itself() -> None:
    stale = {**DONE, "outcome": 2, "positions": 4, "positions_filled": 9}
    assert validate_page(BANK, "outcome", {"outcome": 1, "positions": 1}, stale, "da") == {}


def test_qualified_applicants_without_known_applicants_is_open_ended() -> None:
    errors = validate_page(
        BANK, "applicants", {"applicants": 5, "qualified_applicants": 5}, DONE, "da"
    )
    assert errors == {}


def test_unknown_page() -> None:
    with pytest.raises(KeyError):
        validate_page(BANK, "nope", {}, {}, "da")
