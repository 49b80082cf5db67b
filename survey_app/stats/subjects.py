"""Where statistics holds a person: an API client's contact person, and the copies of
completed responses delivered to STAR (their answers may quote the person).

A delivery's payload is rebuilt from the stored answers after the questionnaire's source has
removed the personal text, so the copy keeps exactly the statistical answer."""

from __future__ import annotations

from sqlalchemy import func, or_

from survey_app.core.db import db
from survey_app.core.personal_data import SubjectRecord, SubjectSource, register_source
from survey_app.core.subject_match import EMAIL, ERASED, like_pattern, mentions, same

from .api_models import ApiClient
from .models import Delivery


def find_api_clients(kind: str, value: str) -> list[SubjectRecord]:
    if kind != EMAIL:
        return []
    pattern = like_pattern(kind, value)
    rows = db.session.scalars(
        db.select(ApiClient)
        .where(
            or_(
                func.lower(ApiClient.contact_email).like(pattern, escape="\\"),
                func.lower(ApiClient.contact_name).like(pattern, escape="\\"),
            )
        )
        .order_by(ApiClient.id)
    ).all()
    return [
        SubjectRecord(
            "api_clients",
            "api_clients",
            c.id,
            {
                "organisation": c.organisation,
                "contact_name": c.contact_name,
                "contact_email": c.contact_email,
                "created_at": c.created_at.isoformat(),
                "last_used_at": c.last_used_at.isoformat() if c.last_used_at else None,
            },
            correctable=("contact_name", "contact_email"),
        )
        for c in rows
        if same(kind, c.contact_email, value) or mentions(kind, c.contact_name, value)
    ]


def correct_api_client(record: SubjectRecord, values: dict[str, str | None]) -> None:
    client = db.session.get(ApiClient, record.row_id)
    for name, value in values.items():
        if name == "contact_email" and not value:
            continue  # the column is required: an erasure clears it, a correction cannot
        if name in ("contact_name", "contact_email"):
            setattr(client, name, value)
    db.session.flush()


def erase_api_client(record: SubjectRecord) -> None:
    """The organisation and its usage stay; its contact person goes."""
    client = db.session.get(ApiClient, record.row_id)
    if client is not None:
        client.contact_name, client.contact_email = None, ERASED
        db.session.flush()


def find_deliveries(kind: str, value: str) -> list[SubjectRecord]:
    rows = db.session.execute(
        db.select(Delivery.id, Delivery.response_id, Delivery.state, Delivery.payload)
        .where(func.lower(Delivery.payload).like(like_pattern(kind, value), escape="\\"))
        .order_by(Delivery.id)
    ).all()
    return [
        SubjectRecord(
            "deliveries",
            "deliveries",
            did,
            {"response_id": rid, "state": state, "payload": payload},
        )
        for did, rid, state, payload in rows
        if mentions(kind, payload, value)
    ]


def erase_delivery(record: SubjectRecord) -> None:
    from .delivery import encode, payloads

    delivery = db.session.get(Delivery, record.row_id)
    if delivery is None:
        return
    db.session.flush()
    body = payloads([delivery.response_id]).get(delivery.response_id)
    if body is None:
        return
    import hashlib

    delivery.payload = encode(body)
    delivery.payload_hash = hashlib.sha256(delivery.payload.encode("utf-8")).hexdigest()
    db.session.flush()


register_source(
    SubjectSource(
        "api_clients",
        "api_clients",
        find_api_clients,
        correct=correct_api_client,
        erase=erase_api_client,
    )
)
register_source(SubjectSource("deliveries", "deliveries", find_deliveries, erase=erase_delivery))
