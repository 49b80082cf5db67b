from __future__ import annotations

from survey_app.core.db import db, utcnow


class BankVersion(db.Model):
    """One immutable version of the question bank, loaded from its versioned file."""

    __tablename__ = "bank_versions"

    id = db.Column(db.Integer, primary_key=True)
    #: the version named in the file ("2026.1"); never reused for other content
    version = db.Column(db.String(32), nullable=False, unique=True)
    #: the whole bank as loaded (validated), so a round can always render what it pinned
    content = db.Column(db.JSON, nullable=False)
    #: sha256 of the canonical content; reloading the same version must match it
    content_hash = db.Column(db.String(64), nullable=False)
    #: file name it came from
    source_file = db.Column(db.String(300), nullable=False)
    loaded_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Response(db.Model):
    """A respondent's (or an agent's) answers to one bank version for one case, under one brand."""

    __tablename__ = "responses"

    id = db.Column(db.Integer, primary_key=True)
    bank_version_id = db.Column(db.ForeignKey("bank_versions.id"), nullable=False, index=True)
    brand_id = db.Column(db.ForeignKey("brands.id"), nullable=False, index=True)
    #: sha256 of the access token (the token itself is never stored in clear)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    #: the token sealed with TOKEN_KEY, so reminders can repeat the link
    token_sealed = db.Column(db.Text, nullable=False)
    #: a short code typed by hand from a letter
    short_code = db.Column(db.String(16), nullable=False, unique=True)
    #: what the questions refer to: job_title, posted_on, source_name
    context = db.Column(db.JSON, nullable=False, default=dict)
    #: not_started, in_progress, completed
    status = db.Column(db.String(16), nullable=False, default="not_started", index=True)
    #: the mode of the last save: web, embed, phone
    mode = db.Column(db.String(16), nullable=True)
    language = db.Column(db.String(5), nullable=True)
    #: which notice version was shown, and when
    notice_version = db.Column(db.String(16), nullable=True)
    notice_shown_at = db.Column(db.DateTime, nullable=True)
    #: the derived classification (success, other_profile, not_filled, ...)
    classification = db.Column(db.String(20), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime, nullable=True)
    completed_at = db.Column(db.DateTime, nullable=True)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    #: when names, e-mails and phones were taken out of the answers and context (round closed)
    pseudonymised_at = db.Column(db.DateTime, nullable=True)

    bank_version = db.relationship("BankVersion")
    brand = db.relationship("Brand")
    answers = db.relationship(
        "Answer", back_populates="response", cascade="all, delete-orphan", order_by="Answer.id"
    )

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"

    def answer_dict(self) -> dict:
        return {a.question_id: a.value for a in self.answers}


class Answer(db.Model):
    """One answer: one row per (response, question id of the pinned bank version)."""

    __tablename__ = "answers"
    __table_args__ = (db.UniqueConstraint("response_id", "question_id"),)

    id = db.Column(db.Integer, primary_key=True)
    response_id = db.Column(db.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False)
    question_id = db.Column(db.String(64), nullable=False)
    #: the value as JSON: "yes"/"no", an option code, a list of codes, an int, "dont_know", text
    value = db.Column(db.JSON, nullable=True)
    #: web, embed or phone
    mode = db.Column(db.String(16), nullable=False, default="web")
    #: the agent who entered it in phone mode
    agent_id = db.Column(db.Integer, nullable=True)
    answered_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    response = db.relationship("Response", back_populates="answers")


class PageVisit(db.Model):
    """Paradata: one row per page shown and saved."""

    __tablename__ = "page_visits"

    id = db.Column(db.Integer, primary_key=True)
    response_id = db.Column(
        db.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False, index=True
    )
    page_id = db.Column(db.String(64), nullable=False)
    mode = db.Column(db.String(16), nullable=False)
    language = db.Column(db.String(5), nullable=False)
    #: desktop, mobile, tablet (from the user agent; the agent string itself is not kept)
    device = db.Column(db.String(16), nullable=False)
    shown_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    saved_at = db.Column(db.DateTime, nullable=True)
