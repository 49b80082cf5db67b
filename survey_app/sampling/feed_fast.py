"""A shorter way through ``feed_fields.parse_record`` for the common CSV row.

Most rows of a large feed are postings whose every field is valid. ``parse_csv_row`` handles such
a row straight from the CSV reader's list with a plan compiled once per header (column position,
length limit, parser), without the raw dict and the bookkeeping ``parse_record`` needs to report
errors. At the first sign of a problem — a value a parser rejects, a missing required field, a job
order, a rule between fields — it returns None and the caller runs ``parse_record``, which
produces the record or the errors as always. For a row it accepts, it returns exactly the record
``parse_record`` returns (a test compares the two on generated rows, good and bad).
"""

from __future__ import annotations

from typing import Any

from .feed_fields import _TEMPLATE, KNOWN_COLUMNS, MAX_LEN, PARSERS, _Invalid, _town
from .occupations import classify_title

REQUIRED = ("source_posting_id", "job_title", "cvr", "company_name", "municipality_code")

Plan = tuple[tuple[int, str, int | None, Any], ...]


def compile_plan(columns: list[str]) -> Plan:
    return tuple(
        (i, key, MAX_LEN.get(key), PARSERS.get(key))
        for i, key in enumerate(columns)
        if key in KNOWN_COLUMNS
    )


def parse_csv_row(row: list[str], plan: Plan, source: str | None) -> dict[str, Any] | None:
    """The record of a valid posting row, or None when ``parse_record`` must decide."""
    record = dict(_TEMPLATE)
    for i, key, limit, parser in plan:
        text = row[i].strip()
        if not text:
            continue
        if limit is not None and len(text) > limit:
            return None
        if parser is not None:
            try:
                text = parser(text)
            except _Invalid:
                return None
        record[key] = text
    if record["kind"] != "posting" or record["posted_on"] is None:
        return None
    for key in REQUIRED:
        if record[key] is None:
            return None
    if source is not None:
        given = record["source"]
        if given is not None and given.casefold() != source.casefold():
            return None
        record["source"] = source
    elif record["source"] is None:
        return None
    deadline = record["application_deadline"]
    if deadline and deadline < record["posted_on"]:
        return None
    if record["close_reason"] and record["status"] not in (None, "closed"):
        return None
    if record["occupation_code"] is not None:
        record["occupation_source"] = "feed"
    else:
        found = classify_title(record["job_title"])
        if found is not None:
            record["occupation_code"], record["occupation_source"] = found.code, "classified"
    town = _town(record["municipality_code"])
    if town is not None:
        record["region"], record["rar_area"] = town.region, town.rar_area
    if record["positions"] is None:
        record["positions"] = 1
    return record
