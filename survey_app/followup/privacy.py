"""The follow-up module's rule: contact persons inactive 18½ months are deleted, with the notice
e-mail one month before (see ``contact_retention``). Follow-up owns it because it sends."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from survey_app.core.personal_data import RetentionRule, register_rule

from . import contact_retention
from .callcentre import privacy as _callcentre  # noqa: F401 - registers its tables
from .messaging import privacy as _messaging  # noqa: F401 - registers its tables

register_rule(
    RetentionRule(
        contact_retention.RULE,
        _l(
            "Contact persons inactive for 18½ months are deleted everywhere they were copied; a "
            "person with an e-mail address gets a notice one month before (and is deleted no "
            "sooner than 30 days after it). Inactive: no posting naming them delivered, and "
            "nothing done by them (answer, page saved, opt-out, call answered, SMS sent)."
        ),
        ("postings", "messages", "message_events", "call_attempts"),
        (
            "postings.contact_name",
            "postings.contact_email",
            "postings.contact_phone",
            "postings.text",
            "messages.to_address",
            "messages.last_error",
            "message_events.detail",
            "call_attempts.phone",
            "call_attempts.referred_name",
            "call_attempts.referred_phone",
            "call_attempts.note",
        ),
        contact_retention.apply,
    )
)
