"""What sampling holds (companies, postings, imports, rounds, cases) and the pseudonymisation of
the answers of a closed round."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from survey_app.core.db import db
from survey_app.core.personal_data import (
    RetentionReport,
    RetentionRule,
    months_before,
    names_in,
    register_exemption,
    register_rule,
    register_table,
    scrub_value,
    setting,
)
from survey_app.questionnaire.models import Answer, Response

from .models import Case, Company, FieldingRound, ImportBatch, ImportRowError, Posting

MODULE = "sampling"
BATCH = 200

register_table(
    "companies",
    ("name",),
    _l("Legal units (CVR) of the sampling frame, for the contact rules and the strata."),
    _l(
        "Kept as the frame. A sole proprietorship's name is a person's name: it is shown to staff "
        "only with its cases and leaves the answers at pseudonymisation."
    ),
    MODULE,
)
register_exemption(
    "companies.name",
    _l(
        "The name in the public CVR register, needed to address the company; a sole "
        "proprietorship's name is removed from answers and contexts when the round closes."
    ),
)
register_table(
    "production_units",
    (),
    _l("Workplaces (P-numbers) of the frame."),
    _l("Kept as the frame."),
    MODULE,
)
register_table(
    "postings",
    ("contact_name", "contact_email", "contact_phone", "text"),
    _l(
        "Job postings and closed job orders delivered by STAR's sources and the job databases: the "
        "sampling frame and whom to ask."
    ),
    _l(
        "The contact person (name, e-mail, phone) and the posting text are deleted when the person "
        "has been inactive for 18½ months, after a notice one month before (followup rule "
        "contact-persons); the posting itself stays as frame data."
    ),
    MODULE,
)
register_table(
    "import_batches",
    (),
    _l("One delivery of a postings file with its counts."),
    _l("Kept as the delivery record."),
    MODULE,
)
register_table(
    "import_row_errors",
    ("value",),
    _l("The rejected values of bad rows, so the source can correct its delivery."),
    _l(
        "The rejected value is cleared 18½ months after the delivery "
        "(it may be a contact's address)."
    ),
    MODULE,
)
register_table(
    "rounds", (), _l("Fielding rounds: bank version, window, contact rules."), _l("Kept."), MODULE
)
register_table(
    "cases",
    (),
    _l("The sampled posting per round, its brand, status and design weight."),
    _l("Kept with the statistics (no personal columns)."),
    MODULE,
)


def clear_row_errors(now: datetime, dry_run: bool) -> RetentionReport:
    report = RetentionReport("import-row-values", dry_run)
    cutoff = months_before(now, float(setting("RETENTION_CONTACT_MONTHS")))
    old = db.select(ImportBatch.id).where(ImportBatch.started_at < cutoff)
    where = (ImportRowError.value.is_not(None), ImportRowError.batch_id.in_(old))
    ids = db.session.scalars(db.select(ImportRowError.id).where(*where)).all()
    report.affected = len(ids)
    report.sample = [str(i) for i in sorted(ids)[:10]]
    if not dry_run and ids:
        db.session.execute(update(ImportRowError).where(*where).values(value=None))
    return report


def names_for(response_ids: list[int]) -> dict[int, list[str]]:
    """The names a response may mention: its posting's contact person, a sole proprietorship's
    name, and the names given in its own referral answers."""
    names: dict[int, list[str]] = {r: [] for r in response_ids}
    rows = db.session.execute(
        db.select(Case.response_id, Posting.contact_name, Company.name, Company.sole_proprietorship)
        .join(Posting, Posting.id == Case.posting_id)
        .join(Company, Company.id == Case.company_id)
        .where(Case.response_id.in_(response_ids))
    )
    for rid, contact, company, sole in rows:
        names[rid].extend(n for n in (contact, company if sole else None) if n)
    for rid, value in db.session.execute(
        db.select(Answer.response_id, Answer.value).where(Answer.response_id.in_(response_ids))
    ):
        names[rid].extend(names_in(value))
    return names


def _due():
    return (
        db.select(Response.id)
        .join(Case, Case.response_id == Response.id)
        .join(FieldingRound, FieldingRound.id == Case.round_id)
        .where(FieldingRound.status == "closed", Response.pseudonymised_at.is_(None))
        .order_by(Response.id)
    )


def pseudonymise(now: datetime, dry_run: bool) -> RetentionReport:
    """Answers kept for statistics lose names, e-mails and phones once their round is closed."""
    report = RetentionReport("pseudonymise-answers", dry_run)
    ids = db.session.scalars(_due()).all()
    report.affected = len(ids)
    report.sample = [str(i) for i in ids[:10]]
    changed_answers = changed_contexts = 0
    for i in range(0, len(ids), BATCH):
        chunk = ids[i : i + BATCH]
        names = names_for(chunk)
        answers = db.session.execute(
            db.select(Answer.id, Answer.response_id, Answer.value, Answer.answered_at).where(
                Answer.response_id.in_(chunk)
            )
        ).all()
        for aid, rid, value, answered_at in answers:
            clean = scrub_value(value, names[rid])
            if clean != value:
                changed_answers += 1
                if not dry_run:  # answered_at is kept: pseudonymising is not answering
                    db.session.execute(
                        update(Answer)
                        .where(Answer.id == aid)
                        .values(value=clean, answered_at=answered_at)
                    )
        contexts = db.session.execute(
            db.select(Response.id, Response.context).where(Response.id.in_(chunk))
        ).all()
        for rid, context in contexts:
            clean = scrub_value(context or {}, names[rid])
            if clean != (context or {}):
                changed_contexts += 1
                if not dry_run:
                    db.session.execute(
                        update(Response).where(Response.id == rid).values(context=clean)
                    )
        if not dry_run:
            db.session.execute(
                update(Response).where(Response.id.in_(chunk)).values(pseudonymised_at=now)
            )
            db.session.commit()
    report.details = {"answers_changed": changed_answers, "contexts_changed": changed_contexts}
    return report


register_rule(
    RetentionRule(
        "pseudonymise-answers",
        _l(
            "When a round is closed, its answers and response contexts lose names, e-mail "
            "addresses and phone numbers (free text scrubbed, referral contact fields emptied); "
            "coded answers stay for statistics."
        ),
        ("answers", "responses"),
        ("answers.value", "responses.context"),
        pseudonymise,
    )
)
register_rule(
    RetentionRule(
        "import-row-values",
        _l("Rejected values of bad feed rows are cleared 18½ months after the delivery."),
        ("import_row_errors",),
        ("import_row_errors.value",),
        clear_row_errors,
    )
)
