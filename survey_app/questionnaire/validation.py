"""Checks of one answer against its question, with messages in Danish and English.

Used by :func:`.routing.validate_page`; this module knows nothing about routing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .bank import Question

DONT_KNOW = "dont_know"
OTHER_SUFFIX = "_other"
OTHER_MAX_LENGTH = 200
CONTACT_MAX_LENGTH = {"name": 200, "email": 254, "phone": 30}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

MESSAGES: dict[str, dict[str, str]] = {
    "required": {
        "da": "Besvar venligst spørgsmålet.",
        "en": "Please answer the question.",
    },
    "yes_no": {"da": "Vælg ja eller nej.", "en": "Please choose yes or no."},
    "single": {
        "da": "Vælg én af svarmulighederne.",
        "en": "Please choose one of the options.",
    },
    "multi": {
        "da": "Vælg en eller flere af svarmulighederne.",
        "en": "Please choose one or more of the options.",
    },
    "other_missing": {
        "da": 'Du har valgt "{label}" – skriv kort, hvad det dækker over.',
        "en": 'You chose "{label}" – please say briefly what it covers.',
    },
    "other_too_long": {
        "da": 'Teksten til "{label}" er for lang: højst {max} tegn.',
        "en": 'The text for "{label}" is too long: at most {max} characters.',
    },
    "integer": {
        "da": "Skriv et helt tal fra {min} til {max}{dk}.",
        "en": "Please enter a whole number from {min} to {max}{dk}.",
    },
    "integer_min": {
        "da": "Skriv et helt tal på mindst {min}{dk}.",
        "en": "Please enter a whole number of at least {min}{dk}.",
    },
    "integer_range": {
        "da": "{value} er uden for det tilladte interval. "
        "Skriv et helt tal fra {min} til {max}{dk}.",
        "en": "{value} is outside the allowed range. Please enter a whole number from {min} to "
        "{max}{dk}.",
    },
    "integer_ref": {
        "da": 'Tallet kan ikke være større end dit svar på "{ref}" ({max}). '
        "Skriv et helt tal fra {min} til {max}{dk}.",
        "en": 'The number cannot be larger than your answer to "{ref}" ({max}). '
        "Please enter a whole number from {min} to {max}{dk}.",
    },
    "dont_know_suffix": {"da": ', eller vælg "{label}"', "en": ', or choose "{label}"'},
    "month": {
        "da": "Angiv måned og år som ÅÅÅÅ-MM, fx 2026-09{dk}.",
        "en": "Please give the month and year as YYYY-MM, e.g. 2026-09{dk}.",
    },
    "text": {"da": "Svaret skal være tekst.", "en": "The answer must be text."},
    "text_too_long": {
        "da": "Teksten er for lang ({length} tegn). Der er plads til højst {max} tegn.",
        "en": "The text is too long ({length} characters). At most {max} characters are allowed.",
    },
    "contact": {
        "da": "Udfyld navn og e-mail eller telefonnummer.",
        "en": "Please fill in a name and an e-mail address or phone number.",
    },
    "contact_field_missing": {
        "da": 'Udfyld feltet "{label}".',
        "en": 'Please fill in "{label}".',
    },
    "contact_field_too_long": {
        "da": 'Feltet "{label}" er for langt: højst {max} tegn.',
        "en": 'The field "{label}" is too long: at most {max} characters.',
    },
    "contact_reachable": {
        "da": "Skriv enten en e-mailadresse eller et telefonnummer.",
        "en": "Please give either an e-mail address or a phone number.",
    },
    "email": {
        "da": "E-mailadressen ser ikke rigtig ud. Skriv den som fx navn@firma.dk.",
        "en": "The e-mail address does not look right. Write it like name@company.dk.",
    },
    "phone": {
        "da": "Telefonnummeret skal have 8 cifre, eller 8-15 cifre med landekode "
        "(fx +45 12 34 56 78).",
        "en": "The phone number must have 8 digits, or 8-15 digits with a country code "
        "(e.g. +45 12 34 56 78).",
    },
}


def message(key: str, lang: str, **params: Any) -> str:
    texts = MESSAGES[key]
    return texts.get(lang, texts["da"]).format(**params)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, list | tuple | dict | set):
        if isinstance(value, dict):
            return all(is_empty(v) for v in value.values())
        return len(value) == 0
    return False


def format_number(n: int, lang: str) -> str:
    """99999 -> '99.999' (da) or '99,999' (en)."""
    text = f"{n:,}"
    return text.replace(",", ".") if lang != "en" else text


def valid_phone(raw: str) -> bool:
    compact = re.sub(r"[\s\-().]", "", raw)
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    else:
        return compact.isascii() and compact.isdigit() and len(compact) == 8
    return digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15


def valid_email(raw: str) -> bool:
    return bool(EMAIL_RE.match(raw.strip()))


def check_answer(
    question: Question,
    value: Any,
    other_text: Any,
    answers: Mapping[str, Any],
    lang: str,
    ref_text: str | None = None,
) -> str | None:
    """Return an error message for ``value`` as an answer to ``question``, or None if it is fine.

    ``answers`` supplies the values that a ``max`` reference points to; ``ref_text`` is the
    wording of that referenced question (used in the message).
    """
    if is_empty(value):
        return message("required", lang) if question.required else None
    checker = _CHECKERS[question.type]
    return checker(question, value, other_text, answers, lang, ref_text)


def _dk_suffix(q: Question, lang: str) -> str:
    if not q.dont_know or q.dont_know_label is None:
        return ""
    return message("dont_know_suffix", lang, label=q.dont_know_label.get(lang))


def _check_yes_no(q: Question, value: Any, _o: Any, _a: Any, lang: str, _r: Any) -> str | None:
    return None if value in ("yes", "no") and isinstance(value, str) else message("yes_no", lang)


def _check_other(q: Question, chosen: list[Any], other_text: Any, lang: str) -> str | None:
    for code in chosen:
        option = q.option(code)
        if option is None or not option.other_text:
            continue
        label = option.label.get(lang)
        if not isinstance(other_text, str) or not other_text.strip():
            return message("other_missing", lang, label=label)
        if len(other_text) > OTHER_MAX_LENGTH:
            return message("other_too_long", lang, label=label, max=OTHER_MAX_LENGTH)
    return None


def _check_single(q: Question, value: Any, other: Any, _a: Any, lang: str, _r: Any) -> str | None:
    if q.option(value) is None:
        return message("single", lang)
    return _check_other(q, [value], other, lang)


def _check_multi(q: Question, value: Any, other: Any, _a: Any, lang: str, _r: Any) -> str | None:
    if not isinstance(value, list | tuple):
        return message("multi", lang)
    if any(q.option(v) is None for v in value) or len(set(value)) != len(value):
        return message("multi", lang)
    return _check_other(q, list(value), other, lang)


def _check_integer(
    q: Question, value: Any, _o: Any, answers: Mapping[str, Any], lang: str, ref_text: Any
) -> str | None:
    low = q.min if q.min is not None else 0
    ref_value = answers.get(q.max) if isinstance(q.max, str) else None
    high = q.max if is_int(q.max) else (ref_value if is_int(ref_value) else None)
    params = {"min": format_number(low, lang), "dk": _dk_suffix(q, lang)}
    if value == DONT_KNOW and isinstance(value, str) and q.dont_know:
        return None
    if high is None:  # the referenced answer is missing or "don't know": only the floor applies
        return None if is_int(value) and value >= low else message("integer_min", lang, **params)
    params["max"] = format_number(high, lang)
    if not is_int(value):
        return message("integer", lang, **params)
    if value < low or value > high:
        if isinstance(q.max, str) and value > high >= low:
            return message("integer_ref", lang, ref=ref_text or q.max, **params)
        if high < low:
            params["max"] = params["min"]  # the reference leaves no room; say what's possible
        return message("integer_range", lang, value=format_number(value, lang), **params)
    return None


def _check_month(q: Question, value: Any, _o: Any, _a: Any, lang: str, _r: Any) -> str | None:
    if isinstance(value, str) and (MONTH_RE.match(value) or (q.dont_know and value == DONT_KNOW)):
        return None
    return message("month", lang, dk=_dk_suffix(q, lang))


def _check_text(q: Question, value: Any, _o: Any, _a: Any, lang: str, _r: Any) -> str | None:
    if not isinstance(value, str):
        return message("text", lang)
    if q.max_length is not None and len(value) > q.max_length:
        return message("text_too_long", lang, length=len(value), max=q.max_length)
    return None


def _check_contact(q: Question, value: Any, _o: Any, _a: Any, lang: str, _r: Any) -> str | None:
    if not isinstance(value, dict) or any(
        v is not None and not isinstance(v, str) for v in value.values()
    ):
        return message("contact", lang)
    problems: list[str] = []
    for f in q.fields:
        raw = (value.get(f.name) or "").strip()
        label = f.label.get(lang)
        if not raw:
            if f.required:
                problems.append(message("contact_field_missing", lang, label=label))
            continue
        limit = CONTACT_MAX_LENGTH.get(f.name, 200)
        if len(raw) > limit:
            problems.append(message("contact_field_too_long", lang, label=label, max=limit))
        elif f.name == "email" and not valid_email(raw):
            problems.append(message("email", lang))
        elif f.name == "phone" and not valid_phone(raw):
            problems.append(message("phone", lang))
    names = {f.name for f in q.fields}
    reachable = [n for n in ("email", "phone") if n in names]
    if q.required and reachable and not any((value.get(n) or "").strip() for n in reachable):
        problems.append(message("contact_reachable", lang))
    return " ".join(problems) or None


_CHECKERS = {
    "yes_no": _check_yes_no,
    "single": _check_single,
    "multi": _check_multi,
    "integer": _check_integer,
    "month": _check_month,
    "text": _check_text,
    "contact": _check_contact,
}
