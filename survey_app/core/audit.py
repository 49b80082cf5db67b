"""The audit log: who did what to which object, written in the same transaction as the change."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from .db import db, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id = db.Column(db.Integer, primary_key=True)
    #: when it happened (UTC)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    #: the staff user id, or None for the system and respondents
    actor_id = db.Column(db.Integer, nullable=True, index=True)
    #: a short label for who acted when there is no user ("cli", "respondent", "system")
    actor_label = db.Column(db.String(64), nullable=False, default="system")
    #: what was done, dotted ("case.viewed", "export.created", "postings.imported")
    action = db.Column(db.String(64), nullable=False, index=True)
    #: the kind and id of the object acted on
    object_type = db.Column(db.String(32), nullable=True)
    object_id = db.Column(db.String(64), nullable=True)
    #: the client address, if from a request
    ip = db.Column(db.String(64), nullable=True)
    #: structured details; never a token or a password
    details = db.Column(db.JSON, nullable=False, default=dict)


def record(
    action: str, obj_type: str | None = None, obj_id=None, actor_label: str | None = None, **details
) -> AuditEvent:
    actor_id = None
    label = actor_label or "system"
    ip = None
    if has_request_context():
        ip = request.remote_addr
        if current_user and getattr(current_user, "is_authenticated", False):
            actor_id = current_user.id
            label = actor_label or current_user.email
    event = AuditEvent(
        actor_id=actor_id,
        actor_label=label,
        action=action,
        object_type=obj_type,
        object_id=None if obj_id is None else str(obj_id),
        ip=ip,
        details=details,
    )
    db.session.add(event)
    return event
