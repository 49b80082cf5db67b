"""Where sampling holds a person: the contact person of a posting (name, e-mail, phone, and
the posting's text when it mentions them) and the rejected feed rows that carried their
address or number."""

from __future__ import annotations

from sqlalchemy import func, or_

from survey_app.core.db import db
from survey_app.core.personal_data import SubjectRecord, SubjectSource, register_source
from survey_app.core.subject_match import EMAIL, ERASED, like_pattern, mentions, same

from .models import ImportRowError, Posting

CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone")


def _matches(kind: str, value: str, posting: Posting) -> tuple[bool, bool]:
    """(the contact is the person, the text mentions them)."""
    stored = posting.contact_email if kind == EMAIL else posting.contact_phone
    return same(kind, stored, value), mentions(kind, posting.text, value)


def find_postings(kind: str, value: str) -> list[SubjectRecord]:
    pattern = like_pattern(kind, value)
    column = Posting.contact_email if kind == EMAIL else Posting.contact_phone
    candidates = db.session.scalars(
        db.select(Posting)
        .where(
            or_(
                func.lower(column).like(pattern, escape="\\"),
                func.lower(Posting.text).like(pattern, escape="\\"),
            )
        )
        .order_by(Posting.id)
    ).all()
    records = []
    for posting in candidates:
        contact, text = _matches(kind, value, posting)
        if not (contact or text):
            continue
        data = {
            "source": posting.source.code,
            "source_posting_id": posting.source_posting_id,
            "job_title": posting.job_title,
            "posted_on": posting.posted_on.isoformat() if posting.posted_on else None,
            "company_cvr": posting.company.cvr,
            "company_name": posting.company.name,
        }
        if contact:
            data.update({f: getattr(posting, f) for f in CONTACT_FIELDS})
        if text:
            data["text"] = posting.text
        records.append(
            SubjectRecord(
                "posting_contacts",
                "postings",
                posting.id,
                data,
                correctable=CONTACT_FIELDS if contact else (),
            )
        )
    return records


def _posting(record: SubjectRecord) -> Posting | None:
    return db.session.get(Posting, record.row_id)


def correct_posting(record: SubjectRecord, values: dict[str, str | None]) -> None:
    posting = _posting(record)
    for name, value in values.items():
        if name in CONTACT_FIELDS:
            setattr(posting, name, value)
    db.session.flush()


def erase_posting(record: SubjectRecord) -> None:
    posting = _posting(record)
    if posting is None:
        return
    if "contact_name" in record.data:
        posting.contact_name = posting.contact_email = posting.contact_phone = None
    if "text" in record.data:
        # the posting's text is the company's advertisement; a text that names the person
        # loses the whole text rather than leaving fragments
        posting.text = None
    db.session.flush()


def find_row_errors(kind: str, value: str) -> list[SubjectRecord]:
    """Rejected feed rows keep the bad value; a contact field's value may be the person's."""
    rows = db.session.scalars(
        db.select(ImportRowError)
        .where(
            ImportRowError.field.in_(CONTACT_FIELDS),
            func.lower(ImportRowError.value).like(like_pattern(kind, value), escape="\\"),
        )
        .order_by(ImportRowError.id)
    ).all()
    return [
        SubjectRecord(
            "import_row_errors",
            "import_row_errors",
            r.id,
            {
                "batch": r.batch_id,
                "row": r.row_number,
                "field": r.field,
                "value": r.value,
                "reason": r.reason,
            },  # fmt: skip
        )
        for r in rows
        if same(kind, r.value, value) or mentions(kind, r.value, value)
    ]


def erase_row_error(record: SubjectRecord) -> None:
    row = db.session.get(ImportRowError, record.row_id)
    if row is not None:
        row.value = ERASED
        row.reason = "value erased at the person's request"
        db.session.flush()


register_source(
    SubjectSource(
        "posting_contacts",
        "postings",
        find_postings,
        correct=correct_posting,
        erase=erase_posting,
    )
)
register_source(
    SubjectSource("import_row_errors", "import_row_errors", find_row_errors, erase=erase_row_error)
)
