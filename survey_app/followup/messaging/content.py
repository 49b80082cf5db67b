"""What a message says: rendered at send time in the case's brand and language.

Links are built only from ``BASE_URL``. The access token is unsealed here, put into the body and
never stored with the message, logged or recorded in an event.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import segno
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from survey_app.core import tokens

from .models import Message


@dataclass(frozen=True)
class Letterhead:
    """Everything a message needs to know about its case, read once per message."""

    brand_name: str
    brand_code: str
    logo_url: str | None
    company_name: str
    contact_name: str | None
    job_title: str
    short_code: str
    link: str
    optout_url: str
    privacy_url: str
    language: str


def base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def absolute_logo(logo_url: str | None) -> str | None:
    """A logo usable from a mail client: absolute http(s) only (data: URIs are often blocked)."""
    if not logo_url:
        return None
    if logo_url.startswith(("https://", "http://")):
        return logo_url
    if logo_url.startswith("/"):
        return base_url() + logo_url
    return None


def letterhead(message: Message) -> Letterhead:
    case = message.case
    response = case.response
    token = tokens.unseal(response.token_sealed)
    if token is None:
        raise ValueError(f"case {case.id}: the access token cannot be unsealed with TOKEN_KEY")
    base = base_url()
    posting = case.posting
    brand = message.brand
    return Letterhead(
        brand_name=brand.name,
        brand_code=brand.code,
        logo_url=brand.logo_url,
        company_name=posting.company.name if posting.company else "",
        contact_name=posting.contact_name,
        job_title=(response.context or {}).get("job_title") or posting.job_title,
        short_code=response.short_code,
        link=f"{base}/s/{token}",
        optout_url=f"{base}/optout/{token}",
        privacy_url=f"{base}/privacy/{brand.code}",
        language=message.language or "da",
    )


def email_parts(message: Message, head: Letterhead) -> tuple[str, str, str]:
    """(subject, text, html) of an invitation or reminder e-mail."""
    with force_locale(head.language):
        if message.purpose == "reminder":
            subject = _("Reminder: how did your recruitment go? (%(brand)s)", brand=head.brand_name)
        else:
            subject = _("How did your recruitment go? (%(brand)s)", brand=head.brand_name)
        values = {
            "m": message,
            "h": head,
            "logo": absolute_logo(head.logo_url),
            "base_url": base_url(),
            # the plain-text body's own phrases (babel.cfg extracts from .html templates only)
            "t": {
                "answer_here": _("Answer here (about 5 minutes):"),
                "privacy": _("How we handle your answers:"),
                "optout": _("Do not want to take part? Opt out here:"),
            },
        }
        text = render_template("messaging/email.txt", **values)
        html = render_template("messaging/email.html", **values)
    return subject, text, html


def sms_text(message: Message, head: Letterhead) -> str:
    with force_locale(head.language):
        if message.purpose == "reminder":
            lead = _(
                '%(brand)s: a reminder - please tell STAR how the recruitment for "%(job)s" went.',
                brand=head.brand_name,
                job=head.job_title[:60],
            )
        else:
            lead = _(
                '%(brand)s: STAR asks how the recruitment for "%(job)s" went.',
                brand=head.brand_name,
                job=head.job_title[:60],
            )
        rest = _(
            "Answer here: %(link)s (code %(code)s). Reply STOP to opt out.",
            link=head.link,
            code=head.short_code,
        )
    return f"{lead} {rest}"


def qr_data_uri(link: str) -> str:
    """The QR code of ``link`` as an SVG data URI (error correction M, enough for print)."""
    return segno.make(link, error="m", micro=False).svg_data_uri(scale=4, border=2)


def png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()
