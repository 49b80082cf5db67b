from __future__ import annotations

from survey_app.core.db import db, utcnow


class Company(db.Model):
    """A legal unit, identified by its CVR number."""

    __tablename__ = "companies"

    id = db.Column(db.Integer, primary_key=True)
    cvr = db.Column(db.String(8), nullable=False, unique=True)
    name = db.Column(db.String(300), nullable=False)
    #: a sole proprietorship's name is personal data
    sole_proprietorship = db.Column(db.Boolean, nullable=False, default=False)
    industry_code = db.Column(db.String(8), nullable=True)
    sector = db.Column(db.String(8), nullable=True)


class ProductionUnit(db.Model):
    """A workplace (P-number) of a company."""

    __tablename__ = "production_units"

    id = db.Column(db.Integer, primary_key=True)
    p_number = db.Column(db.String(10), nullable=False, unique=True)
    company_id = db.Column(db.ForeignKey("companies.id"), nullable=False, index=True)
    municipality_code = db.Column(db.String(3), nullable=True)


class Posting(db.Model):
    """A job posting (or a closed job order) delivered by STAR's sources or a job database."""

    __tablename__ = "postings"
    __table_args__ = (db.UniqueConstraint("source_id", "source_posting_id"),)

    id = db.Column(db.Integer, primary_key=True)
    #: the organisation that delivered it
    source_id = db.Column(db.ForeignKey("organisations.id"), nullable=False, index=True)
    source_posting_id = db.Column(db.String(100), nullable=False)
    #: "posting" or "job_order"
    kind = db.Column(db.String(12), nullable=False, default="posting")
    posted_on = db.Column(db.Date, nullable=True, index=True)
    application_deadline = db.Column(db.Date, nullable=True)
    job_title = db.Column(db.String(200), nullable=False)
    occupation_code = db.Column(db.String(8), nullable=True, index=True)
    #: "feed" or "classified" (from the title) or None
    occupation_source = db.Column(db.String(12), nullable=True)
    company_id = db.Column(db.ForeignKey("companies.id"), nullable=False, index=True)
    production_unit_id = db.Column(db.ForeignKey("production_units.id"), nullable=True, index=True)
    municipality_code = db.Column(db.String(3), nullable=True)
    #: derived from the municipality (one of the 8 RAR areas)
    rar_area = db.Column(db.String(32), nullable=True, index=True)
    #: None for a long-running job order
    positions = db.Column(db.Integer, nullable=True)
    long_running = db.Column(db.Boolean, nullable=False, default=False)
    contact_name = db.Column(db.String(200), nullable=True)
    contact_email = db.Column(db.String(254), nullable=True)
    #: E.164
    contact_phone = db.Column(db.String(20), nullable=True)
    url = db.Column(db.String(2000), nullable=True)
    text = db.Column(db.Text, nullable=True)
    #: job orders: open, temporarily_inactive, closed; with the unit responsible
    job_order_status = db.Column(db.String(24), nullable=True)
    close_reason = db.Column(db.String(200), nullable=True)
    responsible_unit = db.Column(db.String(200), nullable=True)
    responsible_unit_type = db.Column(db.String(12), nullable=True)
    #: an internal job order is never shown to a partner
    internal = db.Column(db.Boolean, nullable=False, default=False)
    #: completeness score (see sampling.quality)
    quality = db.Column(db.Integer, nullable=False, default=0)
    #: set when merged into a better record of the same posting from another source
    duplicate_of_id = db.Column(db.ForeignKey("postings.id"), nullable=True, index=True)
    imported_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    source = db.relationship("Organisation")
    company = db.relationship("Company")
    production_unit = db.relationship("ProductionUnit")

    @property
    def has_usable_contact(self) -> bool:
        return bool(self.contact_email or self.contact_phone)


class ImportBatch(db.Model):
    """One delivery of a postings file, with its counts; bad rows are kept in ImportRowError."""

    __tablename__ = "import_batches"

    id = db.Column(db.Integer, primary_key=True)
    source_id = db.Column(db.ForeignKey("organisations.id"), nullable=False, index=True)
    filename = db.Column(db.String(300), nullable=False)
    fmt = db.Column(db.String(8), nullable=False)
    #: running, done, failed
    status = db.Column(db.String(12), nullable=False, default="running")
    rows_total = db.Column(db.Integer, nullable=False, default=0)
    rows_inserted = db.Column(db.Integer, nullable=False, default=0)
    rows_updated = db.Column(db.Integer, nullable=False, default=0)
    rows_rejected = db.Column(db.Integer, nullable=False, default=0)
    #: accepted rows found to be the same vacancy as a posting from another source
    rows_duplicates = db.Column(db.Integer, nullable=False, default=0)
    #: how the file arrived: "cli" or "api"
    channel = db.Column(db.String(8), nullable=False, default="cli")
    error = db.Column(db.Text, nullable=True)
    started_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime, nullable=True)

    source = db.relationship("Organisation")


class ImportRowError(db.Model):
    __tablename__ = "import_row_errors"

    id = db.Column(db.Integer, primary_key=True)
    batch_id = db.Column(
        db.ForeignKey("import_batches.id", ondelete="CASCADE"), nullable=False, index=True
    )
    row_number = db.Column(db.Integer, nullable=False)
    field = db.Column(db.String(64), nullable=False)
    value = db.Column(db.Text, nullable=True)
    reason = db.Column(db.String(300), nullable=False)


class FieldingRound(db.Model):
    """A fielding round: pins one bank version and the window of postings it asks about."""

    __tablename__ = "rounds"

    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(32), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    bank_version_id = db.Column(db.ForeignKey("bank_versions.id"), nullable=False)
    #: postings whose posted_on lies in [window_start, window_end] are in the frame
    window_start = db.Column(db.Date, nullable=False)
    window_end = db.Column(db.Date, nullable=False)
    #: planned, sampled, fielding, closed
    status = db.Column(db.String(12), nullable=False, default="planned")
    #: contact rules and sample settings (see sampling.rules)
    settings = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    bank_version = db.relationship("BankVersion")


class Case(db.Model):
    """One sampled posting in one round, fielded under one brand, with one response."""

    __tablename__ = "cases"
    __table_args__ = (
        db.UniqueConstraint("round_id", "posting_id"),
        db.UniqueConstraint("round_id", "company_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    round_id = db.Column(db.ForeignKey("rounds.id"), nullable=False, index=True)
    posting_id = db.Column(db.ForeignKey("postings.id"), nullable=False, index=True)
    #: denormalised from the posting so the contact rules are one index away
    company_id = db.Column(db.ForeignKey("companies.id"), nullable=False, index=True)
    production_unit_id = db.Column(db.ForeignKey("production_units.id"), nullable=True, index=True)
    #: the brand it is fielded under (STAR's or the partner's whose customer it is)
    brand_id = db.Column(db.ForeignKey("brands.id"), nullable=False, index=True)
    #: the response (with the access token) the respondent or agent fills in
    response_id = db.Column(db.ForeignKey("responses.id"), nullable=False, unique=True)
    #: sampled, invited, responded, refused, opted_out, final
    status = db.Column(db.String(16), nullable=False, default="sampled", index=True)
    #: the channel that reached the company (email, sms, letter, phone, embed)
    channel = db.Column(db.String(12), nullable=True)
    stratum = db.Column(db.String(64), nullable=True)
    #: inclusion probability of the draw; the design weight is its inverse
    selection_prob = db.Column(db.Float, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    round = db.relationship("FieldingRound")
    posting = db.relationship("Posting")
    brand = db.relationship("Brand")
    response = db.relationship("Response")
