"""Configuration: sane embedded defaults, overridden by ``SURVEY_``-prefixed environment variables.

``SURVEY_DATABASE_URL`` and ``SURVEY_REDIS_URL`` switch from the embedded mode (SQLite in
``instance/``, jobs run in-process) to the production mode (PostgreSQL, Redis, separate
``survey-app worker`` processes). Any other Flask setting can be given the same way, e.g.
``SURVEY_SECRET_KEY``; values are parsed as JSON where possible
(see ``Flask.config.from_prefixed_env``).
"""

from __future__ import annotations

import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

DEFAULTS: dict[str, object] = {
    "BABEL_DEFAULT_LOCALE": "da",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Copenhagen",
    "LANGUAGES": ["da", "en"],
    # A pooled connection idle this long is pinged before use (core.db.ping_after_idle).
    "DB_PING_AFTER_IDLE_SECONDS": 5.0,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    # Views may raise it for themselves with core.security.body_limit.
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # The link that goes into letters, e-mails and SMS; never taken from the request.
    "BASE_URL": "http://127.0.0.1:5000",
    "REDIS_URL": None,
    "DATABASE_URL": None,
    # Rate limits (see core/limits.py); RATELIMIT_ENABLED defaults to on, off under TESTING.
    "RATELIMIT_CREDENTIAL_PER_IP": "10/minute",
    "RATELIMIT_CREDENTIAL_PER_TOKEN": "10/minute;60/hour",
    "RATELIMIT_PAGE_SAVE_PER_IP": "1200/minute",
    "RATELIMIT_PAGE_SAVE_PER_RESPONSE": "60/minute;600/hour",
    # Statistics API (stats/api): per key, or per IP for calls without a key.
    "RATELIMIT_API_PER_KEY": "600/minute",
    # bytes per process for answers built from published releases (stats/api/cache.py); 0: off
    "API_CACHE_BYTES": 32 * 1024 * 1024,
}


def _secret_key(instance_path: Path) -> str:
    """A stable secret for the embedded mode: generated once into ``instance/secret_key``."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_config(app, test_config: dict | None = None) -> None:
    """Fill ``app.config``: defaults, then environment, then the test overrides."""
    app.config.update(DEFAULTS)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(REPO_ROOT / "translations")
    app.config.from_prefixed_env("SURVEY")
    if test_config:
        app.config.update(test_config)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        url = app.config.get("DATABASE_URL") or f"sqlite:///{instance / 'survey.sqlite3'}"
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgres://")
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["EMBEDDED_QUEUE"] = not app.config.get("REDIS_URL")
    # A key that seals access tokens so invitations can be re-sent; defaults to one derived
    # from the secret key, but operators should set it separately so rotations are independent.
    app.config.setdefault("TOKEN_KEY", app.config["SECRET_KEY"])
