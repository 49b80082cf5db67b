"""Data-subject requests: find everything about a person by e-mail or phone, export it, correct
a field, restrict further processing, or erase the person while the statistical answer stays.

Each feature module registers where it holds a person (``<module>/subjects.py``, a
``SubjectSource`` each); this module asks every registered source. Every request is written as
a ``SubjectRequest`` row and an audit event, neither of which holds the searched value.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from survey_app.core import audit, personal_data
from survey_app.core.db import db, utcnow
from survey_app.core.personal_data import SubjectRecord, SubjectSource
from survey_app.core.subject_match import (
    EMAIL,
    KINDS,
    PHONE,
    SubjectValueError,
    normalise,
)

from .subject_models import SubjectRequest, SubjectRestriction

personal_data.register_table(
    "subject_requests",
    (),
    _l(
        "Which data-subject requests were handled, by whom, with how many records (a keyed hash "
        "stands for the address or number)"
    ),
    _l("Kept as the record of the controller's answers to requests"),
    "privacy",
)
personal_data.register_table(
    "subject_restrictions",
    (),
    _l(
        "Persons whose data may not be processed further or who were erased (keyed hash only), "
        "checked before anything is sent"
    ),
    _l(
        "Kept while the restriction holds; an erasure's marker is kept so the person is not "
        "contacted again"
    ),
    "privacy",
)


class RequestError(ValueError):
    """A request that cannot be carried out, with a message saying what and where."""


@dataclass(frozen=True)
class Subject:
    kind: str
    value: str

    @property
    def hash(self) -> str:
        return value_hash(self.kind, self.value)


@dataclass
class Findings:
    subject: Subject
    by_source: dict[str, list[SubjectRecord]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.by_source.values())

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.by_source.items() if rows}


def value_hash(kind: str, value: str) -> str:
    key = ("subject:" + current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def parse(kind: str | None, raw: str | None) -> Subject:
    """The subject of a request from the form: RequestError says what is wrong."""
    if kind not in KINDS:
        raise RequestError(f"kind {kind!r}: choose 'email' or 'phone'")
    try:
        value = normalise(kind, raw)
    except SubjectValueError as exc:
        raise RequestError(f"{'e-mail' if kind == EMAIL else 'phone'}: {exc}") from None
    if value is None:
        raise RequestError(f"{'e-mail' if kind == EMAIL else 'phone'}: give a value")
    return Subject(kind, value)


def _ordered_sources() -> list[SubjectSource]:
    return list(personal_data.sources().values())


def _collect(subject: Subject) -> Findings:
    findings = Findings(subject)
    for source in _ordered_sources():
        rows = source.find(subject.kind, subject.value)
        findings.by_source[source.name] = rows
    return findings


def _log(action: str, findings: Findings, **detail) -> SubjectRequest:
    row = SubjectRequest(
        action=action,
        kind=findings.subject.kind,
        value_hash=findings.subject.hash,
        actor_id=_actor_id(),
        records=findings.count,
        sources=findings.counts(),
        detail=detail,
    )
    db.session.add(row)
    db.session.flush()
    # the audit event names the request row, never the address or number
    audit.record(
        f"subject.{action}",
        "subject_request",
        row.id,
        kind=findings.subject.kind,
        records=findings.count,
        **detail,
    )
    return row


def _actor_id() -> int | None:
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return current_user.id
    return None


def find(subject: Subject) -> Findings:
    """Every record about the person, grouped by source; the request is recorded."""
    findings = _collect(subject)
    _log("find", findings)
    db.session.commit()
    return findings


def export(subject: Subject) -> dict[str, Any]:
    """The JSON document of everything held about the person (for access and portability)."""
    findings = _collect(subject)
    request = _log("export", findings)
    document = {
        "request": request.id,
        "generated_at": _iso(utcnow()),
        "subject": {"kind": subject.kind, "value": subject.value},
        "restriction": restriction_of(subject),
        "sources": {
            name: [
                {"table": r.table, "id": r.row_id, "data": _jsonable(r.data)} for r in rows
            ]  # fmt: skip
            for name, rows in findings.by_source.items()
            if rows
        },
    }
    db.session.commit()
    return document


def correct(subject: Subject, source_name: str, row_id: str, field_name: str, new: str) -> None:
    """Set one field of one found record. An e-mail or phone field takes only a valid value;
    RequestError names the record, the field and the value."""
    source = personal_data.sources().get(source_name)
    where = f"{source_name} record {row_id}, field {field_name}"
    if source is None or source.correct is None:
        raise RequestError(f"{where}: this source cannot be corrected here")
    record = next(
        (r for r in source.find(subject.kind, subject.value) if str(r.row_id) == str(row_id)),
        None,
    )
    if record is None:
        raise RequestError(f"{where}: no such record of this person")
    if field_name not in record.correctable:
        allowed = ", ".join(record.correctable) or "none"
        raise RequestError(f"{where}: not a field that can be corrected (allowed: {allowed})")
    value = (new or "").strip()
    kind = EMAIL if "email" in field_name else PHONE if "phone" in field_name else None
    if kind is not None:
        try:
            value = normalise(kind, value) or ""
        except SubjectValueError as exc:
            raise RequestError(f"{where}: {exc}") from None
    elif len(value) > 200:
        raise RequestError(f"{where}: at most 200 characters (got {len(value)})")
    source.correct(record, {field_name: value or None})
    findings = Findings(subject, {source_name: [record]})
    _log("correct", findings, source=source_name, row=str(row_id), field=field_name)
    db.session.commit()


def restrict(subject: Subject) -> Findings:
    """No further contact on any channel and no further processing: each source stops what it
    does with the person (cases stopped, every channel suppressed), and a restriction row makes
    the send path refuse the address from now on."""
    findings = _collect(subject)
    request = _log("restrict", findings)
    for linked in linked_subjects(findings):
        _mark(linked, "restricted", request.id)
    for source in _ordered_sources():
        if source.restrict is None:
            continue
        for record in findings.by_source.get(source.name, []):
            source.restrict(record)
    db.session.commit()
    return findings


def erase(subject: Subject, also: list[Subject] | tuple[Subject, ...] = ()) -> int:
    """Remove the person everywhere, by the searched value and by the other addresses of the
    person the administrator ticked (``also``). Answers keep their coded values (the statistical
    answer stays) with personal free text removed; cases and responses stay. Returns the number
    of records erased; each value is its own recorded request."""
    total = 0
    for target in dict.fromkeys([subject, *also]):
        findings = _collect(target)
        request = _log("erase", findings)
        for linked in linked_subjects(findings):
            _mark(linked, "erased", request.id)
        for source in _ordered_sources():
            if source.erase is None:
                continue
            for record in findings.by_source.get(source.name, []):
                source.erase(record)
        db.session.flush()
        total += findings.count
    db.session.commit()
    return total


_EMAIL_KEYS = ("contact_email", "email")
_PHONE_KEYS = ("contact_phone", "phone", "referred_phone")


def linked_subjects(findings: Findings) -> list[Subject]:
    """The person's other address or number, as the found records give them (the posting's
    contact, a referral answer), so that restricting by phone also stops e-mails."""
    found = {(findings.subject.kind, findings.subject.value)}
    for records in findings.by_source.values():
        for record in records:
            for item in _structured(record.data):
                for key, kind in [(k, EMAIL) for k in _EMAIL_KEYS] + [
                    (k, PHONE) for k in _PHONE_KEYS
                ]:
                    try:
                        value = normalise(kind, item.get(key))
                    except (SubjectValueError, TypeError):
                        value = None
                    if value:
                        found.add((kind, value))
    return [Subject(k, v) for k, v in sorted(found)]


def _structured(data: dict):
    """The record's data and the dicts inside it (a referral answer, a case's addresses)."""
    yield data
    addresses = data.get("contact_addresses")
    if isinstance(addresses, dict):
        yield {"email": addresses.get("email"), "phone": addresses.get("sms")}
    if isinstance(data.get("value"), dict):
        yield data["value"]


def _mark(subject: Subject, reason: str, request_id: int) -> None:
    row = db.session.execute(
        db.select(SubjectRestriction).filter_by(kind=subject.kind, value_hash=subject.hash)
    ).scalar_one_or_none()
    if row is None:
        db.session.add(
            SubjectRestriction(
                kind=subject.kind, value_hash=subject.hash, reason=reason, request_id=request_id
            )
        )
    elif reason == "erased":
        row.reason, row.request_id = reason, request_id
    db.session.flush()


def restriction_of(subject: Subject) -> str | None:
    return db.session.scalar(
        db.select(SubjectRestriction.reason).filter_by(kind=subject.kind, value_hash=subject.hash)
    )


def restricted_addresses(channel: str, addresses) -> set[str]:
    """The addresses (lower-cased e-mails or E.164 numbers, as the outbox stores them) that a
    restriction or erasure forbids to use. The send path calls this before every send."""
    kind = EMAIL if channel == "email" else PHONE if channel == "sms" else None
    if kind is None:
        return set()
    by_hash = {value_hash(kind, a): a for a in set(addresses) if a}
    if not by_hash:
        return set()
    hashes = list(by_hash)
    found: set[str] = set()
    for i in range(0, len(hashes), 500):
        for h in db.session.scalars(
            db.select(SubjectRestriction.value_hash).where(
                SubjectRestriction.kind == kind,
                SubjectRestriction.value_hash.in_(hashes[i : i + 500]),
            )
        ):
            found.add(by_hash[h])
    return found


def _iso(value: datetime) -> str:
    return value.isoformat()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
