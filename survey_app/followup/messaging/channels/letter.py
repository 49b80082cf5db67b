"""Printable letters: one A4 page per case with the link, the short code and a QR code, rendered
to one PDF per batch with WeasyPrint."""

from __future__ import annotations

from datetime import date

import weasyprint
from flask import render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from weasyprint.urls import URLFetcher

from ..content import Letterhead, base_url, png_data_uri, qr_data_uri
from ..models import Message


def _logo(message: Message) -> str | None:
    """The brand's uploaded logo embedded in the PDF, or a data: URI logo; None prints the brand's
    name instead. Nothing is fetched over the network while rendering."""
    from survey_app.partners.services import brand_logo

    stored = brand_logo(message.brand)
    if stored is not None:
        return png_data_uri(stored.png)
    url = message.brand.logo_url or ""
    if url.startswith("data:image/"):
        return url
    return None


def _texts(head: Letterhead) -> dict:
    return {
        "greeting_named": _("Dear %(name)s,", name=head.contact_name or ""),
        "greeting": _("Dear recipient,"),
        "body": _(
            "STAR (the Danish Agency for Labour Market and Recruitment) asks companies how "
            'their recruitment went. This concerns your job posting "%(job)s" at %(company)s. '
            "It takes about 5 minutes.",
            job=head.job_title,
            company=head.company_name,
        ),
        "scan": _("Scan the QR code with your phone's camera, or"),
        "type_at": _("go to"),
        "regards": _("Kind regards"),
        "privacy": _("How we handle your answers:"),
        "optout": _("Do not want to take part? Opt out here:"),
    }


def render_pdf(items: list[tuple[Message, Letterhead]], day: date) -> bytes:
    """One PDF with a page per letter, in the order given."""
    letters = []
    site = base_url().split("://", 1)[-1]
    for message, head in items:
        with force_locale(head.language):
            texts = _texts(head)
            printed = format_date(day, format="long")
        colours = message.brand.colours or {}
        letters.append(
            {
                "m": message,
                "h": head,
                "t": texts,
                "date": printed,
                "qr": qr_data_uri(head.link),
                "logo": _logo(message),
                "colour": colours.get("primary", "#14365d"),
                "site": site,
            }
        )
    html = render_template("messaging/letter.html", letters=letters)
    # letters embed their images: nothing is fetched over the network while rendering
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
