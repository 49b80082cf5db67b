"""The record of retention runs: one row per run and one per rule it ran, with the rule's report."""

from __future__ import annotations

from survey_app.core.db import db, utcnow


class RetentionRun(db.Model):
    """One run of every retention rule, for real or as a dry run (which changes nothing)."""

    __tablename__ = "privacy_retention_runs"

    id = db.Column(db.Integer, primary_key=True)
    dry_run = db.Column(db.Boolean, nullable=False)
    #: cli, periodic, staff
    trigger = db.Column(db.String(16), nullable=False)
    #: the staff user who asked for it (a dry run from the register page), else None
    actor_id = db.Column(db.Integer, nullable=True)
    #: the time the rules measured their limits from (naive UTC)
    as_of = db.Column(db.DateTime, nullable=False)
    started_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime, nullable=True)
    #: running, done, failed (a failed rule fails the run; the other rules still run)
    status = db.Column(db.String(12), nullable=False, default="running")

    reports = db.relationship(
        "RetentionRuleReport",
        back_populates="run",
        order_by="RetentionRuleReport.id",
        cascade="all, delete-orphan",
    )

    @property
    def affected(self) -> int:
        return sum(r.affected for r in self.reports)


class RetentionRuleReport(db.Model):
    """What one rule did (or would do) in one run. Counts and row ids only, never personal data."""

    __tablename__ = "privacy_retention_reports"

    id = db.Column(db.Integer, primary_key=True)
    run_id = db.Column(
        db.ForeignKey("privacy_retention_runs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    rule = db.Column(db.String(64), nullable=False)
    affected = db.Column(db.Integer, nullable=False, default=0)
    notified = db.Column(db.Integer, nullable=False, default=0)
    #: {"postings": 3, "messages": 5, ...}
    details = db.Column(db.JSON, nullable=False, default=dict)
    #: a few row ids, to look at by hand
    sample = db.Column(db.JSON, nullable=False, default=list)
    #: the error when the rule failed (its changes were rolled back)
    error = db.Column(db.Text, nullable=True)

    run = db.relationship("RetentionRun", back_populates="reports")
