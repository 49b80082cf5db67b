"""The short way through the field rules for common CSV rows (``feed_fast``) accepts only rows
``parse_record`` accepts, and returns exactly the record ``parse_record`` returns."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_app.sampling.feed_fast import compile_plan, parse_csv_row
from survey_app.sampling.feed_fields import parse_record

COLUMNS = [
    "source", "source_posting_id", "kind", "status", "close_reason", "responsible_unit",
    "posted_on", "application_deadline", "job_title", "occupation_code", "cvr", "p_number",
    "company_name", "municipality_code", "positions", "long_running", "internal",
    "contact_name", "contact_email", "contact_phone", "url", "unknown_column",
]  # fmt: skip
CHOICES = {
    "source": ["", "star", "STAR", "jobnet", "x" * 101],
    "source_posting_id": ["p-1", "", " a b ", "x" * 101],
    "kind": ["", "posting", "opslag", "job_order", "jobordre", "nope"],
    "status": ["", "closed", "lukket", "open", "bad"],
    "close_reason": ["", "filled", "x" * 201],
    "responsible_unit": ["", "Jobcenter Odense", "A-kasse X", "Other"],
    "posted_on": ["2026-05-10", "", "2026-13-01", "2026-05-10T10:00:00", "10-05-2026"],
    "application_deadline": ["", "2026-05-01", "2026-06-01", "nope"],
    "job_title": ["Tømrer", "", "  Sygeplejerske  ", "Kok\tog  tjener", "x" * 201],
    "occupation_code": ["", "7125", "712", "abcd", "123456"],
    "cvr": ["12345674", "12345678", "", "1234567", "02345674", " 12345674 "],
    "p_number": ["", "4000000001", "400000000", "4000 000 001"],
    "company_name": ["Firma ApS", "", "Firma\nApS"],
    "municipality_code": ["101", "0101", "", "999", "abc", "461"],
    "positions": ["", "1", "3", "0", "x"],
    "long_running": ["", "ja", "nej", "maybe"],
    "internal": ["", "true", "0", "x"],
    "contact_name": ["", "Kontakt Person", "A\u2028B"],
    "contact_email": ["", "k@firma.example", "K@FIRMA.DK", "bad@", "æ@firma.dk"],
    "contact_phone": ["", "+4520123456", "20 12 34 56", "12345", "+46 8 123 456 78"],
    "url": ["", "https://job.example/1", "ftp://x", "http://"],
    "unknown_column": ["", "anything"],
}


def check(row: list[str], source: str | None) -> bool:
    fast = parse_csv_row(row, compile_plan(COLUMNS), source)
    record, errors = parse_record(dict(zip(COLUMNS, row, strict=True)), source=source)
    if fast is not None:
        assert errors == [] and fast == record
        return True
    return False


def good_row(rng: random.Random) -> list[str]:
    return [
        "", f"p-{rng.randrange(1000)}", rng.choice(["", "posting", "opslag"]), "", "",
        "", "2026-05-10", rng.choice(["", "2026-06-01"]), rng.choice(["Tømrer", "Pædagog"]),
        rng.choice(["", "7125"]), "12345674", rng.choice(["", "4000000001"]), "Firma ApS",
        rng.choice(["101", "461", "751"]), rng.choice(["", "2"]), "", "",
        "Kontakt", "k@firma.example", rng.choice(["", "+4520123456"]), "", "",
    ]  # fmt: skip


def test_common_rows_take_the_short_way_with_the_same_record():
    rng = random.Random(4)
    assert all(check(good_row(rng), "star") for _ in range(300))
    assert all(check(good_row(rng), None) is False for _ in range(10))  # no source column value


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CHOICES.items()}),
       st.sampled_from(["star", None]))  # fmt: skip
def test_any_row_the_short_way_accepts_is_parsed_identically(values, source):
    check([values[c] for c in COLUMNS], source)
