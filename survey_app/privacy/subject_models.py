"""Data-subject requests and the restrictions they leave behind.

Neither table holds the address or number a request was about: only a keyed hash of it (HMAC-
SHA256 under the secret key), enough to recognise the person again (a restriction checked by
the send path, a repeated request) without keeping a readable trace after an erasure.
"""

from __future__ import annotations

from survey_app.core.db import db, utcnow

#: what a request did
ACTIONS = ("find", "export", "correct", "restrict", "erase")


class SubjectRequest(db.Model):
    """One data-subject request handled by an administrator: who, what, how much it touched."""

    __tablename__ = "subject_requests"

    id = db.Column(db.Integer, primary_key=True)
    #: find, export, correct, restrict, erase
    action = db.Column(db.String(12), nullable=False, index=True)
    #: email or phone
    kind = db.Column(db.String(8), nullable=False)
    #: HMAC-SHA256 of "kind:normalised value"
    value_hash = db.Column(db.String(64), nullable=False, index=True)
    actor_id = db.Column(db.ForeignKey("users.id"), nullable=True, index=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: records found or changed, in all and per source ({"posting_contacts": 2, ...})
    records = db.Column(db.Integer, nullable=False, default=0)
    sources = db.Column(db.JSON, nullable=False, default=dict)
    #: for a correction: the source, row and field changed (never the values)
    detail = db.Column(db.JSON, nullable=False, default=dict)


class SubjectRestriction(db.Model):
    """A person nothing more may be sent to or done with: restricted, or erased (so that a later
    import of the same contact is not contacted again)."""

    __tablename__ = "subject_restrictions"
    __table_args__ = (db.UniqueConstraint("kind", "value_hash"),)

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(8), nullable=False)
    value_hash = db.Column(db.String(64), nullable=False)
    #: restricted or erased
    reason = db.Column(db.String(12), nullable=False)
    request_id = db.Column(db.ForeignKey("subject_requests.id"), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
