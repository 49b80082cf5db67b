"""API clients and their keys.

A key is 32 random bytes from ``secrets`` (256 bits), URL-safe, with the prefix ``rsk_``. Only
its SHA-256 is stored, with its first characters for listings; the key itself is shown once, when
it is created. A revoked key stays in the table (the call log points at it) and never works again.
"""

from __future__ import annotations

import hashlib
import secrets

from survey_app.core import audit
from survey_app.core.db import db, utcnow
from survey_app.core.ids import parse_id

from ..api_models import ApiClient, ApiKey

KEY_PREFIX = "rsk_"
SHOWN = 12


class KeyError_(ValueError):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(organisation: str, contact_email: str, contact_name: str | None = None):
    """A new key for the organisation (created with its contact on first use): ``(key, row)``."""
    organisation = (organisation or "").strip()
    contact_email = (contact_email or "").strip()
    if not organisation:
        raise KeyError_("--org must name the organisation")
    if "@" not in contact_email or " " in contact_email:
        raise KeyError_(f"--contact must be an e-mail address, not {contact_email!r}")
    client = db.session.execute(
        db.select(ApiClient).filter_by(organisation=organisation)
    ).scalar_one_or_none()
    if client is None:
        client = ApiClient(
            organisation=organisation, contact_email=contact_email, contact_name=contact_name
        )
        db.session.add(client)
        db.session.flush()
    elif client.contact_email is None:  # removed for inactivity: a new contact person
        client.contact_email, client.contact_name, client.removed_at = (
            contact_email,
            contact_name,
            None,
        )
    elif client.contact_email != contact_email:
        raise KeyError_(
            f"{organisation} has the contact person {client.contact_email}; one contact per "
            "organisation"
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(client_id=client.id, key_hash=hash_key(key), prefix=key[:SHOWN])
    db.session.add(row)
    db.session.flush()
    audit.record("api_key.created", "api_key", row.id, actor_label="cli", org=organisation)
    return key, row


def revoke(prefix_or_id: str) -> ApiKey:
    text = (prefix_or_id or "").strip()
    query = db.select(ApiKey)
    key_id = parse_id(text)
    query = query.filter_by(id=key_id) if key_id is not None else query.filter_by(prefix=text)
    rows = db.session.scalars(query).all()
    if not rows:
        raise KeyError_(f"no API key with id or prefix {text!r}")
    if len(rows) > 1:
        raise KeyError_(f"prefix {text!r} matches {len(rows)} keys; give the key id")
    row = rows[0]
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record("api_key.revoked", "api_key", row.id, actor_label="cli")
    return row


def authenticate(key: str) -> ApiKey | None:
    """The active key row for ``key``, or None (unknown or revoked keys alike)."""
    row = db.session.execute(
        db.select(ApiKey).filter_by(key_hash=hash_key(key))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return row
