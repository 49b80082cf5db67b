"""Exports of a round's dataset and the outbox of webhook deliveries to STAR."""

from __future__ import annotations

from survey_app.core.db import db, utcnow

EXPORT_STATES = ("queued", "running", "ready", "failed")
DELIVERY_STATES = ("queued", "sending", "delivered", "failed")


class Export(db.Model):
    """One requested export file of a round, in one format, for one scope."""

    __tablename__ = "exports"

    id = db.Column(db.Integer, primary_key=True)
    round_id = db.Column(db.ForeignKey("rounds.id"), nullable=False, index=True)
    #: csv, parquet, sav, dta, bundle
    format = db.Column(db.String(12), nullable=False)
    #: the staff user who asked for it (None from the command line)
    requested_by_id = db.Column(db.ForeignKey("users.id"), nullable=True, index=True)
    #: None: every case (STAR); else only the cases fielded under this organisation's brands
    organisation_id = db.Column(db.ForeignKey("organisations.id"), nullable=True, index=True)
    #: queued, running, ready, failed
    state = db.Column(db.String(12), nullable=False, default="queued", index=True)
    #: the file, relative to the export directory
    path = db.Column(db.String(500), nullable=True)
    row_count = db.Column(db.Integer, nullable=True)
    size_bytes = db.Column(db.BigInteger, nullable=True)
    sha256 = db.Column(db.String(64), nullable=True)
    error = db.Column(db.Text, nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime, nullable=True)
    finished_at = db.Column(db.DateTime, nullable=True)
    #: times a worker started writing the file (a crashed worker's export is started again)
    attempts = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    #: refreshed while a worker writes the file; an old one means the worker is gone
    heartbeat_at = db.Column(db.DateTime, nullable=True)

    round = db.relationship("FieldingRound")
    requested_by = db.relationship("User")
    organisation = db.relationship("Organisation")

    @property
    def is_ready(self) -> bool:
        return self.state == "ready"


class Delivery(db.Model):
    """One completed response pushed to STAR's webhook: written first, then sent with retries.

    The delivery id travels as the idempotency key, so the receiver can drop a repeat.
    """

    __tablename__ = "deliveries"
    __table_args__ = (db.Index("ix_deliveries_state_next_attempt_at", "state", "next_attempt_at"),)

    id = db.Column(db.Integer, primary_key=True)
    response_id = db.Column(db.ForeignKey("responses.id"), nullable=False, unique=True)
    #: the JSON body, fixed when the row is written, so every attempt sends the same bytes
    payload = db.Column(db.Text, nullable=False)
    #: sha256 of ``payload``
    payload_hash = db.Column(db.String(64), nullable=False)
    #: queued, sending, delivered, failed
    state = db.Column(db.String(12), nullable=False, default="queued", index=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    next_attempt_at = db.Column(db.DateTime, nullable=True)
    #: when a sender claimed it (state sending); an old claim is a crashed sender's
    claimed_at = db.Column(db.DateTime, nullable=True)
    last_status = db.Column(db.Integer, nullable=True)
    last_error = db.Column(db.Text, nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    delivered_at = db.Column(db.DateTime, nullable=True)

    response = db.relationship("Response")
