"""The register of personal data: what each table holds, the rules that govern it, and where a
person can be found.

Every feature module registers its own tables, retention rules and data-subject sources when it
is imported (in a ``privacy.py`` beside its models). The registry lives in ``core`` so that every
module can register without importing a module above it; the ``privacy`` module reads it to run
retention, answer data-subject requests and show the register, and a test checks that every table
in the metadata is registered and that every personal column is covered by a rule.

The prose (a table's purpose and retention, a rule's description, an exemption's reason) is
registered as a lazy translatable string (``flask_babel.lazy_gettext``) with the English text as
its msgid, so the register page shows it in the reader's language; it is resolved only when
rendered, so this module imports without an app context. Code that stores, compares or writes
these texts out takes ``str(...)`` of them. Names of tables, columns and rules are identifiers
and never translated.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class TableEntry:
    """One table: which columns hold personal data (none is a valid answer), why it is kept and
    how long, in words an operator and a data-protection officer can read."""

    table: str
    personal_columns: tuple[str, ...]
    purpose: str
    retention: str
    module: str


@dataclass
class RetentionReport:
    """What a rule did, or would do in a dry run. ``sample`` holds row ids, never personal data."""

    rule: str
    dry_run: bool
    affected: int = 0
    notified: int = 0
    sample: list[str] = field(default_factory=list)
    details: dict[str, int] = field(default_factory=dict)


def due_rows(rule: str, model, dry_run: bool, *where) -> tuple[RetentionReport, list[int]]:
    """The ids of ``model``'s rows that match ``where``, in id order, and the rule's report of
    them (their count and the first ten ids); the rule then changes or deletes those rows."""
    from .db import db

    ids = db.session.scalars(db.select(model.id).where(*where).order_by(model.id)).all()
    return RetentionReport(rule, dry_run, affected=len(ids), sample=[str(i) for i in ids[:10]]), ids


@dataclass(frozen=True)
class RetentionRule:
    """A periodic deletion or pseudonymisation. ``apply(now, dry_run)`` must change nothing when
    ``dry_run`` is true and must be idempotent."""

    name: str
    description: str
    tables: tuple[str, ...]
    columns: tuple[str, ...]  # "table.column" for each personal column the rule clears
    apply: Callable[[datetime, bool], RetentionReport]


@dataclass
class SubjectRecord:
    """One row that concerns a person found by e-mail address or phone number."""

    source: str
    table: str
    row_id: Any
    data: dict[str, Any]  # JSON-serialisable: the personal fields and enough context to read them
    correctable: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubjectSource:
    """Where a data-subject request looks. ``find(kind, value)`` gets ``kind`` "email" or "phone"
    and a normalised value (lower-cased address; E.164 number). ``erase`` must keep a statistical
    answer while removing the person from it; ``restrict`` stops further processing and contact."""

    name: str
    table: str
    find: Callable[[str, str], list[SubjectRecord]]
    correct: Callable[[SubjectRecord, dict[str, str]], None] | None = None
    restrict: Callable[[SubjectRecord], None] | None = None
    erase: Callable[[SubjectRecord], None] | None = None


_tables: dict[str, TableEntry] = {}
_rules: dict[str, RetentionRule] = {}
_sources: dict[str, SubjectSource] = {}


def register_table(
    table: str, personal_columns: tuple[str, ...], purpose: str, retention: str, module: str
) -> None:
    _tables[table] = TableEntry(table, tuple(personal_columns), purpose, retention, module)


def register_rule(rule: RetentionRule) -> None:
    _rules[rule.name] = rule


def register_source(source: SubjectSource) -> None:
    _sources[source.name] = source


def tables() -> dict[str, TableEntry]:
    return dict(_tables)


def rules() -> dict[str, RetentionRule]:
    return dict(_rules)


def sources() -> dict[str, SubjectSource]:
    return dict(_sources)


# -- helpers for the modules' registrations and rules ----------------------------------------

_exemptions: dict[str, str] = {}


def register_exemption(column: str, reason: str) -> None:
    """A personal column ("table.column") that no retention rule clears, and why: e.g. a staff
    user's own e-mail address, kept while the account exists. Shown in the register."""
    _exemptions[column] = reason


def exemptions() -> dict[str, str]:
    return dict(_exemptions)


def months_before(now: datetime, months: float) -> datetime:
    """``now`` minus whole calendar months, then the fraction as days of a 30-day month
    (18.5 months = 18 calendar months and 15 days). The day is clamped to the month's end."""
    whole = int(months)
    days = round((months - whole) * 30)
    year, month = divmod(now.year * 12 + (now.month - 1) - whole, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day) - timedelta(days=days)


_EMAIL_TEXT = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
#: a number with a country code (+45 / 0045 ...), or a Danish number: 8 digits, as 2-2-2-2 or
#: 4-4 with one kind of separator (so a date such as 10-05-2026 is not taken for one)
_PHONE_TEXT = re.compile(
    r"(?<![\w+])(?:"
    r"(?:\+|00)\d{1,3}[ .-]?\d(?:[ .-]?\d){5,12}"
    r"|\d{8}"
    r"|\d{2}([ .-])\d{2}\1\d{2}\1\d{2}"
    r"|\d{4}[ .-]\d{4}"
    r")(?!\w)"
)
EMAIL_MARK, PHONE_MARK, NAME_MARK = "[e-mail]", "[phone]", "[name]"
CONTACT_KEYS = ("name", "email", "phone")


def scrub_text(text: str, names: Iterable[str] = ()) -> str:
    """``text`` without e-mail addresses, phone numbers and the given names (each whole name and
    each of its capitalised parts of three letters or more, case-insensitive, whole words)."""
    out = _EMAIL_TEXT.sub(EMAIL_MARK, text)
    out = _PHONE_TEXT.sub(PHONE_MARK, out)
    parts: set[str] = set()
    for name in names:
        name = (name or "").strip()
        if not name:
            continue
        parts.add(name)
        parts.update(p for p in re.split(r"[\s,.;]+", name) if len(p) >= 3 and p[0].isupper())
    for part in sorted(parts, key=len, reverse=True):
        out = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", NAME_MARK, out, flags=re.IGNORECASE)
    return out


def scrub_value(value: Any, names: Iterable[str] = ()) -> Any:
    """A stored JSON value without personal data: strings scrubbed (see :func:`scrub_text`),
    contact fields (name, e-mail, phone) of a dict emptied; numbers and codes untouched."""
    names = tuple(names)
    if isinstance(value, str):
        return scrub_text(value, names)
    if isinstance(value, list):
        return [scrub_value(v, names) for v in value]
    if isinstance(value, dict):
        return {k: (None if k in CONTACT_KEYS else scrub_value(v, names)) for k, v in value.items()}
    return value


def names_in(value: Any) -> list[str]:
    """The names given in a contact answer (the ``name`` fields of dicts), for scrubbing."""
    if isinstance(value, dict):
        found = [value["name"]] if isinstance(value.get("name"), str) else []
        for v in value.values():
            found.extend(names_in(v))
        return found
    if isinstance(value, list):
        return [n for v in value for n in names_in(v)]
    return []


#: the retention limits, each overridable by SURVEY_<name>
DEFAULTS = {
    "RETENTION_CONTACT_MONTHS": 18.5,  # contact persons (domain: 18½ months, notice one before)
    "RETENTION_API_MONTHS": 18,  # API users (domain: inactive more than 18 months)
    "RETENTION_IP_DAYS": 180,  # client addresses in logs (API calls, audit, staff sessions)
    "RETENTION_SESSION_DAYS": 30,  # ended staff sessions
    "RETENTION_LETTER_DAYS": 90,  # printable letter PDFs (names and addresses)
    "RETENTION_EXPORT_DAYS": 30,  # export files of a round's dataset
}


def setting(name: str, default: Any = None) -> Any:
    """A retention setting from the app config (``SURVEY_<name>``), else its default."""
    from flask import current_app

    value = current_app.config.get(name)
    if value is None:
        value = DEFAULTS.get(name, default)
    return value
