"""The published bank as data, for tests that change it and load the result."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from survey_app.questionnaire.bank import BankError, default_bank_path, parse_bank

SOURCE = "bank-2026.1.yaml"
# The published 2026.1 bank is immutable: a wording or routing change needs a new version file.
PUBLISHED_HASH_2026_1 = "0c07d901f6e6e315c83e238f2a7c8aa614eeaec6b9a4bc67ced44a7930c21bfa"


def raw_bank() -> dict[str, Any]:
    return yaml.safe_load(default_bank_path().read_text(encoding="utf-8"))


def question(data: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for q in data["questions"] if q["id"] == qid)


def bank_error(data: dict[str, Any], source: str = SOURCE) -> str:
    with pytest.raises(BankError) as info:
        parse_bank(data, source)
    return str(info.value)
