from datetime import datetime, timedelta

import pytest

from survey_app.followup.disposition import (
    CODES,
    Attempt,
    CaseHistory,
    derive_disposition,
    disposition_for,
)

T0 = datetime(2025, 3, 3, 9, 0)


def attempts(*pairs: tuple[str, str]) -> list[Attempt]:
    return [Attempt(ch, out, T0 + timedelta(hours=i)) for i, (ch, out) in enumerate(pairs)]


def code(**kwargs) -> str:
    return derive_disposition(CaseHistory(**kwargs)).code


# Rule 1: screened out by the questionnaire
@pytest.mark.parametrize("state", ["started", "completed"])
def test_rule1_ineligible_classification_is_4_70(state):
    d = derive_disposition(CaseHistory(questionnaire_state=state, classification="ineligible"))
    assert (d.code, d.group) == ("4.70", "NE")


def test_rule1_beats_refusal_and_contact():
    assert (
        code(
            questionnaire_state="started",
            classification="ineligible",
            refused=True,
            attempts=attempts(("phone", "refusal")),
        )
        == "4.70"
    )


# Rule 2: complete
@pytest.mark.parametrize("cls", ["success", "other_profile", "not_filled", "ongoing", None])
def test_rule2_completed_is_1_1(cls):
    d = derive_disposition(
        CaseHistory(questionnaire_state="completed", classification=cls, answered_share=1.0)
    )
    assert (d.code, d.group, d.label_en) == ("1.1", "I", "Complete")
    assert d.label_da


def test_rule2_complete_wins_over_earlier_refusal_and_opt_out():
    history = CaseHistory(
        questionnaire_state="completed",
        classification="success",
        answered_share=1.0,
        refused=True,
        opted_out=True,
        attempts=attempts(("email", "delivered"), ("phone", "refusal")),
    )
    assert derive_disposition(history).code == "1.1"


# Rule 3: partial
def test_rule3_partial_needs_half_and_key_outcome():
    assert code(questionnaire_state="started", classification="not_filled", answered_share=0.5) == (
        "1.2"
    )
    assert code(questionnaire_state="started", classification="success", answered_share=0.9) == (
        "1.2"
    )


def test_rule3_completed_but_incomplete_classification_is_not_complete():
    assert code(
        questionnaire_state="completed", classification="incomplete", answered_share=0.8
    ) == ("2.12")


# Rule 4: ineligibility learned by phone
def test_rule4_not_eligible_by_phone_is_4_70():
    assert code(attempts=attempts(("phone", "no_answer"), ("phone", "not_eligible"))) == "4.70"


def test_rule4_company_closed_is_4_10():
    d = derive_disposition(CaseHistory(attempts=attempts(("phone", "company_closed"))))
    assert (d.code, d.group) == ("4.10", "NE")


def test_rule4_beats_break_off():
    assert code(questionnaire_state="started", attempts=attempts(("phone", "company_closed"))) == (
        "4.10"
    )


# Rule 5: break-off
def test_rule5_below_threshold_is_break_off():
    d = derive_disposition(
        CaseHistory(questionnaire_state="started", classification="success", answered_share=0.49)
    )
    assert (d.code, d.group) == ("2.12", "R")


def test_rule5_without_key_outcome_is_break_off_even_when_mostly_answered():
    assert code(questionnaire_state="started", classification="incomplete", answered_share=0.9) == (
        "2.12"
    )
    assert code(questionnaire_state="started", classification=None, answered_share=0.9) == "2.12"


def test_rule5_phone_interview_started_without_data_is_break_off():
    assert code(attempts=attempts(("phone", "interview_started"))) == "2.12"


def test_rule5_break_off_beats_refusal():
    assert code(questionnaire_state="started", answered_share=0.2, refused=True) == "2.12"


# Rule 6: refusal
def test_rule6_phone_refusal_is_company_refusal():
    d = derive_disposition(CaseHistory(attempts=attempts(("phone", "refusal"))))
    assert (d.code, d.group) == ("2.111", "R")


def test_rule6_refused_flag_is_company_refusal():
    assert code(refused=True) == "2.111"


def test_rule6_opt_out_is_known_respondent_refusal():
    assert code(opted_out=True) == "2.112"
    assert code(attempts=attempts(("email", "delivered"), ("email", "opted_out"))) == "2.112"


def test_rule6_refusal_beats_callback():
    assert code(attempts=attempts(("phone", "callback"), ("phone", "refusal"))) == "2.111"


# Rule 7: contact without interview
@pytest.mark.parametrize("outcome", ["callback", "referred"])
def test_rule7_contact_without_interview_is_2_21(outcome):
    d = derive_disposition(
        CaseHistory(attempts=attempts(("phone", "no_answer"), ("phone", outcome)))
    )
    assert (d.code, d.group) == ("2.21", "NC")


def test_rule7_referral_from_questionnaire_is_2_21_not_break_off():
    assert code(questionnaire_state="started", classification="referred") == "2.21"
    assert code(questionnaire_state="completed", classification="referred") == "2.21"


def test_rule7_contacted_flag():
    assert code(contacted=True, attempts=attempts(("phone", "no_answer"))) == "2.21"


# Rule 8: line works, nobody reached
def test_rule8_answering_machine_wins_over_no_answer_and_busy():
    pairs = (("phone", "no_answer"), ("phone", "answering_machine"), ("phone", "busy"))
    assert code(attempts=attempts(*pairs)) == "3.14"


def test_rule8_always_busy():
    d = derive_disposition(CaseHistory(attempts=attempts(("phone", "busy"), ("phone", "busy"))))
    assert (d.code, d.group) == ("3.12", "UH")


def test_rule8_no_answer():
    assert code(attempts=attempts(("phone", "busy"), ("phone", "no_answer"))) == "3.13"


def test_rule8_phone_outranks_bounced_mail_and_dead_number():
    pairs = (("email", "bounced"), ("phone", "wrong_number"), ("phone", "no_answer"))
    assert code(attempts=attempts(*pairs)) == "3.13"


# Rule 9: invitation delivered, no reaction
def test_rule9_delivered_without_reaction_is_3_19():
    assert code(attempts=attempts(("email", "sent"), ("email", "delivered"))) == "3.19"
    assert code(attempts=attempts(("letter", "sent"))) == "3.19"


def test_rule9_one_live_channel_is_enough():
    pairs = (("email", "bounced"), ("sms", "delivered"), ("phone", "disconnected_number"))
    assert code(attempts=attempts(*pairs)) == "3.19"


# Rule 10: no working contact route (a dead number does not make the company ineligible)
def test_rule10_all_bounced_is_unknown_eligibility():
    d = derive_disposition(
        CaseHistory(attempts=attempts(("email", "sent"), ("email", "bounced"), ("sms", "failed")))
    )
    assert (d.code, d.group) == ("3.30", "UO")


@pytest.mark.parametrize("outcome", ["wrong_number", "disconnected_number"])
def test_rule10_dead_number_is_not_4_x(outcome):
    d = derive_disposition(CaseHistory(attempts=attempts(("email", "bounced"), ("phone", outcome))))
    assert d.code == "3.30"
    assert d.group != "NE"


# Rule 11: never attempted
def test_rule11_nothing_attempted():
    d = derive_disposition(CaseHistory())
    assert (d.code, d.group) == ("3.11", "UH")


# Validation and catalogue
def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError):
        Attempt("phone", "delivered", T0)
    with pytest.raises(ValueError):
        Attempt("fax", "sent", T0)
    with pytest.raises(ValueError):
        CaseHistory(answered_share=1.5)
    with pytest.raises(ValueError):
        CaseHistory(questionnaire_state="done")
    with pytest.raises(ValueError):
        CaseHistory(classification="maybe")
    with pytest.raises(ValueError):
        disposition_for("9.99")


def test_catalogue_labels_are_bilingual_and_grouped():
    for c in CODES:
        d = disposition_for(c)
        assert d.label_en and d.label_da
        assert d.group in {"I", "P", "R", "NC", "O", "UH", "UO", "NE"}


def test_case_history_is_frozen_and_accepts_a_list():
    history = CaseHistory(attempts=attempts(("phone", "busy")))
    assert isinstance(history.attempts, tuple)
    with pytest.raises(AttributeError):
        history.refused = True  # type: ignore[misc]
