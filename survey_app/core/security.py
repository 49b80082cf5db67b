"""CSRF on every form and the baseline security headers on every response."""

from __future__ import annotations

from flask import g
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def _headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    # Embeddable pages set their own frame-ancestors from the brand's allowed origins.
    ancestors = g.get("frame_ancestors") or "'none'"
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self'; frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'",
    )
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app) -> None:
    csrf.init_app(app)
    app.after_request(_headers)
