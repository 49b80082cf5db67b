"""CSRF on every form, the security headers on every response, and the request-level guards.

- ``Content-Security-Policy`` with a fresh nonce per request: templates mark their inline
  ``<script>`` and ``<style>`` with ``nonce="{{ csp_nonce() }}"``; nothing else inline runs.
  ``frame-ancestors`` comes from ``g.frame_ancestors`` (a brand's embed origins) or is ``'none'``.
- ``Strict-Transport-Security`` on secure requests, or always with ``SURVEY_HSTS=1``.
- ``X-Content-Type-Options``, ``Referrer-Policy``, ``Permissions-Policy``, and
  ``Cross-Origin-Opener-Policy`` on every page that is not framed by a partner.
- ``SURVEY_TRUSTED_HOSTS`` (a JSON list or comma-separated names) answers other ``Host``
  headers with 400; ``SURVEY_PROXY_FIX=N`` trusts N proxies' ``X-Forwarded-*`` headers.
- ``MAX_CONTENT_LENGTH`` caps request bodies (413); a view decorated with
  :func:`body_limit` gets its own cap, applied before the body is read.
- The session cookie is ``Secure`` when ``BASE_URL`` is https, always ``HttpOnly`` and
  ``SameSite=Lax``.
"""

from __future__ import annotations

import secrets

from flask import current_app, g, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from .session_cookie import SessionCookies

csrf = CSRFProtect()

PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce() -> str:
    """This request's nonce for inline scripts and styles (the same for the whole response)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def body_limit(max_bytes: int):
    """Give one view a request-body cap other than ``MAX_CONTENT_LENGTH`` (e.g. a feed upload).

    Applied in a ``before_request`` hook registered ahead of CSRF, so it holds before anything
    reads the body.
    """

    def decorator(view):
        view.max_content_length = int(max_bytes)
        return view

    return decorator


def _apply_body_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_content_length", None)
    if limit is not None:
        request.max_content_length = limit


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _framed() -> bool:
    return bool(g.get("frame_ancestors")) or (request.blueprint or "") == "embed"


def _headers(response):
    """Each header below unless the view set its own (one pass over the response's headers)."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}

    def default(name: str, value: str) -> None:
        if name.lower() not in present:
            headers.add(name, value)

    default("X-Content-Type-Options", "nosniff")
    default("Referrer-Policy", "no-referrer")
    default("Permissions-Policy", PERMISSIONS_POLICY)
    # Embeddable pages set their own frame-ancestors from the brand's allowed origins.
    ancestors = g.get("frame_ancestors") or "'none'"
    nonce = csp_nonce()
    default(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; "
        f"style-src 'self' 'nonce-{nonce}'; script-src 'self' 'nonce-{nonce}'; "
        "object-src 'none'; connect-src 'self'; "
        f"frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'",
    )
    if not _framed():
        default("Cross-Origin-Opener-Policy", "same-origin")
        default("X-Frame-Options", "DENY")
    if request.is_secure or _truthy(current_app.config.get("HSTS", "")):
        default("Strict-Transport-Security", HSTS)
    if response.mimetype == "text/html":
        default("Cache-Control", "no-store")
    return response


def _trusted_hosts(value) -> list[str] | None:
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        value = value.split(",")
    return [str(host).strip() for host in value if str(host).strip()]


def init_app(app) -> None:
    config = app.config
    # Flask (3.1+) answers a Host outside TRUSTED_HOSTS with 400 Bad Request.
    config["TRUSTED_HOSTS"] = _trusted_hosts(config.get("TRUSTED_HOSTS"))
    proxies = config.get("PROXY_FIX")
    if proxies not in (None, "", 0, "0", False):
        n = 1 if proxies is True else int(proxies)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    if str(config.get("BASE_URL", "")).startswith("https://"):
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True
    config["SESSION_COOKIE_HTTPONLY"] = True
    config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = SessionCookies()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.before_request(_apply_body_limit)  # before CSRF reads the form
    csrf.init_app(app)
    app.after_request(_headers)
