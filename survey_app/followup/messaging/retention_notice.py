"""The retention notice: the e-mail a contact person gets one month before their data is deleted.

It is a message about the person, not about a case, so it has no case (``case_id`` is None) and
goes out under STAR's brand. Like every message it is a row in the outbox first; the sender
renders it here. Suppressed addresses (a bounce, an opt-out) get nothing, as for every message.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape

from survey_app.core.db import db
from survey_app.partners.models import STAR_CODE, Brand, Organisation

from .content import base_url
from .models import Message

#: the deletion comes at the earliest this long after the notice was written
NOTICE_LEAD = timedelta(days=30)


def star_brand_id() -> int | None:
    return db.session.scalar(
        db.select(Brand.id)
        .join(Organisation, Organisation.id == Brand.organisation_id)
        .where(Organisation.code == STAR_CODE)
        .order_by(Brand.is_default.desc(), Brand.id)
        .limit(1)
    )


def queue_notice(address: str, brand_id: int, now) -> Message:
    """Write the notice to the outbox (the caller commits and dispatches)."""
    message = Message(
        case_id=None,
        channel="email",
        purpose="retention",
        to_address=address,
        language="da",
        brand_id=brand_id,
        state="queued",
        created_at=now,
        queued_at=now,
    )
    db.session.add(message)
    return message


def texts(message: Message) -> tuple[str, str]:
    """(subject, body) in the message's language."""
    delete_on = (message.created_at + NOTICE_LEAD).date()
    privacy_url = f"{base_url()}/privacy/{message.brand.code}"
    with force_locale(message.language or "da"):
        subject = _("Your contact details in STAR's recruitment survey will be deleted")
        body = _(
            "You are registered as the contact person for one or more job postings in STAR's "
            "recruitment survey. We have not heard from you or about you for a long time, so "
            "your name, e-mail address and telephone number will be deleted on or after "
            "%(date)s. You need not do anything. Answers already given are kept for statistics "
            "without your name or contact details. How we handle personal data: %(url)s",
            date=delete_on.strftime("%d-%m-%Y"),
            url=privacy_url,
        )
    return subject, body


def render(message: Message, channel: str):
    from .channels.email import build, sender_address

    if channel != "email":
        raise ValueError(f"message {message.id}: the retention notice is sent by e-mail only")
    subject, body = texts(message)
    html = f"<!doctype html><html><body><p>{escape(body)}</p></body></html>"
    return build(
        to=message.to_address,
        subject=subject,
        text=body + "\n",
        html=html,
        from_name=message.brand.name,
        unsubscribe_url=f"mailto:{sender_address()}?subject=unsubscribe",
        outbox_id=message.id,
        created_at=message.created_at,
    )
