"""Matching a person's e-mail address or phone number in stored values and in free text.

Data-subject requests look a person up by a normalised value (see ``personal_data``): an
e-mail address lower-cased, a phone number in E.164 (Danish numbers without a country code are
read as Danish). Stored values are compared after the same normalisation, so "20 12 34 56",
"+45 2012 3456" and "004520123456" are one number.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

EMAIL, PHONE = "email", "phone"
KINDS = (EMAIL, PHONE)
DEFAULT_REGION = "DK"
ERASED = "[erased]"

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMAIL_IN_TEXT = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)


class SubjectValueError(ValueError):
    """A value that is not a usable e-mail address or phone number."""


def normalise_email(raw: str | None) -> str | None:
    """The lower-cased address, None for empty; SubjectValueError for one that is not one."""
    if raw is None or not str(raw).strip():
        return None
    value = str(raw).strip().lower()
    if not _EMAIL_RE.match(value) or len(value) > 254:
        raise SubjectValueError(f"{raw!r} is not an e-mail address")
    return value


def normalise_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for a valid number, None for empty; SubjectValueError for one that is not one."""
    if raw is None or not str(raw).strip():
        return None
    try:
        number = phonenumbers.parse(str(raw).strip(), region)
    except phonenumbers.NumberParseException:
        raise SubjectValueError(f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise SubjectValueError(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise(kind: str, raw: str | None) -> str | None:
    if kind == EMAIL:
        return normalise_email(raw)
    if kind == PHONE:
        return normalise_phone(raw)
    raise SubjectValueError(f"unknown kind {kind!r}: use 'email' or 'phone'")


def same(kind: str, stored: Any, value: str) -> bool:
    """Whether a stored value is ``value`` after normalisation (unusable values never match)."""
    if not isinstance(stored, str) or not stored.strip():
        return False
    try:
        return normalise(kind, stored) == value
    except SubjectValueError:
        return False


def phone_pattern(e164: str) -> str:
    """A SQL LIKE pattern that every notation of the number matches (its last six digits, in
    order, with anything between): a cheap filter before ``same``/``mentions`` decide."""
    digits = re.sub(r"\D", "", e164)[-6:]
    return "%" + "%".join(digits) + "%"


def like_pattern(kind: str, value: str) -> str:
    """The LIKE pattern a column (lower-cased for e-mail) must match to be a candidate."""
    if kind == EMAIL:
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{escaped}%"
    return phone_pattern(value)


def mentions(kind: str, text: Any, value: str) -> bool:
    """Whether free text (or any string inside a JSON value) contains the address or number."""
    return any(_spans(kind, s, value) for s in strings(text))


def strings(value: Any):
    """Every string inside a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)


def _spans(kind: str, text: str, value: str) -> list[tuple[int, int]]:
    if kind == EMAIL:
        return [m.span() for m in _EMAIL_IN_TEXT.finditer(text) if m.group(0).lower() == value]
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, DEFAULT_REGION, leniency=0):
        number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if number == value:
            found.append((match.start, match.end))
    return found
