"""Where partners hold a person: the one contact person of a job database's organisation."""

from __future__ import annotations

from survey_app.core.db import db
from survey_app.core.personal_data import SubjectRecord, SubjectSource, register_source
from survey_app.core.subject_match import EMAIL

from .models import Organisation


def find_contacts(kind: str, value: str) -> list[SubjectRecord]:
    if kind != EMAIL:
        return []
    rows = db.session.scalars(
        db.select(Organisation)
        .where(db.func.lower(Organisation.contact_email) == value)
        .order_by(Organisation.id)
    ).all()
    return [
        SubjectRecord(
            "organisation_contacts",
            "organisations",
            o.id,
            {"organisation": o.code, "name": o.name, "contact_email": o.contact_email},
            correctable=("contact_email",),
        )
        for o in rows
    ]


def correct_contact(record: SubjectRecord, values: dict[str, str | None]) -> None:
    org = db.session.get(Organisation, record.row_id)
    if "contact_email" in values:
        org.contact_email = values["contact_email"]
    db.session.flush()


def erase_contact(record: SubjectRecord) -> None:
    org = db.session.get(Organisation, record.row_id)
    if org is not None:
        org.contact_email = None
        db.session.flush()


register_source(
    SubjectSource(
        "organisation_contacts",
        "organisations",
        find_contacts,
        correct=correct_contact,
        erase=erase_contact,
    )
)
