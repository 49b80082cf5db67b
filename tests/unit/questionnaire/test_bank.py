"""The question bank file: loading, schema and semantic checks."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import jsonschema
import pytest
import yaml

from survey_app.questionnaire.bank import (
    SCHEMA_PATH,
    BankError,
    default_bank_path,
    load_bank,
    parse_bank,
)

from .bank_data import PUBLISHED_HASH_2026_1, SOURCE, bank_error, question, raw_bank

# --------------------------------------------------------------------------- the real bank


def test_real_bank_loads() -> None:
    bank = load_bank(default_bank_path())
    assert bank.version == "2026.1"
    assert bank.source == SOURCE
    ids = [q.id for q in bank.ordered_questions()]
    assert ids == [
        "respondent_role",
        "referral",
        "recruitment_status",
        "expected_close",
        "outcome",
        "positions",
        "positions_filled",
        "applicants",
        "qualified_applicants",
        "profile_gap",
        "unfilled_reason",
        "channels",
        "job_order",
        "comment",
    ]
    assert 6 <= len(bank.pages) <= 9
    assert bank.question("referral").type == "contact"
    assert [f.name for f in bank.question("referral").fields] == ["name", "email", "phone"]
    assert bank.question("positions_filled").max == "positions"
    assert bank.question("qualified_applicants").max == "applicants"
    assert bank.question("applicants").dont_know
    assert bank.question("comment").max_length == 2000
    assert not bank.question("comment").required
    assert bank.question("profile_gap").other_codes == {6}
    assert bank.page_of("positions_filled").id == "outcome"
    for placeholder in ("{job_title}", "{posted_on}", "{source_name}"):
        assert placeholder in bank.intro.da and placeholder in bank.intro.en


def test_real_bank_passes_the_json_schema_directly() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(raw_bank())


def test_to_dict_round_trips() -> None:
    bank = load_bank(default_bank_path())
    assert bank.to_dict() == raw_bank()
    again = parse_bank(bank.to_dict(), SOURCE)
    assert again == bank
    assert again.content_hash == bank.content_hash


def test_published_bank_is_unchanged() -> None:
    assert load_bank(default_bank_path()).content_hash == PUBLISHED_HASH_2026_1


def test_content_hash_changes_with_wording() -> None:
    data = raw_bank()
    question(data, "comment")["text"]["en"] = "Anything else?"
    assert parse_bank(data, SOURCE).content_hash != PUBLISHED_HASH_2026_1


def test_banks_are_frozen() -> None:
    bank = load_bank(default_bank_path())
    with pytest.raises(dataclasses.FrozenInstanceError):
        bank.version = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- bad banks


def mutate_missing_text(d):
    del question(d, "outcome")["text"]


def mutate_bad_type(d):
    question(d, "outcome")["type"] = "dropdown"


def mutate_extra_field(d):
    question(d, "outcome")["colour"] = "red"


def mutate_options_on_integer(d):
    question(d, "positions")["options"] = question(d, "outcome")["options"]


def mutate_missing_english(d):
    del question(d, "channels")["options"][0]["label"]["en"]


def mutate_single_without_options(d):
    del question(d, "job_order")["options"]


def mutate_max_length_on_integer(d):
    question(d, "applicants")["max_length"] = 5


@pytest.mark.parametrize(
    ("mutate", "where", "field"),
    [
        (mutate_missing_text, "question 'outcome'", "field 'text'"),
        (mutate_bad_type, "question 'outcome'", "field 'type'"),
        (mutate_extra_field, "question 'outcome'", "field 'colour'"),
        (mutate_options_on_integer, "question 'positions'", "field 'options'"),
        (mutate_missing_english, "question 'channels'", "field 'options.0.label.en'"),
        (mutate_single_without_options, "question 'job_order'", "field 'options'"),
        (mutate_max_length_on_integer, "question 'applicants'", "field 'max_length'"),
    ],
)
def test_schema_errors_name_file_question_and_field(mutate, where, field) -> None:
    data = raw_bank()
    mutate(data)
    message = bank_error(data)
    line = next(m for m in message.splitlines() if where in m and field in m)
    assert line.startswith(f"{SOURCE}: {where} {field}")


def test_schema_error_at_top_level() -> None:
    data = raw_bank()
    data["version"] = "v1"
    assert "bank-2026.1.yaml: field 'version'" in bank_error(data)
    data = raw_bank()
    del data["intro"]
    assert "bank-2026.1.yaml: field 'intro': 'intro' is a required property" in bank_error(data)


def test_schema_error_in_page() -> None:
    data = raw_bank()
    data["pages"][0]["questions"] = []
    assert "bank-2026.1.yaml: page 'role' field 'questions'" in bank_error(data)


def _expect(data: dict[str, Any], *fragments: str) -> str:
    message = bank_error(data)
    assert any(all(f in line for f in fragments) for line in message.splitlines()), message
    return message


def test_duplicate_question_id() -> None:
    data = raw_bank()
    data["questions"].append(copy.deepcopy(question(data, "comment")))
    _expect(data, SOURCE, "question 'comment' field 'id'", "defined 2 times")


def test_page_refers_to_missing_question() -> None:
    data = raw_bank()
    data["pages"][-1]["questions"].append("nonexistent")
    _expect(data, "page 'comment' field 'questions'", "'nonexistent' does not exist")


def test_question_on_no_page() -> None:
    data = raw_bank()
    data["pages"][-1]["questions"] = ["comment"]
    data["pages"][-2]["questions"] = ["channels"]
    _expect(data, "question 'job_order' field 'id'", "on no page")


def test_question_on_two_pages() -> None:
    data = raw_bank()
    data["pages"][-1]["questions"].append("channels")
    _expect(data, "question 'channels' field 'id'", "on 2 pages")


def test_duplicate_page_id() -> None:
    data = raw_bank()
    data["pages"][1]["id"] = "role"
    _expect(data, "page 'role' field 'id'", "defined 2 times")


def test_reserved_question_id() -> None:
    data = raw_bank()
    question(data, "comment")["id"] = "and"
    data["pages"][-1]["questions"] = ["and"]
    _expect(data, "question 'and' field 'id'", "reserved word")


def test_unparsable_expression_reports_position() -> None:
    data = raw_bank()
    question(data, "positions_filled")["shown_when"] = "outcome in {1, 2 and positions > 1"
    _expect(data, "question 'positions_filled' field 'shown_when'", "cannot parse", "position 17")


def test_expression_refers_to_later_question() -> None:
    data = raw_bank()
    question(data, "outcome")["shown_when"] = "channels = 1"
    _expect(data, "question 'outcome' field 'shown_when'", "'channels', which is asked later")


def test_expression_refers_to_unknown_question() -> None:
    data = raw_bank()
    question(data, "outcome")["shown_when"] = "statuss = 1"
    _expect(data, "question 'outcome' field 'shown_when'", "unknown question 'statuss'")


def test_shown_when_cannot_refer_to_itself() -> None:
    data = raw_bank()
    question(data, "outcome")["shown_when"] = "outcome = 1"
    _expect(data, "question 'outcome' field 'shown_when'", "its own answer")


def test_ends_survey_when_may_not_refer_to_later_question() -> None:
    data = raw_bank()
    question(data, "recruitment_status")["ends_survey_when"] = "outcome = 3"
    _expect(data, "question 'recruitment_status' field 'ends_survey_when'", "asked later")


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("recruitment_status = 7", "7 is not an option code of 'recruitment_status'"),
        ("recruitment_status > 1", "can only be compared with =, != or in"),
        ("respondent_role = 1", "'respondent_role' is yes/no"),
        ("positions > yes", "'positions' is an integer"),
        ("expected_close = 3", "'expected_close' is a month"),
        ("referral = 'x'", "answered(referral)"),
        ("positions = outcome", "cannot compare 'positions' (integer) with 'outcome' (single)"),
    ],
)
def test_expression_literals_must_fit_the_question(expr: str, fragment: str) -> None:
    data = raw_bank()
    question(data, "applicants")["shown_when"] = expr
    _expect(data, "question 'applicants' field 'shown_when'", fragment)


def test_duplicate_option_code() -> None:
    data = raw_bank()
    question(data, "channels")["options"][1]["code"] = 1
    _expect(data, "question 'channels' field 'options'", "option code 1 is used 2 times")


def test_min_greater_than_max() -> None:
    data = raw_bank()
    question(data, "positions")["min"] = 1000
    _expect(data, "question 'positions' field 'max'", "less than min")


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("nope", "unknown question 'nope'"),
        ("applicants", "not asked before this question"),
        ("outcome", "not an integer question"),
    ],
)
def test_max_reference_must_resolve(target: str, fragment: str) -> None:
    data = raw_bank()
    question(data, "positions_filled")["max"] = target
    _expect(data, SOURCE, "question 'positions_filled' field 'max'", fragment)


def test_dont_know_needs_a_label() -> None:
    data = raw_bank()
    del question(data, "applicants")["dont_know_label"]
    _expect(data, "question 'applicants' field 'dont_know_label'")


def test_unknown_placeholder() -> None:
    data = raw_bank()
    data["intro"]["da"] += " {company}"
    _expect(data, "field 'intro'", "unknown placeholder {company}")
    data = raw_bank()
    question(data, "outcome")["text"]["en"] = "Did {job} work out?"
    _expect(data, "question 'outcome' field 'text'", "{job}")


def test_version_must_match_file_name() -> None:
    data = raw_bank()
    data["version"] = "2026.2"
    _expect(data, "bank-2026.1.yaml: field 'version'", "does not match the file name")
    assert parse_bank(data, "bank-2026.2.yaml").version == "2026.2"


def test_all_problems_are_reported() -> None:
    data = raw_bank()
    question(data, "positions")["min"] = 1000
    question(data, "channels")["options"][1]["code"] = 1
    with pytest.raises(BankError) as info:
        parse_bank(data, SOURCE)
    assert len(info.value.problems) == 2


def test_load_bank_reports_bad_yaml_and_missing_file(tmp_path) -> None:
    bad = tmp_path / "bank-2026.9.yaml"
    bad.write_text("version: [unclosed\n", encoding="utf-8")
    with pytest.raises(BankError, match=r"^bank-2026\.9\.yaml: not valid YAML"):
        load_bank(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(BankError, match="mapping at top level"):
        load_bank(bad)
    with pytest.raises(BankError, match="cannot read file"):
        load_bank(tmp_path / "bank-missing.yaml")


def test_load_bank_uses_the_file_name_in_errors(tmp_path) -> None:
    data = raw_bank()
    data["version"] = "2027.1"
    question(data, "positions")["max"] = 0
    path = tmp_path / "bank-2027.1.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(BankError) as info:
        load_bank(path)
    assert str(info.value).startswith("bank-2027.1.yaml: question 'positions' field 'max': ")
