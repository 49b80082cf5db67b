"""What messaging holds: the outbox, its events, suppressions, reminders, opt-outs, inbound SMS
and the printable letters. The contact persons' addresses go with the contact-persons rule
(``followup.privacy``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete

from survey_app.core.db import db
from survey_app.core.personal_data import (
    RetentionReport,
    RetentionRule,
    due_rows,
    months_before,
    register_exemption,
    register_rule,
    register_table,
    setting,
)

from .models import InboundMessage, LetterBatch, Suppression

MODULE = "followup.messaging"

register_table(
    "messages",
    ("to_address", "last_error"),
    _l("Every invitation, reminder and notice, written before it is sent, with its state."),
    _l(
        "The address (and any provider error quoting it) is cleared with the contact person "
        "(18½ months inactive); the row stays as the record of what was sent."
    ),
    MODULE,
)
register_table(
    "message_events",
    ("detail",),
    _l("Each state change and provider callback of a message."),
    _l("The details are cleared with the contact person."),
    MODULE,
)
register_table(
    "suppressions",
    ("address",),
    _l("Addresses nothing more is sent to (STOP, bounces, opt-outs)."),
    _l(
        "Kept while in force: the refusal must keep working. A lifted suppression is deleted "
        "18½ months after it was lifted."
    ),
    MODULE,
)
register_exemption(
    "suppressions.address",
    _l(
        "A suppression in force is kept so a refused or bouncing address is never contacted "
        "again; lifted ones are deleted by the rule lifted-suppressions."
    ),
)
register_table(
    "reminders", (), _l("The planned follow-up steps of a case."), _l("Kept with the case."), MODULE
)
register_table(
    "opt_outs", (), _l("A company's refusal of a case."), _l("Kept with the case."), MODULE
)
register_table(
    "inbound_messages",
    ("from_address", "to_address", "body"),
    _l("SMS received on our numbers (replies, STOP, START)."),
    _l("Deleted 18½ months after receipt (a STOP lives on as a suppression)."),
    MODULE,
)
register_table(
    "letter_batches",
    ("pdf",),
    _l("A day's printable letters of a round (names and addresses of the companies)."),
    _l(
        "Deleted after SURVEY_RETENTION_LETTER_DAYS (90 days); the messages table keeps the record."
    ),
    MODULE,
)


def _delete_older(rule: str, model, column, cutoff: datetime, dry_run: bool, *where):
    report, ids = due_rows(rule, model, dry_run, column < cutoff, *where)
    if not dry_run and ids:
        db.session.execute(delete(model).where(model.id.in_(ids)))
    return report


def purge_inbound(now: datetime, dry_run: bool) -> RetentionReport:
    cutoff = months_before(now, float(setting("RETENTION_CONTACT_MONTHS")))
    return _delete_older("inbound-sms", InboundMessage, InboundMessage.received_at, cutoff, dry_run)


def purge_lifted(now: datetime, dry_run: bool) -> RetentionReport:
    cutoff = months_before(now, float(setting("RETENTION_CONTACT_MONTHS")))
    return _delete_older(
        "lifted-suppressions",
        Suppression,
        Suppression.lifted_at,
        cutoff,
        dry_run,
        Suppression.lifted_at.is_not(None),
    )


def purge_letters(now: datetime, dry_run: bool) -> RetentionReport:
    cutoff = now - timedelta(days=int(setting("RETENTION_LETTER_DAYS")))
    return _delete_older("letter-pdfs", LetterBatch, LetterBatch.created_at, cutoff, dry_run)


register_rule(
    RetentionRule(
        "inbound-sms",
        _l("Inbound SMS are deleted 18½ months after receipt."),
        ("inbound_messages",),
        (
            "inbound_messages.from_address",
            "inbound_messages.to_address",
            "inbound_messages.body",
        ),
        purge_inbound,
    )
)
register_rule(
    RetentionRule(
        "lifted-suppressions",
        _l("Suppressions lifted 18½ months ago are deleted."),
        ("suppressions",),
        ("suppressions.address",),
        purge_lifted,
    )
)
register_rule(
    RetentionRule(
        "letter-pdfs",
        _l("Printable letter batches are deleted after the letter limit."),
        ("letter_batches",),
        ("letter_batches.pdf",),
        purge_letters,
    )
)
