"""Rate limits on the respondent's doors: per client IP and per credential or response.

Two kinds of limits, both configurable (``SURVEY_RATELIMIT_*``, see config.py):

- *credential entry* (``/s/<token>``, ``/code``, ``/embed/s/<token>``, ``/embed/launch``): strict
  per IP, and per credential, so one token or code tried from many addresses is stopped too;
- *page saves*: generous per IP (a call centre or a company behind one NAT address saves many
  pages a minute), moderate per response (no person saves a page every second for long).

Counters live in Redis when ``REDIS_URL`` is set (shared by every gunicorn worker) and in process
memory in the embedded mode. A credential never becomes a key as it is: it is keyed by an HMAC
under the secret key, so the counters reveal no token or code and cannot be matched against the
stored token hashes. ``RATELIMIT_ENABLED`` switches the limits per request (off by default under
``TESTING``); a breach gives a page in the respondent's language with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable

from flask import current_app, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

limiter = Limiter(key_func=lambda: client_ip(), strategy="fixed-window")


def client_ip() -> str:
    return request.remote_addr or "unknown"


def credential_key(value: str | None) -> str:
    """The counter key of a token, code or launch JWT: an HMAC, never the value itself."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    digest = hmac.new(key, b"rate-limit:" + (value or "").encode("utf-8"), hashlib.sha256)
    return "c:" + digest.hexdigest()[:40]


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def credential_entry(value_of: Callable[[], str | None]):
    """Limits for a view that exchanges a credential (the value ``value_of`` reads from the
    request): one budget per IP and one per credential, shared by all such views."""
    per_ip = limiter.shared_limit(
        _setting("RATELIMIT_CREDENTIAL_PER_IP"), scope="credential-ip", key_func=client_ip
    )
    per_credential = limiter.shared_limit(
        _setting("RATELIMIT_CREDENTIAL_PER_TOKEN"),
        scope="credential",
        key_func=lambda: credential_key(value_of()),
    )

    def decorate(view):
        return per_ip(per_credential(view))

    return decorate


def page_save(response_key: Callable[[], str]):
    """Limits for saving a page (POST only): per IP, and per response (``response_key`` names
    it from the session or the embedded handle)."""
    per_ip = limiter.shared_limit(
        _setting("RATELIMIT_PAGE_SAVE_PER_IP"),
        scope="save-ip",
        key_func=client_ip,
        methods=["POST"],
    )
    per_response = limiter.shared_limit(
        _setting("RATELIMIT_PAGE_SAVE_PER_RESPONSE"),
        scope="save-response",
        key_func=lambda: "r:" + response_key(),
        methods=["POST"],
    )

    def decorate(view):
        return per_ip(per_response(view))

    return decorate


def _too_many_requests(error: RateLimitExceeded):
    current = limiter.current_limit
    wait = max(1, math.ceil(current.window.reset_time - time.time())) if current else 60
    body = render_template("core/rate_limited.html", minutes=max(1, math.ceil(wait / 60)))
    return body, 429, {"Retry-After": str(wait)}


def init_app(app) -> None:
    config = app.config
    enabled = bool(config.get("RATELIMIT_ENABLED", not app.testing))
    config.setdefault("RATELIMIT_STORAGE_URI", config.get("REDIS_URL") or "memory://")
    config.setdefault("RATELIMIT_KEY_PREFIX", "survey-limits")
    # A failing Redis must not shut respondents out: counting stops, the survey goes on.
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # The extension is always set up, so a switch of RATELIMIT_ENABLED takes effect per request.
    config["RATELIMIT_ENABLED"] = True
    limiter.init_app(app)
    config["RATELIMIT_ENABLED"] = enabled
    app.register_error_handler(429, _too_many_requests)


@limiter.request_filter
def _switched_off() -> bool:
    return not current_app.config.get("RATELIMIT_ENABLED", True)
