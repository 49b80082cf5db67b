"""A bank version's successor: what a new version may and may not change."""

from __future__ import annotations

import pytest

from survey_app.questionnaire.bank import (
    Bank,
    BankError,
    Question,
    check_successor,
    default_bank_path,
    load_bank,
    parse_bank,
)

from .bank_data import SOURCE, question, raw_bank


def successor(mutate) -> Bank:
    data = raw_bank()
    data["version"] = "2026.2"
    mutate(data)
    return parse_bank(data, "bank-2026.2.yaml")


def test_successor_may_reword_add_and_remove_questions() -> None:
    old = load_bank(default_bank_path())

    def mutate(d):
        question(d, "comment")["text"]["da"] = "Andre bemærkninger"
        question(d, "channels")["options"][0]["label"]["en"] = "Jobnet.dk"
        d["questions"] = [q for q in d["questions"] if q["id"] != "job_order"]
        d["pages"][-2]["questions"] = ["channels"]
        d["questions"].append(
            {
                "id": "hours",
                "type": "integer",
                "text": {"da": "Timer?", "en": "Hours?"},
                "required": False,
                "min": 1,
                "max": 80,
            }
        )
        d["pages"][-1]["questions"].append("hours")

    check_successor(old, successor(mutate))
    check_successor(old, old)


def test_successor_may_not_change_a_kept_question_type() -> None:
    old = load_bank(default_bank_path())

    def mutate(d):
        q = question(d, "applicants")
        for key in ("min", "max", "dont_know", "dont_know_label"):
            del q[key]
        q["type"] = "single"
        q["options"] = [
            {"code": 1, "label": {"da": "Få", "en": "Few"}},
            {"code": 2, "label": {"da": "Mange", "en": "Many"}},
        ]
        question(d, "qualified_applicants")["shown_when"] = "answered(applicants)"
        question(d, "qualified_applicants")["max"] = 99999

    new = successor(mutate)
    with pytest.raises(BankError) as info:
        check_successor(old, new)
    assert str(info.value).startswith(
        "bank-2026.2.yaml: question 'applicants' field 'type': changed from 'integer'"
    )


def test_successor_may_not_reuse_a_published_version() -> None:
    old = load_bank(default_bank_path())
    data = raw_bank()
    question(data, "comment")["text"]["da"] = "Noget andet"
    with pytest.raises(BankError, match="field 'version': version '2026.1' is already published"):
        check_successor(old, parse_bank(data, SOURCE))


def test_question_defaults() -> None:
    q = Question(id="x", type="text", text=load_bank(default_bank_path()).title, required=False)
    assert q.options == () and q.shown_when is None and q.to_dict()["required"] is False
