"""Login throttling on its own counters: per account (the e-mail typed, known or not) and per
client address, with a lockout that doubles each time it is hit again.

The counters live in the database (``login_throttles``), so every gunicorn process sees the same
state; they are separate from the respondent rate limits. An unknown e-mail address is counted
and locked exactly like a known one, so a lockout reveals nothing about which accounts exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from survey_app.core.db import db, upsert, utcnow

from .models import LoginThrottle

DEFAULTS = {
    # failures within the window that lock the key
    "STAFF_LOGIN_MAX_FAILURES": 5,
    "STAFF_LOGIN_MAX_FAILURES_PER_IP": 30,
    "STAFF_LOGIN_WINDOW_MINUTES": 15,
    # the first lockout; each further one doubles, up to the cap
    "STAFF_LOGIN_LOCKOUT_MINUTES": 1,
    "STAFF_LOGIN_LOCKOUT_MAX_MINUTES": 24 * 60,
}


def _setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def account_key(email: str) -> str:
    normalised = (email or "").strip().lower()
    return "a:" + hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def ip_key(ip: str | None) -> str:
    return "i:" + (ip or "unknown")[:64]


@dataclass
class Lock:
    key: str
    until: datetime

    @property
    def minutes(self) -> int:
        return max(1, int((self.until - utcnow()).total_seconds() + 59) // 60)


def locked(keys: list[str]) -> Lock | None:
    """The longest running lock among ``keys``, if any."""
    now = utcnow()
    rows = db.session.scalars(
        db.select(LoginThrottle).where(
            LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now
        )
    ).all()
    if not rows:
        return None
    row = max(rows, key=lambda r: r.locked_until)
    return Lock(row.key, row.locked_until)


def _row(key: str) -> LoginThrottle:
    upsert(
        LoginThrottle,
        [{"key": key, "failures": 0, "lockouts": 0, "updated_at": utcnow()}],
        ["key"],
        [],
    )
    return db.session.scalars(
        db.select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    ).one()


def register_failure(key: str, limit_setting: str) -> Lock | None:
    """Count one failure on ``key``; returns the lock if this failure started one."""
    now = utcnow()
    window = timedelta(minutes=_setting("STAFF_LOGIN_WINDOW_MINUTES"))
    row = _row(key)
    if row.window_start is None or now - row.window_start > window:
        row.window_start = now
        row.failures = 0
        # a quiet window lets the lockout fall back, one step at a time
        if row.locked_until is None or now - row.locked_until > window:
            row.lockouts = max(0, (row.lockouts or 0) - 1)
    row.failures += 1
    row.updated_at = now
    if row.failures < _setting(limit_setting):
        return None
    minutes = min(
        _setting("STAFF_LOGIN_LOCKOUT_MINUTES") * 2 ** (row.lockouts or 0),
        _setting("STAFF_LOGIN_LOCKOUT_MAX_MINUTES"),
    )
    row.locked_until = now + timedelta(minutes=minutes)
    row.lockouts = (row.lockouts or 0) + 1
    row.failures = 0
    row.window_start = None
    return Lock(key, row.locked_until)


def register_success(key: str) -> None:
    """A successful login clears the account's counter (never the address's)."""
    row = db.session.get(LoginThrottle, key)
    if row is not None:
        row.failures = 0
        row.window_start = None
        row.lockouts = 0
        row.locked_until = None
        row.updated_at = utcnow()
