"""Routing expressions, the battery's routing paths, page validation and classification."""

from __future__ import annotations

import pytest

from survey_app.questionnaire.bank import default_bank_path, load_bank
from survey_app.questionnaire.expressions import Answered, BoolOp, Compare, InSet, Lit, Not, Ref
from survey_app.questionnaire.routing import (
    OUTCOMES,
    ExpressionError,
    classify,
    is_completed_attempt,
    is_failed,
    parse,
    prune_hidden,
    visible_pages,
    visible_questions,
)

BANK = load_bank(default_bank_path())
YES = {"respondent_role": "yes"}
DONE = {"respondent_role": "yes", "recruitment_status": 1}


def shown(answers: dict) -> list[str]:
    return [q.id for q in visible_questions(BANK, answers)]


# --------------------------------------------------------------------------- expressions


def test_parse_builds_a_tree() -> None:
    expr = parse("outcome in {1, 2} and positions > 1")
    assert expr == BoolOp(
        "and", (InSet(Ref("outcome"), (1, 2)), Compare(Ref("positions"), ">", Lit(1)))
    )
    assert expr.references() == {"outcome", "positions"}
    assert parse("not (a = yes or answered(b))") == Not(
        BoolOp("or", (Compare(Ref("a"), "=", Lit("yes")), Answered("b")))
    )
    assert parse("x not in {-1, 'a\\'b', \"c\"}") == InSet(Ref("x"), (-1, "a'b", "c"), True)


def test_precedence_and_binds_tighter_than_or() -> None:
    expr = parse("a = 1 or b = 2 and c = 3")
    assert isinstance(expr, BoolOp) and expr.op == "or"
    assert expr.evaluate({"a": 1}) and not expr.evaluate({"b": 2})
    assert parse("(a = 1 or b = 2) and c = 3").evaluate({"b": 2, "c": 3})


@pytest.mark.parametrize(
    ("expr", "answers", "expected"),
    [
        ("x = 1", {"x": 1}, True),
        ("x != 1", {"x": 2}, True),
        ("x != 1", {}, False),  # unknown makes comparisons false
        ("not x = 1", {}, True),
        ("x < 3", {"x": 2}, True),
        ("x <= 2", {"x": 2}, True),
        ("x > 2", {"x": 2}, False),
        ("x >= 2", {"x": 2}, True),
        ("x > 0", {"x": "dont_know"}, False),
        ("x > 0", {"x": "7"}, False),  # a string is not a number
        ("x = 1", {"x": True}, False),  # a bool is not a code
        ("x = yes", {"x": "yes"}, True),
        ("x = 'yes'", {"x": "yes"}, True),
        ("x in {1, 2}", {"x": 2}, True),
        ("x in {1, 2}", {"x": None}, False),
        ("x not in {1, 2}", {"x": 3}, True),
        ("x not in {1, 2}", {}, False),
        ("x = 2", {"x": [1, 2]}, True),  # multi: contains
        ("x != 2", {"x": [1, 3]}, True),
        ("x in {5, 2}", {"x": [1, 2]}, True),
        ("x > 1", {"x": [2]}, False),
        ("x = y", {"x": 3, "y": 3}, True),
        ("x < y", {"x": 3, "y": "dont_know"}, False),
        ("x >= '2026-03'", {"x": "2026-05"}, True),
        ("answered(x)", {"x": 0}, True),
        ("answered(x)", {"x": ""}, False),
        ("answered(x)", {"x": []}, False),
        ("answered(x)", {}, False),
    ],
)
def test_evaluate(expr: str, answers: dict, expected: bool) -> None:
    assert parse(expr).evaluate(answers) is expected


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("", 0),
        ("x =", 3),
        ("x = 1 and", 9),
        ("(x = 1", 6),
        ("x == 1", 3),
        ("x = 1 y", 6),
        ("x in {1 2}", 8),
        ("x in 1", 5),
        ("x # 1", 2),
        ("x = 'open", 4),
        ("answered x", 9),
        ("x = -", 5),
        ("x not = 1", 6),
        ("x", 1),
    ],
)
def test_parse_errors_carry_a_position(text: str, position: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.position == position
    assert f"at position {position}" in str(info.value)


def test_no_eval_of_python() -> None:
    with pytest.raises(ExpressionError):
        parse("__import__('os').system('true')")


def test_str_round_trips() -> None:
    for text in [
        "respondent_role = no",
        "outcome in {1, 2} and positions > 1",
        "not (a = 1 or b = 'x\"y') and answered(c)",
        "(a = 1 and b = 2) or c not in {-3}",
    ]:
        expr = parse(text)
        assert parse(str(expr)) == expr


# --------------------------------------------------------------------------- routing paths


def test_start() -> None:
    assert shown({}) == ["respondent_role", "comment"]


def test_role_no_asks_referral_then_ends() -> None:
    answers = {"respondent_role": "no", "referral": {"name": "Ann", "email": "a@b.dk"}}
    assert shown(answers) == ["respondent_role", "referral"]
    assert [p.id for p in visible_pages(BANK, answers)] == ["role", "referral"]


def test_role_yes_skips_referral() -> None:
    assert shown(YES) == ["respondent_role", "recruitment_status", "comment"]


def test_ongoing_asks_expected_close_then_ends() -> None:
    answers = {**YES, "recruitment_status": 2, "expected_close": "2026-09"}
    assert shown(answers) == ["respondent_role", "recruitment_status", "expected_close"]
    assert [p.id for p in visible_pages(BANK, answers)] == ["role", "status", "expected_close"]


@pytest.mark.parametrize("status", [3, 4])
def test_withdrawn_or_unrecognised_ends(status: int) -> None:
    assert shown({**YES, "recruitment_status": status, "comment": "x"}) == [
        "respondent_role",
        "recruitment_status",
    ]


def test_finished_without_outcome_yet() -> None:
    assert shown(DONE) == [
        "respondent_role",
        "recruitment_status",
        "outcome",
        "positions",
        "applicants",
        "channels",
        "job_order",
        "comment",
    ]


@pytest.mark.parametrize(
    ("outcome", "follow_up"), [(1, []), (2, ["profile_gap"]), (3, ["unfilled_reason"])]
)
def test_outcome_paths(outcome: int, follow_up: list[str]) -> None:
    ids = shown({**DONE, "outcome": outcome, "positions": 1})
    assert [i for i in ids if i in ("profile_gap", "unfilled_reason")] == follow_up


@pytest.mark.parametrize(
    ("outcome", "positions", "asked"),
    [(1, 2, True), (2, 5, True), (3, 5, False), (1, 1, False), (2, "dont_know", False)],
)
def test_positions_filled_only_for_hires_of_several(outcome, positions, asked) -> None:
    ids = shown({**DONE, "outcome": outcome, "positions": positions})
    assert ("positions_filled" in ids) is asked


@pytest.mark.parametrize(
    ("applicants", "asked"), [(0, False), (1, True), (250, True), ("dont_know", False)]
)
def test_qualified_applicants_only_when_there_were_applicants(applicants, asked) -> None:
    assert ("qualified_applicants" in shown({**DONE, "applicants": applicants})) is asked


def test_stale_answers_do_not_steer_routing() -> None:
    # recruitment_status hidden (role = no), so its answer must not open the outcome questions
    answers = {"respondent_role": "no", "recruitment_status": 1, "outcome": 2, "positions": 3}
    assert shown(answers) == ["respondent_role", "referral"]


def test_prune_hidden_drops_answers_routing_hides() -> None:
    answers = {
        **DONE,
        "outcome": 1,
        "positions": 1,
        "positions_filled": 1,
        "profile_gap": [6],
        "profile_gap_other": "x",
        "expected_close": "2026-01",
        "unknown_key": 1,
    }
    assert prune_hidden(BANK, answers) == {**DONE, "outcome": 1, "positions": 1}
    changed_mind = {**DONE, "recruitment_status": 2, "outcome": 1, "expected_close": "2026-10"}
    assert prune_hidden(BANK, changed_mind) == {
        **YES,
        "recruitment_status": 2,
        "expected_close": "2026-10",
    }


def test_prune_hidden_keeps_other_text_only_when_other_is_chosen() -> None:
    base = {**DONE, "outcome": 2}
    kept = prune_hidden(BANK, {**base, "profile_gap": [1, 6], "profile_gap_other": "Kørekort"})
    assert kept["profile_gap_other"] == "Kørekort"
    dropped = prune_hidden(BANK, {**base, "profile_gap": [1], "profile_gap_other": "Kørekort"})
    assert "profile_gap_other" not in dropped


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("answers", "expected", "completed", "failed"),
    [
        ({**DONE, "outcome": 1}, "success", True, False),
        ({**DONE, "outcome": 2}, "other_profile", True, True),
        ({**DONE, "outcome": 3}, "not_filled", True, True),
        ({**YES, "recruitment_status": 2}, "ongoing", False, False),
        ({**YES, "recruitment_status": 3}, "ineligible", False, False),
        ({**YES, "recruitment_status": 4}, "ineligible", False, False),
        ({"respondent_role": "no", "referral": {"name": "A"}}, "referred", False, False),
        ({}, "incomplete", False, False),
        (YES, "incomplete", False, False),
        (DONE, "incomplete", False, False),
        ({**DONE, "outcome": 7}, "incomplete", False, False),
        ({**DONE, "outcome": "1"}, "incomplete", False, False),
    ],
)
def test_classify(answers, expected, completed, failed) -> None:
    assert classify(answers) == expected
    assert expected in OUTCOMES
    assert is_completed_attempt(answers) is completed
    assert is_failed(answers) is failed
