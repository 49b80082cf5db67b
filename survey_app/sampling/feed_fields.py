"""Field rules for one postings-feed record (a posting or a job order).

``parse_record(raw, source=None)`` turns a raw row (column -> value; CSV strings or JSON values)
into a normalised record with exactly the keys in ``RECORD_KEYS`` plus a list of FieldErrors,
one per bad field, each with a plain-English reason.

Notes on identifiers:
* CVR: 8 digits with the modulus-11 check (python-stdnum ``stdnum.dk.cvr``); stored compact.
* P-number (produktionsenhedsnummer): exactly 10 digits. No public check-digit algorithm is
  known to us, so only the length and digits are checked.
* Municipality codes are stored without leading zeros ("0101" -> "101") and must exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from stdnum import exceptions as stdnum_exc
from stdnum.dk import cvr as stdnum_cvr

from survey_app.sampling import geography
from survey_app.sampling.occupations import classify_title

RECORD_KEYS = (
    "kind", "source", "source_posting_id", "posted_on", "application_deadline", "job_title",
    "occupation_code", "occupation_source", "cvr", "p_number", "company_name",
    "sole_proprietorship", "industry_code", "sector", "municipality_code", "region", "rar_area",
    "positions", "contact_name", "contact_email", "contact_phone", "url", "text", "status",
    "close_reason", "responsible_unit", "responsible_unit_type", "long_running", "internal",
)  # fmt: skip
_DERIVED = {"occupation_source", "region", "rar_area"}
KNOWN_COLUMNS = frozenset(RECORD_KEYS) - _DERIVED

KINDS = {"posting": "posting", "opslag": "posting", "stillingsopslag": "posting",
         "job_order": "job_order", "job order": "job_order", "jobordre": "job_order"}  # fmt: skip
TRUE = {"true", "1", "ja", "yes", "j", "y"}
FALSE = {"false", "0", "nej", "no", "n"}
SECTORS = {"public": "public", "offentlig": "public", "private": "private", "privat": "private"}
STATUSES = {
    "open": "open", "åben": "open", "aaben": "open", "aben": "open",
    "temporarily_inactive": "temporarily_inactive", "temporarily inactive": "temporarily_inactive",
    "midlertidig inaktiv": "temporarily_inactive", "midlertidigt inaktiv": "temporarily_inactive",
    "closed": "closed", "lukket": "closed",
}  # fmt: skip
UNIT_TYPES = {"jobcentre": "jobcentre", "jobcenter": "jobcentre", "jobcentret": "jobcentre",
              "a_kasse": "a_kasse", "a-kasse": "a_kasse", "akasse": "a_kasse",
              "a kasse": "a_kasse", "a-kassen": "a_kasse"}  # fmt: skip
MAX_LEN = {"source": 100, "source_posting_id": 100, "job_title": 200, "company_name": 200,
           "contact_name": 200, "close_reason": 200, "responsible_unit": 200, "url": 2000,
           "text": 20000}  # fmt: skip


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    value: Any
    reason: str


class _Invalid(ValueError):
    pass


def _as_text(value: Any) -> str | None:
    """A raw value as stripped text, None when missing or blank."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, list | dict):
        raise _Invalid(f"must be a single value, not a JSON {type(value).__name__}")
    text = str(value).strip()
    return text or None


@lru_cache(maxsize=4096)
def _parse_date(value: str) -> date:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise _Invalid(f"'{value}' is not a valid ISO date (YYYY-MM-DD)") from None


def _parse_bool(value: str) -> bool:
    key = value.casefold()
    if key in TRUE:
        return True
    if key in FALSE:
        return False
    raise _Invalid(f"'{value}' is not a yes/no value (use true/false, 1/0 or ja/nej)")


def _lookup(table: dict[str, str], what: str, hint: str):
    def parse(value: str) -> str:
        key = re.sub(r"\s+", " ", value.casefold())
        if key not in table:
            raise _Invalid(f"'{value}' is not a {what} (use {hint})")
        return table[key]

    return parse


def _parse_occupation(value: str) -> str:
    if not (value.isascii() and value.isdigit() and len(value) in (4, 6)):
        raise _Invalid(f"'{value}' is not a 4-digit DISCO-08 code or a 6-digit STAR job-title code")
    return value


_CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


def cvr_checksum_ok(value: str) -> bool:
    """8 ASCII digits, not starting with 0, with the modulus-11 check (as stdnum.dk.cvr)."""
    if len(value) != 8 or not (value.isascii() and value.isdigit()) or value[0] == "0":
        return False
    d = value.encode("ascii")  # the digits' codes; the weights sum to 30, so 48 * 30 is added
    total = 2 * d[0] + 7 * d[1] + 6 * d[2] + 5 * d[3] + 4 * d[4] + 3 * d[5] + 2 * d[6] + d[7]
    return (total - 48 * sum(_CVR_WEIGHTS)) % 11 == 0


@lru_cache(maxsize=8192)
def _parse_cvr(value: str) -> str:
    if cvr_checksum_ok(value):
        return value
    try:
        return stdnum_cvr.validate(value)
    except stdnum_exc.InvalidChecksum:
        raise _Invalid("CVR check digit does not match") from None
    except stdnum_exc.InvalidLength:
        raise _Invalid("CVR must be exactly 8 digits") from None
    except stdnum_exc.ValidationError:
        raise _Invalid("CVR must be 8 digits and cannot start with 0") from None


def _parse_p_number(value: str) -> str:
    compact = value if value.isdigit() else re.sub(r"[\s-]", "", value)
    if not (compact.isascii() and compact.isdigit() and len(compact) == 10):
        raise _Invalid("P-number must be exactly 10 digits")
    return compact


def _parse_industry(value: str) -> str:
    compact = re.sub(r"[\s.]", "", value)
    if not (compact.isascii() and compact.isdigit() and len(compact) == 6):
        raise _Invalid(f"'{value}' is not a 6-digit DB07 industry code")
    return compact


@lru_cache(maxsize=1024)
def _parse_municipality(value: str) -> str:
    code = geography.normalise_code(value)
    if code is None:
        raise _Invalid(f"'{value}' is not a municipality code (3 digits)")
    if geography.municipality(code) is None:
        raise _Invalid(f"municipality code {code} does not exist")
    return code


@lru_cache(maxsize=1024)
def _town(code: str):
    return geography.municipality(code)


def _parse_positions(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _Invalid(f"'{value}' is not a whole number") from None
    if number < 1:
        raise _Invalid("positions must be at least 1")
    return number


# Plain ASCII addresses (the vast majority) are checked by this pattern; anything else goes
# through email-validator. The pattern only accepts addresses email-validator accepts unchanged
# apart from lower-casing the domain (tests compare the two on generated addresses).
_SIMPLE_EMAIL = re.compile(
    r"([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24})"
)
_SPECIAL_USE_TLDS = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def _simple_email(value: str) -> str | None:
    match = _SIMPLE_EMAIL.fullmatch(value)
    if match is None or len(value) > 254 or len(match[1]) > 64:
        return None
    local, domain = match[1], match[2].lower()
    labels = domain.split(".")
    if labels[-1] in _SPECIAL_USE_TLDS or any("--" in label for label in labels):
        return None
    return f"{local}@{domain}"


@lru_cache(maxsize=8192)
def _parse_email(value: str) -> str:
    simple = _simple_email(value)
    if simple is not None:
        return simple
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise _Invalid(f"not a valid e-mail address: {exc}") from None


# A Danish number is 8 digits; in the numbering plan phonenumbers ships, whether one is valid
# depends on its first three digits only, so that verdict is cached per prefix (a test checks
# the shortcut against phonenumbers over every prefix). Other shapes go through phonenumbers.
_DK_NUMBER = re.compile(r"(?:\+45|0045)?([2-9]\d{7})")
_PHONE_SEPARATORS = str.maketrans("", "", " -.()")


@lru_cache(maxsize=1000)
def _dk_prefix_valid(prefix: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(prefix + "12345", "DK"))


def _simple_phone(value: str) -> str | None:
    match = _DK_NUMBER.fullmatch(value.translate(_PHONE_SEPARATORS))
    if match is None or not _dk_prefix_valid(match[1][:3]):
        return None
    return "+45" + match[1]


@lru_cache(maxsize=8192)
def _parse_phone(value: str) -> str:
    simple = _simple_phone(value)
    if simple is not None:
        return simple
    try:
        number = phonenumbers.parse(value, "DK")
    except phonenumbers.NumberParseException:
        raise _Invalid(f"'{value}' is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise _Invalid(f"'{value}' is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise _Invalid("URL must start with http:// or https://")
    if not parts.hostname:
        raise _Invalid("URL has no host name")
    return value


_UNUSUAL_SPACE = re.compile(r"\s\s|[^\S ]")


def _one_line(value: str) -> str:
    if _UNUSUAL_SPACE.search(value) is None:
        return value
    return re.sub(r"\s+", " ", value)


def _infer_unit_type(unit: str | None) -> str | None:
    if not unit:
        return None
    key = unit.casefold()
    if "jobcent" in key:
        return "jobcentre"
    if "a-kasse" in key or "akasse" in key or "a_kasse" in key:
        return "a_kasse"
    return None


PARSERS = {
    "posted_on": _parse_date, "application_deadline": _parse_date,
    "occupation_code": _parse_occupation, "cvr": _parse_cvr, "p_number": _parse_p_number,
    "sole_proprietorship": _parse_bool, "long_running": _parse_bool, "internal": _parse_bool,
    "industry_code": _parse_industry, "municipality_code": _parse_municipality,
    "positions": _parse_positions, "contact_email": _parse_email, "contact_phone": _parse_phone,
    "url": _parse_url, "job_title": _one_line, "company_name": _one_line,
    "contact_name": _one_line, "responsible_unit": _one_line,
    "kind": _lookup(KINDS, "record kind", "posting or job_order"),
    "sector": _lookup(SECTORS, "sector", "public/private or offentlig/privat"),
    "status": _lookup(STATUSES, "job-order status",
                      "open, temporarily_inactive or closed; åben, midlertidig inaktiv or lukket"),
    "responsible_unit_type": _lookup(UNIT_TYPES, "responsible unit type", "jobcentre or a_kasse"),
}  # fmt: skip
DEFAULTS = {"kind": "posting", "sole_proprietorship": False, "long_running": False,
            "internal": False}  # fmt: skip
_TEMPLATE = {key: DEFAULTS.get(key) for key in RECORD_KEYS}


def parse_record(
    raw: dict[str, Any], source: str | None = None
) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalise one raw row. Returns (record, errors); the row is good when errors is empty."""
    record: dict[str, Any] = dict(_TEMPLATE)
    errors: list[FieldError] = []
    given: set[str] = set()
    for key, value in raw.items():
        if key not in KNOWN_COLUMNS:
            continue
        if type(value) is str:
            text = value.strip() or None
        else:
            try:
                text = _as_text(value)
            except _Invalid as exc:
                errors.append(FieldError(key, value, f"{key} {exc}"))
                continue
        if text is None:
            continue
        given.add(key)
        limit = MAX_LEN.get(key)
        if limit is not None and len(text) > limit:
            reason = f"{key} is {len(text)} characters long; the maximum is {limit}"
            errors.append(FieldError(key, value, reason))
            continue
        parser = PARSERS.get(key)
        try:
            record[key] = parser(text) if parser else text
        except _Invalid as exc:
            errors.append(FieldError(key, value, str(exc)))
    bad = {e.field for e in errors}

    def missing(key: str, reason: str) -> None:
        if key not in given and key not in bad:
            errors.append(FieldError(key, None, reason))

    job_order = record["kind"] == "job_order"
    for key in ("source_posting_id", "job_title", "cvr", "company_name", "municipality_code"):
        missing(key, f"{key} is required")
    if not job_order and "kind" not in bad:
        missing("posted_on", "posted_on is required for postings")

    if source is not None:
        if record["source"] is not None and record["source"].casefold() != source.casefold():
            reason = f"source '{record['source']}' does not match the expected source '{source}'"
            errors.append(FieldError("source", raw.get("source"), reason))
        record["source"] = source
    elif "source" not in bad:
        missing("source", "source is required")

    posted, deadline = record["posted_on"], record["application_deadline"]
    if posted and deadline and deadline < posted:
        reason = f"application_deadline {deadline} is before posted_on {posted}"
        errors.append(FieldError("application_deadline", raw.get("application_deadline"), reason))

    if record["occupation_code"] is not None:
        record["occupation_source"] = "feed"
    elif "occupation_code" not in bad and record["job_title"]:
        found = classify_title(record["job_title"])
        if found is not None:
            record["occupation_code"], record["occupation_source"] = found.code, "classified"

    town = _town(record["municipality_code"]) if record["municipality_code"] else None
    if town is not None:
        record["region"], record["rar_area"] = town.region, town.rar_area

    if job_order:
        missing("status", "status is required for job orders")
        missing("responsible_unit", "responsible_unit is required for job orders")
        if record["responsible_unit_type"] is None and "responsible_unit_type" not in bad:
            record["responsible_unit_type"] = _infer_unit_type(record["responsible_unit"])
            if record["responsible_unit_type"] is None and record["responsible_unit"]:
                missing(
                    "responsible_unit_type",
                    "responsible_unit_type is required for job orders (jobcentre or a_kasse)"
                    " and cannot be inferred from responsible_unit",
                )
    if record["close_reason"] and record["status"] not in (None, "closed"):
        reason = (
            f"close_reason is only allowed when status is closed (status is {record['status']})"
        )
        errors.append(FieldError("close_reason", raw.get("close_reason"), reason))
    if record["positions"] is None and "positions" not in bad:
        record["positions"] = None if (job_order and record["long_running"]) else 1
    return record, errors


def has_usable_contact(record: dict[str, Any]) -> bool:
    """True when the record has a valid contact e-mail or phone (it can be fielded)."""
    return bool(record.get("contact_email") or record.get("contact_phone"))


def is_partner_visible(record: dict[str, Any]) -> bool:
    """An internal job order is never shown to a partner job database."""
    return not record.get("internal")
