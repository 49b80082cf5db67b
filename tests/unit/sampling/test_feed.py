"""Postings feed: record normalisation, field errors and row numbering."""

import io
import json
from datetime import date

import pytest

from survey_app.sampling.feed import (
    RECORD_KEYS,
    BadRow,
    FieldError,
    GoodRow,
    check_file,
    has_usable_contact,
    is_partner_visible,
    parse_record,
)

from .feed_helpers import BASE, CVR_BAD_CHECK, CVR_OK, CVR_OK_2, csv_bytes, only, run

# --- good input ------------------------------------------------------------------------------


def test_good_csv_is_normalised():
    row = dict(
        BASE,
        application_deadline="2024-03-31",
        p_number="1012345678",
        sole_proprietorship="ja",
        industry_code="41.20.00",
        sector="privat",
        municipality_code="0101",
        positions="3",
        contact_name="  Mette   Hansen ",
        contact_email="Mette@Example.COM",
        contact_phone="33 12 34 56",
        url="https://jobs.example.dk/1",
        text="Vi søger en tømrer.",
    )
    result = only(run(csv_bytes([row])))
    assert isinstance(result, GoodRow)
    assert result.row_number == 2
    rec = result.record
    assert tuple(rec) == RECORD_KEYS
    assert rec["kind"] == "posting"
    assert rec["posted_on"] == date(2024, 3, 1)
    assert rec["application_deadline"] == date(2024, 3, 31)
    assert rec["cvr"] == CVR_OK
    assert rec["p_number"] == "1012345678"
    assert rec["sole_proprietorship"] is True
    assert rec["industry_code"] == "412000"
    assert rec["sector"] == "private"
    assert rec["municipality_code"] == "101"
    assert rec["region"] == "Hovedstaden"
    assert rec["rar_area"] == "RAR Hovedstaden"
    assert rec["positions"] == 3
    assert rec["contact_name"] == "Mette Hansen"
    assert rec["contact_email"] == "Mette@example.com"
    assert rec["contact_phone"] == "+4533123456"
    assert rec["occupation_code"] == "7115"
    assert rec["occupation_source"] == "classified"
    assert rec["status"] is None and rec["internal"] is False
    assert has_usable_contact(rec)


def test_defaults_and_occupation_from_feed():
    rec = only(run(csv_bytes([dict(BASE, occupation_code="711510")]))).record
    assert rec["occupation_code"] == "711510"
    assert rec["occupation_source"] == "feed"
    assert rec["positions"] == 1
    assert rec["sole_proprietorship"] is False
    assert rec["sector"] is None
    assert not has_usable_contact(rec)


def test_unclassifiable_title_leaves_occupation_empty():
    rec = only(run(csv_bytes([dict(BASE, job_title="Astronaut")]))).record
    assert rec["occupation_code"] is None
    assert rec["occupation_source"] is None


def test_semicolon_csv_with_bom_and_crlf():
    rows = [BASE, dict(BASE, source_posting_id="A-2", job_title="Kok, køkkenet")]
    data = csv_bytes(rows, delimiter=";", bom=True, newline="\r\n")
    assert check_file(io.BytesIO(data), "auto") == "csv"
    results = run(data)
    assert [r.row_number for r in results] == [2, 3]
    assert all(isinstance(r, GoodRow) for r in results)
    assert results[0].record["source"] == "jobnet"
    assert results[1].record["job_title"] == "Kok, køkkenet"
    assert results[1].record["occupation_code"] == "5120"


def test_header_names_are_normalised():
    data = b"Source Posting ID,Posted-On,JOB_TITLE,CVR,Company Name,Municipality Code\n"
    data += f"1,2024-01-02,Smed,{CVR_OK},X,851\n".encode()
    rec = only(run(data)).record
    assert rec["source_posting_id"] == "1"
    assert rec["occupation_code"] == "7214"


def test_jsonl_with_native_types():
    lines = [
        dict(BASE, cvr=int(CVR_OK), municipality_code=101, positions=2, internal=False),
        dict(BASE, source_posting_id="A-2", sole_proprietorship=True, positions=1.0),
        dict(BASE, source_posting_id="A-3", application_deadline=None, contact_phone=None),
    ]
    data = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode() + b"\n"
    assert check_file(io.BytesIO(data), "auto") == "jsonl"
    results = run(data, fmt="auto")
    assert [type(r) for r in results] == [GoodRow] * 3
    assert [r.row_number for r in results] == [1, 2, 3]
    assert results[0].record["cvr"] == CVR_OK
    assert results[0].record["municipality_code"] == "101"
    assert results[0].record["positions"] == 2
    assert results[1].record["sole_proprietorship"] is True
    assert results[1].record["positions"] == 1


def test_jsonl_bad_lines_are_bad_rows_with_line_numbers():
    data = (
        json.dumps(BASE).encode() + b"\n\n"
        + b"{not json\n"
        + b"[1, 2]\n"
        + json.dumps(dict(BASE, cvr=[1])).encode() + b"\n"
    )  # fmt: skip
    results = run(data, fmt="jsonl")
    assert [r.row_number for r in results] == [1, 3, 4, 5]
    assert isinstance(results[0], GoodRow)
    assert results[1].errors[0].field == "_line"
    assert "not valid JSON" in results[1].errors[0].reason
    assert results[2].errors[0].reason == "the line is a JSON list, not an object"
    assert results[3].errors[0].reason == "cvr must be a single value, not a JSON list"


def test_source_is_filled_in_and_checked():
    cols = [c for c in BASE if c != "source"]
    assert only(run(csv_bytes([BASE], columns=cols), source="jobindex")).record["source"] == (
        "jobindex"
    )
    bad = only(run(csv_bytes([BASE]), source="jobindex"))
    assert bad.errors == [
        FieldError(
            "source", "jobnet", "source 'jobnet' does not match the expected source 'jobindex'"
        )
    ]
    missing = only(run(csv_bytes([BASE], columns=cols), source=None))
    assert missing.errors == [FieldError("source", None, "source is required")]


# --- every field error -----------------------------------------------------------------------

LONG = "x" * 201
CASES = [
    ("kind", "vacancy", "'vacancy' is not a record kind (use posting or job_order)"),
    ("source_posting_id", "", "source_posting_id is required"),
    (
        "source_posting_id",
        "p" * 101,
        "source_posting_id is 101 characters long; the maximum is 100",
    ),
    ("posted_on", "", "posted_on is required for postings"),
    ("posted_on", "01-03-2024", "'01-03-2024' is not a valid ISO date (YYYY-MM-DD)"),
    ("posted_on", "2024-02-30", "'2024-02-30' is not a valid ISO date (YYYY-MM-DD)"),
    (
        "application_deadline",
        "2024-02-01",
        "application_deadline 2024-02-01 is before posted_on 2024-03-01",
    ),
    ("application_deadline", "soon", "'soon' is not a valid ISO date (YYYY-MM-DD)"),
    ("job_title", "", "job_title is required"),
    ("job_title", LONG, "job_title is 201 characters long; the maximum is 200"),
    (
        "occupation_code",
        "71151",
        "'71151' is not a 4-digit DISCO-08 code or a 6-digit STAR job-title code",
    ),
    ("cvr", "", "cvr is required"),
    ("cvr", CVR_BAD_CHECK, "CVR check digit does not match"),
    ("cvr", "1015081", "CVR must be exactly 8 digits"),
    ("cvr", "1015O817", "CVR must be 8 digits and cannot start with 0"),
    ("p_number", "12345", "P-number must be exactly 10 digits"),
    ("company_name", "", "company_name is required"),
    (
        "sole_proprietorship",
        "maybe",
        "'maybe' is not a yes/no value (use true/false, 1/0 or ja/nej)",
    ),
    ("industry_code", "62.01", "'62.01' is not a 6-digit DB07 industry code"),
    ("sector", "mixed", "'mixed' is not a sector (use public/private or offentlig/privat)"),
    ("municipality_code", "", "municipality_code is required"),
    ("municipality_code", "999", "municipality code 999 does not exist"),
    ("municipality_code", "0411", "municipality code 411 does not exist"),
    ("municipality_code", "Aarhus", "'Aarhus' is not a municipality code (3 digits)"),
    ("positions", "two", "'two' is not a whole number"),
    ("positions", "0", "positions must be at least 1"),
    (
        "contact_email",
        "nobody",
        "not a valid e-mail address: An email address must have an @-sign.",
    ),
    ("contact_phone", "12345678", "'12345678' is not a valid phone number"),
    ("contact_phone", "call me", "'call me' is not a phone number"),
    ("url", "ftp://example.dk/job", "URL must start with http:// or https://"),
    ("url", "https://", "URL has no host name"),
    ("text", "t" * 20001, "text is 20001 characters long; the maximum is 20000"),
    (
        "status",
        "pending",
        "'pending' is not a job-order status (use open, temporarily_inactive or closed;"
        " åben, midlertidig inaktiv or lukket)",
    ),
    (
        "close_reason",
        "filled",
        "close_reason is only allowed when status is closed (status is open)",
    ),
    (
        "responsible_unit_type",
        "kommune",
        "'kommune' is not a responsible unit type (use jobcentre or a_kasse)",
    ),
    (
        "long_running",
        "sometimes",
        "'sometimes' is not a yes/no value (use true/false, 1/0 or ja/nej)",
    ),
    ("internal", "?", "'?' is not a yes/no value (use true/false, 1/0 or ja/nej)"),
]


@pytest.mark.parametrize(("field", "value", "reason"), CASES)
def test_every_bad_field_has_a_precise_reason(field, value, reason):
    row = dict(BASE, **{field: value})
    if field == "close_reason":
        row["status"] = "open"
    result = only(run(csv_bytes([row], columns=list(row))))
    assert isinstance(result, BadRow)
    assert result.row_number == 2
    assert [e.reason for e in result.errors] == [reason]
    assert result.errors[0].field == field
    assert result.raw[field] == value


def test_row_with_wrong_number_of_fields():
    data = csv_bytes([BASE]) + b"only,three,fields\n"
    results = run(data)
    assert results[1].row_number == 3
    assert results[1].errors == [
        FieldError("_row", None, "the row has 3 fields but the header has 7")
    ]


def test_multi_error_rows_keep_good_rows_and_line_numbers():
    rows = [
        BASE,
        dict(BASE, source_posting_id="2", cvr=CVR_BAD_CHECK, municipality_code="999",
             contact_email="x@", posted_on="2024-13-01"),
        dict(BASE, source_posting_id="3", cvr=CVR_OK_2),
        dict(BASE, source_posting_id="", job_title="", positions="-1"),
    ]  # fmt: skip
    columns = list(BASE) + ["contact_email", "positions"]
    results = run(csv_bytes(rows, columns=columns))
    assert [(type(r).__name__, r.row_number) for r in results] == [
        ("GoodRow", 2),
        ("BadRow", 3),
        ("GoodRow", 4),
        ("BadRow", 5),
    ]
    assert {e.field for e in results[1].errors} == {
        "posted_on",
        "cvr",
        "municipality_code",
        "contact_email",
    }
    assert {e.field: e.reason for e in results[3].errors} == {
        "positions": "positions must be at least 1",
        "source_posting_id": "source_posting_id is required",
        "job_title": "job_title is required",
    }


def test_quoted_newlines_keep_line_numbers_right():
    header = ",".join(BASE) + ",text\n"
    line = ",".join(BASE.values())
    data = (
        header
        + line + ',"first line\nsecond line\nthird line"\n'  # lines 2-4
        + line.replace(CVR_OK, CVR_BAD_CHECK) + ",plain\n"  # line 5
        + "\n"  # line 6, blank
        + line + ',"a\r\nb"\n'  # lines 7-8
        + line.replace(CVR_OK, CVR_BAD_CHECK) + ",x\n"  # line 9
    ).encode()  # fmt: skip
    results = run(data)
    assert [(type(r).__name__, r.row_number) for r in results] == [
        ("GoodRow", 2),
        ("BadRow", 5),
        ("GoodRow", 7),
        ("BadRow", 9),
    ]
    assert results[0].record["text"] == "first line\nsecond line\nthird line"


# --- job orders ------------------------------------------------------------------------------

JOB_ORDER = {
    "kind": "jobordre",
    "source_posting_id": "JO-1",
    "job_title": "Social- og sundhedsassistent",
    "cvr": CVR_OK,
    "company_name": "Plejecenter Solsiden",
    "municipality_code": "461",
    "status": "Midlertidig  inaktiv",
    "responsible_unit": "Jobcenter Odense",
    "long_running": "ja",
    "internal": "1",
}


def test_job_order_without_date_and_count():
    rec = only(run(csv_bytes([JOB_ORDER]))).record
    assert rec["kind"] == "job_order"
    assert rec["posted_on"] is None
    assert rec["status"] == "temporarily_inactive"
    assert rec["responsible_unit_type"] == "jobcentre"
    assert rec["long_running"] is True
    assert rec["positions"] is None
    assert rec["occupation_code"] == "5321"
    assert rec["rar_area"] == "RAR Fyn"
    assert not is_partner_visible(rec)


def test_closed_job_order_with_reason_and_a_kasse():
    row = dict(JOB_ORDER, status="lukket", close_reason="Besat", long_running="nej",
               responsible_unit="3F", responsible_unit_type="A-kasse", internal="")  # fmt: skip
    rec = only(run(csv_bytes([row]))).record
    assert (rec["status"], rec["close_reason"]) == ("closed", "Besat")
    assert rec["responsible_unit_type"] == "a_kasse"
    assert rec["positions"] == 1
    assert is_partner_visible(rec)


def test_job_order_required_fields():
    row = dict(JOB_ORDER, status="", responsible_unit="")
    bad = only(run(csv_bytes([row])))
    assert {e.field: e.reason for e in bad.errors} == {
        "status": "status is required for job orders",
        "responsible_unit": "responsible_unit is required for job orders",
    }
    unknown = only(run(csv_bytes([dict(JOB_ORDER, responsible_unit="Hjælpen")]))).errors
    assert unknown[0].field == "responsible_unit_type"
    assert "cannot be inferred" in unknown[0].reason


def test_parse_record_directly():
    record, errors = parse_record({"cvr": CVR_OK}, source="jobnet")
    assert record["cvr"] == CVR_OK
    assert {e.field for e in errors} == {
        "source_posting_id",
        "job_title",
        "company_name",
        "municipality_code",
        "posted_on",
    }
