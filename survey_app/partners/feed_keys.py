"""Feed keys: how a partner's system authenticates when it delivers postings over HTTP.

A key is ``fk_`` plus 43 characters of URL-safe base64 (256 bits from ``secrets``). The database
keeps its SHA-256 for look-up and the first characters as a non-secret prefix for listings; the
key is shown once, at creation. Write operations flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from survey_app.core import audit
from survey_app.core.db import db, utcnow

from .models import FeedKey, Organisation

KEY_PREFIX = "fk_"
PREFIX_CHARS = 10


class FeedKeyError(ValueError):
    pass


@dataclass(frozen=True)
class NewFeedKey:
    key: FeedKey
    #: the secret; not stored anywhere, shown to the operator once
    secret: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_feed_key(org: Organisation, label: str | None = None) -> NewFeedKey:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = FeedKey(
        organisation_id=org.id,
        key_hash=hash_key(secret),
        prefix=secret[:PREFIX_CHARS],
        label=label,
    )
    db.session.add(key)
    db.session.flush()
    audit.record("feed_key.created", "feed_key", key.id, organisation=org.code, prefix=key.prefix)
    return NewFeedKey(key, secret)


def list_feed_keys(org: Organisation) -> list[FeedKey]:
    return list(
        db.session.scalars(
            db.select(FeedKey).filter_by(organisation_id=org.id).order_by(FeedKey.id)
        )
    )


def revoke_feed_keys(org: Organisation, key_id: int | None = None) -> list[FeedKey]:
    """Revoke one active key of ``org`` (by id) or, with ``key_id`` None, all of them."""
    query = db.select(FeedKey).filter_by(organisation_id=org.id, revoked_at=None)
    if key_id is not None:
        query = query.filter_by(id=key_id)
    keys = list(db.session.scalars(query))
    if key_id is not None and not keys:
        raise FeedKeyError(f"{org.code} has no active feed key with id {key_id}")
    now = utcnow()
    for key in keys:
        key.revoked_at = now
        audit.record(
            "feed_key.revoked", "feed_key", key.id, organisation=org.code, prefix=key.prefix
        )
    db.session.flush()
    return keys


def authenticate(secret: str | None) -> FeedKey | None:
    """The active key for a presented secret, or None. Marks the key as used (flushes)."""
    if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    digest = hash_key(secret)
    key = db.session.execute(db.select(FeedKey).filter_by(key_hash=digest)).scalar_one_or_none()
    # The look-up is by hash; compare again in constant time for good measure.
    if key is None or not hmac.compare_digest(key.key_hash, digest) or not key.is_active:
        return None
    key.last_used_at = utcnow()
    return key
