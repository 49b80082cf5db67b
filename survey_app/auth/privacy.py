"""What the staff accounts hold: users, their sessions, recovery codes and login throttles."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, or_

from survey_app.core.db import db
from survey_app.core.personal_data import (
    RetentionReport,
    RetentionRule,
    due_rows,
    register_exemption,
    register_rule,
    register_table,
    setting,
)

from .models import LoginThrottle, StaffSession
from .throttle import DEFAULTS as THROTTLE_DEFAULTS

MODULE = "auth"

register_table(
    "users",
    ("email",),
    _l("Staff accounts: who may log in, with which role and organisation."),
    _l(
        "While the account exists; a disabled account keeps its e-mail so the audit log stays "
        "readable."
    ),
    MODULE,
)
register_exemption(
    "users.email",
    _l("A staff user's own login, kept while the account exists (disable ends access)."),
)
register_table(
    "recovery_codes",
    (),
    _l("Hashed single-use codes that replace a lost second factor."),
    _l("While the account exists."),
    MODULE,
)
register_table(
    "staff_sessions",
    ("ip", "user_agent"),
    _l("Server-side staff logins, so logout, time-outs and disabling end them at once."),
    _l(
        "Ended sessions (and sessions past the absolute time-out) are deleted after "
        "SURVEY_RETENTION_SESSION_DAYS (30 days)."
    ),
    MODULE,
)
register_table(
    "login_throttles",
    ("key",),
    _l("Failed-login counters per account (hashed e-mail) and per client address."),
    _l(
        "Deleted once no lockout is in force and the key has been quiet for the longest lockout "
        "plus one window (about a day)."
    ),
    MODULE,
)


def _absolute_hours() -> int:
    from flask import current_app

    return int(current_app.config.get("STAFF_ABSOLUTE_HOURS") or 12)


def purge_sessions(now: datetime, dry_run: bool) -> RetentionReport:
    cutoff = now - timedelta(days=int(setting("RETENTION_SESSION_DAYS")))
    over = or_(
        and_(StaffSession.ended_at.is_not(None), StaffSession.ended_at < cutoff),
        # never ended by a request, but no session outlives the absolute time-out
        StaffSession.created_at < cutoff - timedelta(hours=_absolute_hours()),
    )
    report, ids = due_rows("staff-sessions", StaffSession, dry_run, over)
    if not dry_run and ids:
        db.session.execute(delete(StaffSession).where(StaffSession.id.in_(ids)))
    return report


def stale_throttle_cutoff(now: datetime) -> datetime:
    from flask import current_app

    def value(name):
        return int(current_app.config.get(name, THROTTLE_DEFAULTS[name]))

    minutes = value("STAFF_LOGIN_LOCKOUT_MAX_MINUTES") + value("STAFF_LOGIN_WINDOW_MINUTES")
    return now - timedelta(minutes=minutes)


def purge_throttles(now: datetime, dry_run: bool) -> RetentionReport:
    report = RetentionReport("login-throttles", dry_run)
    stale = and_(
        LoginThrottle.updated_at < stale_throttle_cutoff(now),
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
    )
    keys = db.session.scalars(db.select(LoginThrottle.key).where(stale)).all()
    report.affected = len(keys)  # the keys themselves are personal: no sample
    if not dry_run and keys:
        db.session.execute(delete(LoginThrottle).where(stale))
    return report


register_rule(
    RetentionRule(
        "staff-sessions",
        _l("Ended staff sessions are deleted after the session limit."),
        ("staff_sessions",),
        ("staff_sessions.ip", "staff_sessions.user_agent"),
        purge_sessions,
    )
)
register_rule(
    RetentionRule(
        "login-throttles",
        _l("Login throttles with no lockout in force and no failure for about a day are deleted."),
        ("login_throttles",),
        ("login_throttles.key",),
        purge_throttles,
    )
)
