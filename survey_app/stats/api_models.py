"""Tables of the published statistics and of the statistics API.

* ``stats_releases`` / ``stats_release_cells``: a frozen release and its table cells. Rows are
  written once by ``releases.publish`` and never changed: the ORM refuses updates and deletes,
  and on PostgreSQL a trigger does the same for any client. The cells hold aggregates only (no
  company, posting, case or response identifiers); a suppressed cell keeps its place with the
  reason (``primary`` or ``secondary``) and no value.
* ``api_clients`` / ``api_keys`` / ``api_calls``: the organisations that read the API (one
  contact person each), their keys (only the SHA-256 of a key is stored, plus a short prefix to
  tell keys apart in listings) and the log of every call.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from survey_app.core.db import db, utcnow


class Release(db.Model):
    __tablename__ = "stats_releases"

    id = db.Column(db.Integer, primary_key=True)
    #: the publication label, e.g. "2026Q2": the half-year window ending with that quarter
    period = db.Column(db.String(8), nullable=False, index=True)
    window_start = db.Column(db.Date, nullable=False)
    window_end = db.Column(db.Date, nullable=False)
    #: codes of the rounds and versions of the question bank behind the release
    rounds = db.Column(db.JSON, nullable=False)
    bank_versions = db.Column(db.JSON, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: weighting and suppression settings, per-class diagnostics (counts only) and sample sizes
    settings = db.Column(db.JSON, nullable=False)
    method = db.Column(db.Text, nullable=False)
    n_sampled = db.Column(db.Integer, nullable=False)
    n_respondents = db.Column(db.Integer, nullable=False)


class ReleaseCell(db.Model):
    __tablename__ = "stats_release_cells"
    __table_args__ = (
        db.UniqueConstraint("release_id", "table_id", "value", "measure"),
        db.Index("ix_stats_release_cells_release_table", "release_id", "table_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    release_id = db.Column(db.ForeignKey("stats_releases.id"), nullable=False)
    #: the API table (one per dimension), e.g. "recruitment_by_area"
    table_id = db.Column(db.String(40), nullable=False)
    #: the dimension ("total", "rar_area", "region", "industry", "sector", "occupation")
    dimension = db.Column(db.String(20), nullable=False)
    value = db.Column(db.String(100), nullable=False)
    measure = db.Column(db.String(24), nullable=False)
    estimate = db.Column(db.Float, nullable=True)
    ci_low = db.Column(db.Float, nullable=True)
    ci_high = db.Column(db.Float, nullable=True)
    #: unweighted number of responses behind the cell
    n = db.Column(db.Integer, nullable=True)
    suppressed = db.Column(db.Boolean, nullable=False, default=False)
    #: "primary" or "secondary" when suppressed
    suppression = db.Column(db.String(10), nullable=True)


class ImmutableReleaseError(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_changes(session, _flush_context, _instances) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, Release | ReleaseCell) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise ImmutableReleaseError(
                f"{type(obj).__tablename__} row {obj.id} is part of a published release; "
                "publish a new release instead"
            )


class ApiClient(db.Model):
    __tablename__ = "api_clients"

    id = db.Column(db.Integer, primary_key=True)
    organisation = db.Column(db.String(200), nullable=False, unique=True)
    contact_name = db.Column(db.String(200), nullable=True)
    #: None once the API user is removed for inactivity (see stats.privacy)
    contact_email = db.Column(db.String(254), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(db.DateTime, nullable=True)
    #: the organisation's name is a person's name: anonymised when the access is removed
    sole_proprietorship = db.Column(db.Boolean, nullable=False, default=False)
    #: when the contact person was deleted for inactivity (the name and usage stay)
    removed_at = db.Column(db.DateTime, nullable=True)


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.ForeignKey("api_clients.id"), nullable=False, index=True)
    key_hash = db.Column(db.String(64), nullable=False, unique=True)
    #: the first characters of the key, shown in listings to tell keys apart
    prefix = db.Column(db.String(16), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    revoked_at = db.Column(db.DateTime, nullable=True)

    client = db.relationship("ApiClient")


class ApiCall(db.Model):
    __tablename__ = "api_calls"

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.ForeignKey("api_clients.id"), nullable=True, index=True)
    key_id = db.Column(db.ForeignKey("api_keys.id"), nullable=True)
    endpoint = db.Column(db.String(200), nullable=False)
    params = db.Column(db.JSON, nullable=False)
    ip = db.Column(db.String(45), nullable=True)
    status = db.Column(db.Integer, nullable=False)
    duration_ms = db.Column(db.Float, nullable=False)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
